import type { Task } from './task';

/** Hands a task the gate admitted to the workers: the in-process pool, or a BullMQ queue. */
export abstract class TaskDispatcher {
  abstract dispatch(task: Task): Promise<void>;
}

/** The in-process worker pool polls the task table itself: nothing to hand over. */
export class PoolDispatcher extends TaskDispatcher {
  dispatch(): Promise<void> {
    return Promise.resolve();
  }
}
