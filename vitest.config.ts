import { defineConfig } from 'vitest/config';

// Workspace packages export their TypeScript sources under the "source" condition, so
// tests run against src without a build; spawned service processes run the built dist.
const resolve = { conditions: ['source', 'module', 'node', 'default'] };

export default defineConfig({
  resolve,
  ssr: { resolve: { conditions: resolve.conditions, externalConditions: resolve.conditions } },
  test: {
    projects: [
      {
        resolve,
        ssr: { resolve: { conditions: resolve.conditions, externalConditions: resolve.conditions } },
        test: {
          name: 'unit',
          include: ['libs/*/src/**/*.test.ts', 'services/*/src/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        resolve,
        ssr: { resolve: { conditions: resolve.conditions, externalConditions: resolve.conditions } },
        test: {
          name: 'integration',
          include: ['libs/*/src/**/*.itest.ts', 'services/*/src/**/*.itest.ts', 'tests/**/*.itest.ts'],
          environment: 'node',
          globalSetup: ['tests/support/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // Two cores: real ZooKeeper, Kafka and service processes share them with the tests.
          maxWorkers: 2,
        },
      },
    ],
  },
});
