import type { RunSettings } from './config';
import { Child } from './fleet';

/**
 * The worker processes: each slot has a current process and a generation, bumped at every
 * respawn, so each life writes its own ledger ("worker-1.2" is worker 1's third life).
 */
export class WorkerPool {
  private readonly workers: (Child | undefined)[];
  private readonly generations: number[];
  private readonly respawns = new Set<Promise<void>>();

  private constructor(
    private readonly settings: RunSettings,
    workers: Child[],
  ) {
    this.workers = workers;
    this.generations = workers.map(() => 0);
  }

  static async start(count: number, settings: RunSettings): Promise<WorkerPool> {
    const started = await Promise.allSettled(
      Array.from({ length: count }, (_, i) => Child.start('worker', `worker-${i}.0`, settings)),
    );
    const workers = started.flatMap((result) =>
      result.status === 'fulfilled' ? [result.value] : [],
    );
    const failed = started.find((result) => result.status === 'rejected');
    if (failed) {
      await Promise.all(workers.map((worker) => worker.kill()));
      throw failed.reason;
    }
    return new WorkerPool(settings, workers);
  }

  get size(): number {
    return this.workers.length;
  }

  /** The workers that are up (not being respawned). */
  alive(): Child[] {
    return this.workers.filter((worker): worker is Child => worker?.alive === true);
  }

  isAlive(index: number): boolean {
    return this.workers[index]?.alive === true;
  }

  /**
   * SIGKILLs worker `index` and starts its next life after `respawnAfterMs`; resolves once it
   * is killed (the respawn goes on in the background). False when it was down already.
   */
  async crash(index: number, respawnAfterMs: number): Promise<boolean> {
    const worker = this.workers[index];
    if (!worker?.alive) return false;
    this.workers[index] = undefined;
    await worker.kill();
    const generation = ++this.generations[index];
    const respawn = (async () => {
      await new Promise((resolve) => setTimeout(resolve, respawnAfterMs));
      this.workers[index] = await Child.start(
        'worker',
        `worker-${index}.${generation}`,
        this.settings,
      );
    })();
    this.respawns.add(respawn);
    void respawn.finally(() => this.respawns.delete(respawn));
    return true;
  }

  /** Waits until every respawn under way has finished (and rethrows a failed one). */
  async settle(): Promise<void> {
    await Promise.all([...this.respawns]);
  }

  /** Tasks running in every worker; undefined when one does not answer. */
  async running(): Promise<number | undefined> {
    const counts = await Promise.all(this.alive().map((worker) => worker.running()));
    if (counts.some((count) => count === undefined)) return undefined;
    return counts.reduce<number>((sum, count) => sum + count!, 0);
  }

  async stop(): Promise<void> {
    await Promise.allSettled([...this.respawns]);
    await Promise.all(this.alive().map((worker) => worker.stop()));
  }

  /** SIGKILL without waiting, for an exit handler (a respawn still booting leaves by itself). */
  killNow(): void {
    for (const worker of this.workers) worker?.killNow();
  }

  /** SIGKILLs every worker at once: the cleanup of a run that failed. */
  async kill(): Promise<void> {
    await Promise.allSettled([...this.respawns]);
    await Promise.all(this.workers.map((worker) => worker?.kill() ?? Promise.resolve()));
  }
}
