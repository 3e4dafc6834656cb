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
}

/**
 * Runs one task from the work list: confirms its slot, runs it for a random time under a
 * keep-alive, ends it through a lifecycle event, and after a failure runs it again only if the
 * gate admitted the retry. Every end is written before the event that releases the slot.
 */
export async function runTask(context: RunnerContext, item: WorkItem): Promise<void> {
  const { gate, ledger, rng } = context;
  // A request answered 503 after its push may still have delivered the task: its slot is gone.
  if (!(await slotStillHeld(gate, item))) {
    ledger.write({ kind: 'end', ...holdingOf(item), at: Date.now(), reason: 'lost-before-start' });
    return;
  }
  let current: Holding = holdingOf(item);
  for (let attempt = item.attempt; ; attempt++) {
    // Mostly shorter than the lease; some longer, so that only the keep-alive keeps the slot.
    const durationMs = rng.chance(0.15) ? rng.int(4_500, 7_000) : rng.int(200, 3_000);
    const fails = attempt - item.attempt < MAX_RETRIES && rng.chance(0.2);
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
    const leaseMs = leaseMilliseconds(item.expectedSeconds, { ...LEASE });
    const retry = await retryTask(
      context.events,
      { ...current, expectedSeconds: item.expectedSeconds },
      leaseMs,
    );
    if (!retry.admitted) return; // the task stays failed; a cleaner would try later
    current = { ...current, admission: ledger.nextAdmission(), token: retry.token };
    ledger.write({
      kind: 'admit',
      ...current,
      at: Date.now(),
      leaseEnd: retry.leaseEnd,
      attempt: attempt + 1,
    });
  }
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
