/** How the demo gateway behaves; `fromEnvironment` reads it from the process environment. */
export interface DemoSettings {
  /** Redis URL; the memory store when absent. */
  redisUrl?: string;
  /** Key prefix of the demo's gates in Redis. */
  keyPrefix: string;
  /** Concurrency limit (queued + running tasks) per model. */
  limits: Record<string, number>;
  /** Shortest and longest simulated task run, in ms. */
  taskMs: [number, number];
  /** Share of runs that fail, 0..1. */
  failureRate: number;
  /** Runs a task gets before it stays failed for good. */
  maxAttempts: number;
  /** How often the worker pool looks for work, in ms. */
  pollMs: number;
}

/** Three models of a small GPU gateway: a scarce video model, an image model, an LLM. */
export const DEMO_LIMITS: Record<string, number> = {
  'video-large': 2,
  'image-standard': 5,
  'llm-long': 10,
};

export function fromEnvironment(env: NodeJS.ProcessEnv = process.env): DemoSettings {
  return {
    redisUrl: env.REDIS_URL || undefined,
    keyPrefix: env.QUEUE_GATE_PREFIX ?? 'qgate-demo:',
    limits: DEMO_LIMITS,
    taskMs: [1_000, 4_000],
    failureRate: 0.2,
    maxAttempts: 3,
    pollMs: 200,
  };
}
