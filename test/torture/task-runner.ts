import type { EventEmitter2 } from '@nestjs/event-emitter';
import { leaseMilliseconds, QUEUE_GATE_EVENTS, type QueueGate, StaleTokenError } from '../../src';
import { LEASE } from './config';
import type { Holding, Holdings } from './holdings';
import type { LedgerWriter } from './ledger';
import { lifecycleEvent, retryTask } from './lifecycle';
import type { Prng } from './prng';
import type { WorkItem } from './work-list';

/** Longest number of retries of one task. */
const MAX_RETRIES = 2;

/** What a worker needs to run tasks. */
export interface RunnerContext {
  gate: QueueGate;
  events: EventEmitter2;
  ledger: LedgerWriter;
  holdings: Holdings;
  rng: Prng;
  /** Puts a failed task's retry on the work list for any worker; false when it could not. */
  handOff: (item: WorkItem) => Promise<boolean>;
}

/**
 * Runs one item of the work list: a new task (its slot confirmed first) or a retry handed over
 * by another worker (its slot taken again first). Each attempt runs for a random time under a
 * keep-alive and ends through a lifecycle event; after a failure the task runs again only if
 * the gate admitted the retry, here or, handed over, in whichever worker pops it (so a late
 * release from this process meets a re-acquire from another). Every end is written before the
 * event that releases the slot, every admission after the gate said so.
 */
export async function runTask(context: RunnerContext, item: WorkItem): Promise<void> {
  const { ledger, rng } = context;
  let current = item.retry
    ? await admitRetry(context, item, item.attempt)
    : await confirm(context, item);
  for (let attempt = item.attempt; current; attempt++) {
    // Mostly shorter than the lease; some longer, so that only the keep-alive keeps the slot.
    const durationMs = rng.chance(0.15) ? rng.int(4_500, 7_000) : rng.int(200, 3_000);
    const fails = attempt < MAX_RETRIES && rng.chance(0.2);
    const handOver = rng.chance(0.4);
    const pauseBeforeRetryMs = rng.chance(0.5) ? 0 : rng.int(1, 40);

    const outcome = await runOnce(context, current, item.expectedSeconds, durationMs);
    if (outcome === 'lost') {
      ledger.write({ kind: 'end', ...current, at: Date.now(), reason: 'lease-lost' });
      return;
    }
    ledger.write({
      kind: 'end',
      ...current,
      at: Date.now(),
      reason: fails ? 'failed' : 'succeeded',
    });
    const event = lifecycleEvent(
      current.model,
      current.taskId,
      current.token,
      item.expectedSeconds,
    );
    context.events.emit(fails ? QUEUE_GATE_EVENTS.failed : QUEUE_GATE_EVENTS.succeeded, event);
    if (!fails) return;

    if (pauseBeforeRetryMs > 0) await sleep(pauseBeforeRetryMs);
    if (handOver) {
      // Not handed over (Redis down): the task stays failed, as when a retry is deferred.
      await context.handOff({ ...item, ...current, attempt: attempt + 1, retry: true });
      return;
    }
    current = await admitRetry(context, { ...item, ...current }, attempt + 1);
  }
}

/** The item's own admission, unless the gate says it is gone (then its end is written). */
async function confirm(context: RunnerContext, item: WorkItem): Promise<Holding | undefined> {
  const holding = holdingOf(item);
  // A request answered 503 after its push may still have delivered the task: its slot is gone.
  if (await slotStillHeld(context.gate, item)) return holding;
  context.ledger.write({
    kind: 'end',
    ...holding,
    at: Date.now(),
    reason: 'lost-before-start',
    idle: true,
  });
  return undefined;
}

/** Takes the task's slot again through the `retrying` event; undefined when deferred. */
async function admitRetry(
  context: RunnerContext,
  item: WorkItem,
  attempt: number,
): Promise<Holding | undefined> {
  const leaseMs = leaseMilliseconds(item.expectedSeconds, { ...LEASE });
  const retry = await retryTask(context.events, item, leaseMs);
  if (!retry.admitted) return undefined; // the task stays failed; a cleaner would try later
  const holding = {
    ...holdingOf(item),
    admission: context.ledger.nextAdmission(),
    token: retry.token,
  };
  context.ledger.write({
    kind: 'admit',
    ...holding,
    at: Date.now(),
    leaseEnd: retry.leaseEnd,
    attempt,
  });
  return holding;
}

/** Runs one attempt under a keep-alive; 'lost' when the keep-alive found the lease gone. */
async function runOnce(
  context: RunnerContext,
  holding: Holding,
  expectedSeconds: number | undefined,
  durationMs: number,
): Promise<'done' | 'lost'> {
  let onLost: () => void = () => undefined;
  const lost = new Promise<'lost'>((resolve) => (onLost = () => resolve('lost')));
  const keeper = context.gate.keepAlive(holding.model, holding.taskId, {
    expectedSeconds,
    token: holding.token ?? undefined,
    onLost,
  });
  context.holdings.add(holding);
  try {
    return await Promise.race([sleep(durationMs).then(() => 'done' as const), lost]);
  } finally {
    keeper.stop();
    context.holdings.delete(holding.admission);
  }
}

/** False when the gate says the task's admission is gone; true when it is held or unknown. */
async function slotStillHeld(gate: QueueGate, item: WorkItem): Promise<boolean> {
  try {
    return await gate.extend(item.model, item.taskId, {
      expectedSeconds: item.expectedSeconds,
      token: item.token ?? undefined,
    });
  } catch (error) {
    // Stale: the task was admitted again since; unavailable: most likely still held.
    return !(error instanceof StaleTokenError);
  }
}

function holdingOf(item: WorkItem): Holding {
  return { admission: item.admission, model: item.model, taskId: item.taskId, token: item.token };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
