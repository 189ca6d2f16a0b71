// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const adapters = [
  'kafkajs',
  'zookeeper',
  'undici',
  'better-sqlite3',
  'drizzle-orm',
  'fastify',
  'pino',
  'prom-client',
];

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      'infra/.cache/**',
      'infra/.run/**',
      '.nono/**',
      '.venv-schemathesis/**',
      // Peers' benchmarks install their own packages on demand (bench/peers/*/README.md); each
      // is type-checked by its own tsconfig.json once installed.
      'bench/peers/**',
      '**/*.mjs',
      'services/api/ui/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      // Frameworks (Fastify routes, kafkajs handlers) require async functions that may not await.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-non-null-assertion': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@nono/*/src/*', '../../*/src/*'],
              message: 'Import a workspace package by its name, not its files.',
            },
          ],
        },
      ],
    },
  },
  {
    // The domain is pure: no adapters, no I/O, no hidden clock.
    files: ['libs/domain/src/**/*.ts'],
    ignores: ['libs/domain/src/**/*.test.ts', 'libs/domain/src/clock.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            ...adapters,
            'node:fs',
            'node:net',
            'node:http',
            'node:child_process',
            'fs',
            'net',
            'http',
          ].map((name) => ({
            name,
            message: 'libs/domain is pure: adapters live in services and other libs.',
          })),
        },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'Take the instant as an argument (or a Clock).' },
        { object: 'Math', property: 'random', message: 'Use deterministic jitter (jitterOffsetMs).' },
        { object: 'process', property: 'env', message: 'Configuration is parsed once, in main.ts.' },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: "NewExpression[callee.name='Date'][arguments.length=0]",
          message: 'new Date() reads the clock: take the instant as an argument.',
        },
      ],
    },
  },
  {
    files: ['**/*.test.ts', '**/*.itest.ts', 'tests/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
    },
  },
  {
    files: ['eslint.config.js', 'vitest.config.ts'],
    ...tseslint.configs.disableTypeChecked,
  },
);
