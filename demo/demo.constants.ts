/** Injection token of the demo's settings. */
export const DEMO_SETTINGS = Symbol('DEMO_SETTINGS');
