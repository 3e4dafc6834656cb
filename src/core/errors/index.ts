export * from './queue-gate.error';
export * from './invalid-argument.error';
export * from './invalid-model-name.error';
export * from './invalid-task-id.error';
export * from './invalid-limit.error';
export * from './invalid-expected-seconds.error';
export * from './gate-unavailable.error';
export * from './stale-token.error';
