import type { GateSlotInfo } from '../nest/gate-slot';

/** What a job carries of the slot it runs in: its gate and the admission's fencing token. */
export interface GateJobMark {
  /** The gate (model) the slot was taken from. */
  model: string;
  /** The admission's fencing token; releases and extends carry it. */
  token: number | null;
}

/** The job data field that carries the slot's {@link GateJobMark}. */
export const GATE_JOB_FIELD = 'queueGate';

/** The job data, with the slot's mark under {@link GATE_JOB_FIELD}. */
export type MarkedJobData<T> = T & Record<typeof GATE_JOB_FIELD, GateJobMark>;

/** The data and options to add a job in a slot with, as {@link gateJob} makes them. */
export interface GateJobArguments<T> {
  /** The job's data, marked with the slot's model and token. */
  data: MarkedJobData<T>;
  /** The job's options; `jobId` is the slot's task id. */
  opts: Record<string, unknown> & GateJobId;
}

/** The id a job in a slot is added with. */
export interface GateJobId {
  /** The slot's task id. */
  jobId: string;
}

/** A slot that a job is added for: what `@GateSlot()` or `acquire` gives. */
export type SlotOfJob = Pick<GateSlotInfo, 'model' | 'taskId' | 'token'>;

/**
 * The data and options of a job that runs in `slot`: the slot's task id as the job id (so the
 * gate's holder and the job are one), and the slot's model and token in the data, where the
 * integration finds them on the job's events. `queue.add(name, ...gateJob(slot, data))` reads:
 *
 * ```ts
 * const { data, opts } = gateJob(slot, { prompt });
 * await queue.add('render', data, opts);
 * ```
 */
export function gateJob<T extends object>(
  slot: SlotOfJob,
  data: T,
  opts: Record<string, unknown> = {},
): GateJobArguments<T> {
  return {
    data: { ...data, [GATE_JOB_FIELD]: { model: slot.model, token: slot.token } },
    opts: { ...opts, jobId: slot.taskId },
  };
}

/** The mark a job carries, or undefined for a job added without a slot. */
export function gateMarkOf(data: unknown): GateJobMark | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const mark = (data as Record<string, unknown>)[GATE_JOB_FIELD];
  if (typeof mark !== 'object' || mark === null) return undefined;
  const { model, token } = mark as Record<string, unknown>;
  if (typeof model !== 'string') return undefined;
  return { model, token: typeof token === 'number' ? token : null };
}
