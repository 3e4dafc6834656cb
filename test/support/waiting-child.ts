import { Redis } from 'ioredis';
import { QueueGate } from '../../src/core/queue-gate';
import { RedisGateStore } from '../../src/store/redis/redis-gate-store';
import type {
  WaitingAcquire,
  WaitingChildMessage,
  WaitingGateConfig,
  WaitingOutcome,
  WaitingParentMessage,
} from './waiting-protocol';

/*
 * One application instance of the waiting tests, run in its own process through the bootstrap
 * of strictness-register.ts (it runs the TypeScript sources as they are). The parent configures
 * its gate, then has it make acquires, possibly waiting, and abort them; each acquire reports
 * its result or error when it ends.
 */

let gate: QueueGate | undefined;
let client: Redis | undefined;
const controllers = new Map<number, AbortController>();

function send(message: WaitingChildMessage): void {
  process.send?.(message);
}

async function closeGate(): Promise<void> {
  const [closing, connection] = [gate, client];
  gate = undefined;
  client = undefined;
  await closing?.close(1_000);
  await connection?.quit().catch(() => connection.disconnect());
}

async function configure(config: WaitingGateConfig): Promise<void> {
  await closeGate();
  client = new Redis(config.redisUrl, { maxRetriesPerRequest: 1 });
  gate = new QueueGate(new RedisGateStore(client, config.prefix), {
    limits: config.limits,
    waiting: { waiterLeaseMs: config.waiterLeaseMs },
    // A generous bound: a slow answer on a loaded machine is not what these tests look at.
    commandTimeoutMs: 10_000,
  });
}

async function acquire(request: WaitingAcquire): Promise<WaitingOutcome> {
  if (!gate) throw new Error('acquire before configure');
  const { id, model, taskId, waitMs, cost, tenant, holdMs } = request;
  const controller = request.abortable ? new AbortController() : undefined;
  if (controller) controllers.set(id, controller);
  try {
    const result = await gate.acquire(model, {
      taskId,
      waitMs,
      cost,
      tenant,
      signal: controller?.signal,
    });
    let released = false;
    if (result.acquired && holdMs !== undefined) {
      await new Promise((resolve) => setTimeout(resolve, holdMs));
      released = await gate.release(model, taskId, { token: result.token! });
    }
    return { id, result, released };
  } catch (error) {
    const { name, message } = error instanceof Error ? error : new Error(String(error));
    return { id, error: { name: error instanceof Error ? error.constructor.name : name, message } };
  } finally {
    controllers.delete(id);
  }
}

process.on('message', (message: WaitingParentMessage) => {
  switch (message.type) {
    case 'configure':
      configure(message.config).then(
        () => send({ type: 'configured' }),
        (error) => send({ type: 'failed', error: String(error) }),
      );
      break;
    case 'acquire':
      void acquire(message.request).then(
        (outcome) => send({ type: 'done', outcome }),
        (error) => send({ type: 'failed', error: String(error) }),
      );
      break;
    case 'abort':
      controllers.get(message.id)?.abort(new Error('the parent aborted it'));
      break;
    case 'stop':
      void closeGate().finally(() => process.disconnect());
      break;
  }
});

// Without the parent there is nobody to report to.
process.on('disconnect', () => process.exit(0));

send({ type: 'ready' });
