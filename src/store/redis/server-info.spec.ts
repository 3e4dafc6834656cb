import { insaneScriptTime, MAX_CLOCK_SKEW_MS, parseInfo, serverFlavour } from './server-info';

describe('server info', () => {
  it('parses INFO fields, skipping section headers and blank lines', () => {
    const info = parseInfo(
      '# Server\r\nredis_version:7.0.15\r\nrole:master\r\n\r\n# CPU\r\nx:1:2\r\n',
    );
    expect([...info]).toEqual([
      ['redis_version', '7.0.15'],
      ['role', 'master'],
      ['x', '1:2'],
    ]);
  });

  it.each([
    ['redis_version:7.0.15', { name: 'Redis', version: '7.0.15' }],
    [
      'redis_version:7.2.4\nserver_name:valkey\nvalkey_version:8.0.1',
      { name: 'Valkey', version: '8.0.1' },
    ],
    [
      'redis_version:6.2.0\ndragonfly_version:df-v1.21.0',
      { name: 'Dragonfly', version: 'df-v1.21.0' },
    ],
    ['redis_version:6.3.4\nmvcc-depth:0', { name: 'KeyDB', version: '6.3.4' }],
  ])('names the flavour of %j', (text, flavour) => {
    expect(serverFlavour(parseInfo(text))).toEqual(flavour);
  });

  it('takes a TIME reply near the local clock as sane', () => {
    const now = Date.UTC(2026, 10, 29);
    expect(insaneScriptTime([String(now / 1000), '250000'], now)).toBeUndefined();
  });

  it.each<[string, unknown]>([
    ['zeros', ['0', '0']],
    ['not a pair', 'OK'],
    ['a clock two days off', [String(Date.UTC(2026, 10, 27) / 1000), '0']],
  ])('refuses a TIME reply of %s', (_, reply) => {
    expect(insaneScriptTime(reply, Date.UTC(2026, 10, 29))).toEqual(expect.any(String));
  });

  it('allows a skew up to a day', () => {
    const now = Date.UTC(2026, 10, 29);
    const skewed = (now - MAX_CLOCK_SKEW_MS + 1000) / 1000;
    expect(insaneScriptTime([String(skewed), '0'], now)).toBeUndefined();
  });
});
