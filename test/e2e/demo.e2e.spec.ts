import { DEMO_LIMITS } from '../../demo/demo.settings';
import { type DemoApp, startDemoApp } from '../support/demo-app';

/** The demo gateway as `npm start` runs it, on the Redis store, with quick tasks that all succeed. */
describe('demo model gateway', () => {
  let demo: DemoApp;
  let base: string;
  let post: DemoApp['post'];

  beforeAll(async () => {
    demo = await startDemoApp('demo', [300, 400]);
    ({ base, post } = demo);
  });

  afterAll(() => demo.close());

  const gates = async () =>
    (await (await fetch(`${base}/v1/gates`)).json()) as { model: string; used: number }[];
  const usedOf = async (model: string) => (await gates()).find((g) => g.model === model)!.used;

  it('admits up to the model limit, rejects the rest, and frees slots as the worker ends tasks', async () => {
    const limit = DEMO_LIMITS['video-large'];
    const responses = await Promise.all(
      Array.from({ length: limit + 3 }, () => post('video-large')),
    );
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 202)).toHaveLength(limit);
    expect(statuses.filter((s) => s === 429)).toHaveLength(3);
    expect(await usedOf('video-large')).toBe(limit);

    const admitted = responses.find((r) => r.status === 202)!;
    const { task } = (await admitted.json()) as { task: { id: string } };
    const shown = (await (await fetch(`${base}/v1/tasks/${task.id}`)).json()) as { model: string };
    expect(shown.model).toBe('video-large');

    const deadline = Date.now() + 5_000;
    while ((await usedOf('video-large')) > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(await usedOf('video-large')).toBe(0);
    const finished = (await (await fetch(`${base}/v1/tasks/${task.id}`)).json()) as {
      state: string;
    };
    expect(finished.state).toBe('succeeded');
    expect((await post('video-large')).status).toBe(202);
  });

  it('serves the gate metrics in Prometheus text at /metrics', async () => {
    await post('image-standard');
    const response = await fetch(`${base}/metrics`);
    expect(response.status).toBe(200);
    const text = await response.text();
    const admitted = text
      .split('\n')
      .find(
        (line) =>
          line.startsWith('queue_gate_acquires_total{') &&
          line.includes('queue_gate_model="image-standard"') &&
          line.includes('queue_gate_result="admitted"'),
      );
    expect(admitted).toBeDefined();
    expect(Number(admitted!.split(' ').pop())).toBeGreaterThanOrEqual(1);
    expect(text).toMatch(/^queue_gate_limit\{queue_gate_model="image-standard"[^}]*\} 5$/m);
    expect(text).toContain('queue_gate_acquire_duration_bucket');
  });

  it('answers 400 for a model the gateway does not serve, without touching any gate', async () => {
    const response = await post('no-such-model');
    expect(response.status).toBe(400);
    expect(((await response.json()) as { message: string }).message).toContain('unknown model');
  });
});
