import {
  DEFAULT_CLI_PREFIX,
  DEFAULT_CLI_URL,
  parseCli,
  parseLimits,
  parseTaskIds,
  UsageError,
} from './args';

describe('parseCli', () => {
  it('defaults the URL to REDIS_URL, then to the local Redis, and the prefix to qgate:', () => {
    expect(parseCli(['status'])).toEqual({
      command: 'status',
      url: DEFAULT_CLI_URL,
      prefix: DEFAULT_CLI_PREFIX,
      json: false,
    });
    expect(parseCli(['status'], { REDIS_URL: 'redis://env:1' }).url).toBe('redis://env:1');
    expect(parseCli(['status', '--url', 'redis://x:2'], { REDIS_URL: 'redis://env:1' }).url).toBe(
      'redis://x:2',
    );
  });

  it('takes the global options before or after the command', () => {
    expect(parseCli(['--json', '--prefix', 'p:', 'doctor'])).toEqual({
      command: 'doctor',
      url: DEFAULT_CLI_URL,
      prefix: 'p:',
      json: true,
    });
    expect(parseCli(['status', '--limits', 'limits.json']).limits).toBe('limits.json');
  });

  it('parses holders, release (with or without a token) and reconcile', () => {
    expect(parseCli(['holders', 'gpu'])).toMatchObject({ command: 'holders', model: 'gpu' });
    expect(parseCli(['release', 'gpu', 't1'])).toEqual(
      expect.objectContaining({ command: 'release', model: 'gpu', taskId: 't1' }),
    );
    expect(parseCli(['release', 'gpu', 't1'])).not.toHaveProperty('token');
    expect(parseCli(['release', 'gpu', 't1', '--token', '42'])).toMatchObject({ token: 42 });
    expect(parseCli(['reconcile', 'gpu', '--from', 'ids.txt'])).toMatchObject({
      command: 'reconcile',
      model: 'gpu',
      from: 'ids.txt',
    });
  });

  it('answers help with --help or -h', () => {
    expect(parseCli(['-h']).command).toBe('help');
    expect(parseCli(['status', '--help']).command).toBe('help');
  });

  it.each([
    [[], /Missing command/],
    [['stats'], /Unknown command "stats"/],
    [['status', '--verbose'], /--verbose/],
    [['status', 'extra'], /Unexpected argument "extra" for "status"/],
    [['holders'], /Missing <model> for "holders"/],
    [['release', 'gpu'], /Missing <taskId> for "release"/],
    [['release', 'gpu', 't', 'u'], /Unexpected argument "u"/],
    [['release', 'gpu', 't', '--token', 'x1'], /--token must be a non-negative integer, got "x1"/],
    [['release', 'gpu', 't', '--token', '-1'], /--token/],
    [['release', 'gpu', 't', '--token', '99999999999999999999'], /--token/],
    [['holders', 'gpu', '--token', '1'], /--token is only for "release"/],
    [['reconcile', 'gpu'], /Missing --from <file> for "reconcile"/],
    [['status', '--from', 'f'], /--from is only for "reconcile"/],
    [['status', '--url'], /--url/],
    [['status', '--url', ''], /--url must not be empty/],
  ])('refuses %j naming the bad argument', (argv, message) => {
    expect(() => parseCli(argv)).toThrow(UsageError);
    expect(() => parseCli(argv)).toThrow(message);
  });
});

describe('parseTaskIds', () => {
  it('reads a JSON array of ids', () => {
    expect(parseTaskIds(' ["a", "b c"]\n')).toEqual(['a', 'b c']);
    expect(parseTaskIds('[]')).toEqual([]);
  });

  it('reads one id per line, ignoring blank lines and surrounding spaces', () => {
    expect(parseTaskIds('a\r\n  b \n\n c\n')).toEqual(['a', 'b', 'c']);
    expect(parseTaskIds('')).toEqual([]);
  });

  it('refuses JSON that is broken or not an array of strings, naming the file', () => {
    expect(() => parseTaskIds('["a",', 'ids.json')).toThrow(/ids\.json is not valid JSON/);
    expect(() => parseTaskIds('[1, 2]', 'ids.json')).toThrow(/ids\.json must hold a JSON array/);
  });
});

describe('parseLimits', () => {
  it('reads a JSON object of model to limit', () => {
    expect(parseLimits('{"gpu": 2, "cpu": {"limit": 4, "perTenant": 1}}')).toEqual({
      gpu: 2,
      cpu: { limit: 4, perTenant: 1 },
    });
  });

  it('refuses anything else, naming the file', () => {
    expect(() => parseLimits('[1]', 'l.json')).toThrow(/l\.json must hold a JSON object/);
    expect(() => parseLimits('{', 'l.json')).toThrow(/l\.json is not valid JSON/);
  });
});
