/** Messages between the HTTP benchmark and the app it forks. */
export type AppMessage = { listening: number } | { failed: string };

/** What the parent sends to have the app close and exit. */
export const STOP = 'stop';

/** Environment variable that carries the Redis URL to the app. */
export const REDIS_URL_ENV = 'BENCH_REDIS_URL';

/** Environment variable that names the app's HTTP platform. */
export const PLATFORM_ENV = 'BENCH_HTTP_PLATFORM';

/** The HTTP platforms the section runs the same app on. */
export const PLATFORMS = ['express', 'fastify'] as const;
export type Platform = (typeof PLATFORMS)[number];
