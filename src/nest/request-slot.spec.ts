import type { GateSlotInfo } from './gate-slot';
import type { SlotRelease } from './queue-gate.options';
import { RequestSlot, type SlotReleaser } from './request-slot';

/** One thing that happens to a request after its slot was taken. */
type Input =
  | 'starts'
  | 'succeeds'
  | 'fails'
  | 'is abandoned'
  | 'ends 201'
  | 'ends 408'
  | 'ends 409'
  | 'client leaves';

type Fate = 'released' | 'kept' | 'waiting';

const SLOT: GateSlotInfo = {
  model: 'video',
  taskId: 'task-1',
  token: 7,
  expiresAt: 0,
  used: 1,
  limit: 2,
  tracked: true,
};

/** A releaser that records the releases asked of it. */
class RecordingReleaser implements SlotReleaser {
  readonly releases: string[] = [];
  release(model: string, taskId: string, options?: { token?: number }): Promise<boolean> {
    this.releases.push(`${model}/${taskId}#${options?.token}`);
    return Promise.resolve(true);
  }
}

async function run(mode: SlotRelease, inputs: readonly Input[]) {
  const releaser = new RecordingReleaser();
  let handedOver = 0;
  const slot = new RequestSlot(SLOT, mode, releaser, { onSettled: () => handedOver++ });
  const started: boolean[] = [];
  for (const input of inputs) {
    switch (input) {
      case 'starts':
        started.push(slot.handlerStarting());
        break;
      case 'succeeds':
        slot.handlerSucceeded();
        break;
      case 'fails':
        await slot.handlerFailed();
        break;
      case 'is abandoned':
        slot.handlerAbandoned();
        break;
      case 'client leaves':
        slot.responseEnded(false, 200);
        break;
      default:
        slot.responseEnded(true, Number(input.slice('ends '.length)));
    }
  }
  await Promise.resolve();
  const fate: Fate =
    releaser.releases.length > 0 ? 'released' : handedOver > 0 ? 'kept' : 'waiting';
  return {
    fate,
    releases: releaser.releases.length,
    released: releaser.releases,
    settledCalls: handedOver,
    started,
  };
}

/** Every order of `items`. */
function orders<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((item, index) =>
    orders([...items.slice(0, index), ...items.slice(index + 1)]).map((rest) => [item, ...rest]),
  );
}

/**
 * Mode, what happens after the handler started (in any order unless noted), and the fate. The
 * handler's outcome and the response's end come from different places (the interceptor, the
 * socket) and may arrive either way round; the fate must not depend on which came first.
 */
const AFTER_START: [SlotRelease, Input[], Fate][] = [
  ['event', [], 'waiting'],
  ['event', ['succeeds'], 'waiting'],
  ['event', ['succeeds', 'ends 201'], 'kept'],
  ['event', ['succeeds', 'ends 409'], 'released'],
  ['event', ['succeeds', 'client leaves'], 'kept'],
  ['event', ['fails'], 'released'],
  ['event', ['fails', 'ends 201'], 'released'],
  ['event', ['fails', 'client leaves'], 'released'],
  ['event', ['ends 201'], 'waiting'],
  ['event', ['client leaves'], 'waiting'],
  ['event', ['is abandoned'], 'waiting'],
  ['event', ['is abandoned', 'ends 408'], 'released'],
  ['event', ['is abandoned', 'ends 201'], 'kept'],
  ['event', ['is abandoned', 'client leaves'], 'kept'],
  ['response', [], 'waiting'],
  ['response', ['succeeds'], 'waiting'],
  ['response', ['fails'], 'waiting'],
  ['response', ['is abandoned'], 'waiting'],
  ['response', ['succeeds', 'ends 201'], 'released'],
  ['response', ['fails', 'ends 409'], 'released'],
  ['response', ['is abandoned', 'client leaves'], 'released'],
  ['response', ['client leaves'], 'released'],
];

describe('RequestSlot', () => {
  describe.each(AFTER_START)("release: '%s', after the handler started", (mode, inputs, fate) => {
    it.each(orders(inputs).map((order) => [order.join(' then ') || 'nothing', order]))(
      `${fate === 'waiting' ? 'keeps waiting' : fate} when it %s`,
      async (_name, order) => {
        const result = await run(mode, ['starts', ...order]);
        expect(result.fate).toBe(fate);
        expect(result.releases).toBeLessThanOrEqual(1);
      },
    );
  });

  it.each<[SlotRelease, Input[], Fate]>([
    // A later guard or a pipe said no: the error response ends the request.
    ['event', ['ends 409'], 'released'],
    ['event', ['client leaves'], 'released'],
    ['response', ['ends 409'], 'released'],
  ])(
    "release: '%s', handler never started, when the response %s: %s",
    async (mode, inputs, fate) => {
      expect((await run(mode, inputs)).fate).toBe(fate);
    },
  );

  it.each<Input>(['client leaves', 'ends 201', 'ends 409'])(
    'does not let the handler start once the response ended (%s)',
    async (end) => {
      const result = await run('event', [end, 'starts']);
      expect(result.started).toEqual([false]);
      expect(result.fate).toBe('released');
    },
  );

  it('does not let the handler start after the request failed', async () => {
    const result = await run('event', ['fails', 'starts']);
    expect(result.started).toEqual([false]);
  });

  it('lets a second start (guard and interceptor of one request) through', async () => {
    const result = await run('response', ['starts', 'starts', 'ends 201']);
    expect(result.started).toEqual([true, true]);
    expect(result.fate).toBe('released');
  });

  it('releases fenced to its own admission, so it never frees a later one of the same id', async () => {
    expect((await run('event', ['starts', 'fails'])).released).toEqual(['video/task-1#7']);
  });

  it('settles once: later inputs neither release a kept slot nor release twice', async () => {
    const kept = await run('event', ['starts', 'succeeds', 'ends 201', 'fails', 'ends 409']);
    expect(kept).toMatchObject({ fate: 'kept', settledCalls: 1 });
    const released = await run('event', ['starts', 'fails', 'fails', 'ends 409', 'succeeds']);
    expect(released).toMatchObject({ fate: 'released', releases: 1, settledCalls: 1 });
  });

  it('a handler failure on a response slot does not wait for the response to resolve', async () => {
    const slot = new RequestSlot(SLOT, 'response', new RecordingReleaser());
    slot.handlerStarting();
    // The error must reach Nest to end the response; waiting here would deadlock.
    await expect(slot.handlerFailed()).resolves.toBeUndefined();
  });

  describe('endResponse (shutdown)', () => {
    it('ends the response and resolves only once the slot has gone back after it', async () => {
      const releaser = new RecordingReleaser();
      const steps: string[] = [];
      const slot: RequestSlot = new RequestSlot(SLOT, 'response', releaser, {
        endResponse: () => {
          steps.push('response ended');
          // The socket's close comes later, as it does in Node.
          setImmediate(() => slot.responseEnded(false, 200));
        },
      });
      slot.handlerStarting();
      await slot.endResponse();
      steps.push(`released ${releaser.releases.length}`);
      expect(steps).toEqual(['response ended', 'released 1']);
    });

    it('releases at once when the slot has no way to end its response', async () => {
      const releaser = new RecordingReleaser();
      const slot = new RequestSlot(SLOT, 'response', releaser);
      await slot.endResponse();
      expect(releaser.releases).toHaveLength(1);
    });

    it('resolves at once for a response that already ended', async () => {
      const releaser = new RecordingReleaser();
      let ended = 0;
      const slot = new RequestSlot(SLOT, 'response', releaser, { endResponse: () => ended++ });
      slot.responseEnded(true, 200);
      await slot.endResponse();
      expect({ ended, releases: releaser.releases.length }).toEqual({ ended: 0, releases: 1 });
    });
  });
});
