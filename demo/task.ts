/** States of a demo task: queued and running hold a slot; succeeded and failed do not. */
export type TaskState = 'queued' | 'running' | 'succeeded' | 'failed';

export interface Task {
  id: string;
  model: string;
  state: TaskState;
  attempts: number;
  prompt: string;
  createdAt: string;
  updatedAt: string;
  /** Lease end of the task's gate slot, as given by the gate at creation. */
  slotExpiresAt: number | null;
  /** Fencing token of the task's current admission: its releases are fenced to it. */
  slotToken: number | null;
}
