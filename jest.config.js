/**
 * Three projects, selectable with `--selectProjects` (`npm run test:unit`, `test:integration`,
 * `test:e2e`): unit specs beside the code (pure logic, no Redis), integration specs against a
 * real Redis, and e2e specs of Nest apps over real HTTP. The global setup starts one private
 * redis-server for the whole run.
 */
const transform = { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] };

const project = (displayName, roots, testMatch) => ({
  displayName,
  testEnvironment: 'node',
  roots,
  testMatch,
  transform,
});

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    project('unit', ['<rootDir>/src'], ['**/*.spec.ts']),
    project('integration', ['<rootDir>/test/integration'], ['**/*.spec.ts']),
    project('e2e', ['<rootDir>/test/e2e'], ['**/*.spec.ts']),
  ],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 30000,
  maxWorkers: 2,
};
