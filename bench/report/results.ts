import type { LoadOverRun, Machine } from '../support/machine';
import type { DurabilityResult } from '../sections/durability';
import type { HttpRun } from '../sections/http';
import type { MemoryResult } from '../sections/memory';
import type { ScaleRun } from '../sections/scale';
import type { ScaleOutResult } from '../sections/scale-out';
import type { ThroughputRun } from '../sections/throughput';
import type { WaitingResult } from '../sections/waiting';

/** Everything one `npm run bench` measured. */
export interface BenchResults {
  machine: Machine;
  /** The machine's load average while the benchmark ran. */
  load: LoadOverRun;
  throughput: ThroughputRun[];
  http: HttpRun[];
  memory: MemoryResult[];
  scale: ScaleRun[];
  waiting: WaitingResult[];
  durability: DurabilityResult;
  scaleOut: ScaleOutResult;
  /** Seconds from start to report, redis-server start-up included. */
  wallSeconds: number;
}
