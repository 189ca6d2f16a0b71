import { configDefaults, defineConfig } from 'vitest/config';

// Workspace packages export their TypeScript sources under the "source" condition, so
// tests run against src without a build; spawned service processes run the built dist.
const resolve = { conditions: ['source', 'module', 'node', 'default'] };

/** Integration tests that burn the CPU on purpose: run after all the others, one at a time. */
const STARVING = ['tests/scheduler/starvation-chaos.itest.ts'];

/**
 * The fault tests (tests/faults/*.faults.ts) start a HA infra of their own and kill its servers:
 * minutes of six JVMs on the machine. They run only when asked (`npm run test:faults`, i.e.
 * `vitest run --project faults`); `npm test`'s plain `vitest run` does not know the project.
 */
const FAULTS_ASKED = process.argv.some(
  (arg, i) => arg === '--project=faults' || (arg === '--project' && process.argv[i + 1] === 'faults'),
);

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
          sequence: { groupOrder: 0 },
          include: [
            'libs/*/src/**/*.test.ts',
            'services/*/src/**/*.test.ts',
            'examples/*/src/**/*.test.ts',
            'tests/**/*.test.ts',
          ],
          environment: 'node',
        },
      },
      {
        resolve,
        ssr: { resolve: { conditions: resolve.conditions, externalConditions: resolve.conditions } },
        test: {
          name: 'integration',
          // After the unit tests, with fewer workers: they share two cores with real servers.
          sequence: { groupOrder: 1 },
          include: ['libs/*/src/**/*.itest.ts', 'services/*/src/**/*.itest.ts', 'tests/**/*.itest.ts'],
          exclude: [...configDefaults.exclude, ...STARVING],
          environment: 'node',
          globalSetup: ['tests/support/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // Two cores: real ZooKeeper, Kafka and service processes share them with the tests.
          maxWorkers: 2,
        },
      },
      {
        resolve,
        ssr: { resolve: { conditions: resolve.conditions, externalConditions: resolve.conditions } },
        test: {
          name: 'starvation',
          // Last and alone: these burn the CPU on purpose, which would starve every test beside them
          // (the shared ZooKeeper included: the exactly-once test missed instants next to one).
          sequence: { groupOrder: 2 },
          include: [...STARVING],
          environment: 'node',
          globalSetup: ['tests/support/global-setup.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          maxWorkers: 1,
        },
      },
      ...(FAULTS_ASKED
        ? [
            {
              resolve,
              ssr: { resolve: { conditions: resolve.conditions, externalConditions: resolve.conditions } },
              test: {
                name: 'faults',
                include: ['tests/faults/**/*.faults.ts'],
                environment: 'node',
                // No globalSetup: each file starts (and stops) a HA infra of its own. A fault test
                // runs minutes of load and then waits for the ledger to settle on a loaded machine.
                testTimeout: 1_200_000,
                hookTimeout: 600_000,
                maxWorkers: 1,
                fileParallelism: false,
              },
            },
          ]
        : []),
    ],
  },
});
