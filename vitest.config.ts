import { defineConfig } from 'vitest/config';

const exclude = ['**/node_modules/**', '**/dist/**', '**/.local/**'];

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: [
            '{apps,packages}/*/src/**/*.test.ts',
            'apps/*/web/src/**/*.test.ts',
            'bench/src/**/*.test.ts',
          ],
          exclude: [...exclude, '**/*.int.test.ts', '**/*.e2e.test.ts', '**/*.containers.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['{apps,packages}/*/src/**/*.int.test.ts', 'bench/src/**/*.int.test.ts'],
          exclude,
          environment: 'node',
          globalSetup: ['./packages/test-utils/dist/global-setup.js'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          // 2 cores shared with Kafka, the registry and PostgreSQL: two files at a time.
          maxWorkers: 2,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['{apps,packages}/*/src/**/*.e2e.test.ts', 'bench/src/**/*.e2e.test.ts'],
          exclude,
          environment: 'node',
          globalSetup: ['./packages/test-utils/dist/global-setup.js'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
      // Only with TRACKER_CONTAINERS=1 (`./tracker test --containers`): they build images and run compose.
      ...(process.env['TRACKER_CONTAINERS'] === '1'
        ? [
            {
              test: {
                name: 'containers',
                include: ['{apps,packages}/*/src/**/*.containers.test.ts'],
                exclude,
                environment: 'node',
                testTimeout: 600_000,
                hookTimeout: 2_400_000,
                fileParallelism: false,
                // After the integration project when both run (./tracker test --containers), not beside it.
                sequence: { groupOrder: 1 },
              },
            },
          ]
        : []),
    ],
  },
});
