export * from './invalid-options.error';
export * from './missing-dependency.error';
export * from './missing-gate-store.error';
export * from './unfit-store.error';
