// @ts-check
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'dist-bench/**',
      'dist-demo/**',
      'docs-api/**',
      'coverage/**',
      'node_modules/**',
      'eslint.config.mjs',
    ],
  },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  prettier,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['*.js'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-require-imports': 'off',
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/no-floating-promises': 'error',
    },
  },
  // Imports point one way: nest -> core <- store. The core knows neither Nest nor Redis; a store
  // adapter knows no Nest. (Specs may reach further, to build what they test against.)
  {
    files: ['src/core/**/*.ts'],
    ignores: ['**/*.spec.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/nest', '**/nest/**', '**/store', '**/store/**'],
              message: 'core imports neither nest/ nor store/.',
            },
            {
              group: ['@nestjs/*', 'ioredis', '@liaoliaots/*', 'rxjs', 'bullmq', '**/bullmq/**'],
              message: 'core is free of Nest, Redis and BullMQ.',
            },
            {
              group: ['**/terminus', '**/terminus/**'],
              message: 'only src/terminus imports Terminus.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/store/**/*.ts'],
    ignores: ['**/*.spec.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/nest', '**/nest/**'], message: 'store adapters do not import nest/.' },
            {
              group: ['@nestjs/*', '@liaoliaots/*', 'rxjs', 'bullmq', '**/bullmq/**'],
              message: 'store adapters are free of Nest and BullMQ.',
            },
            {
              group: ['**/terminus', '**/terminus/**'],
              message: 'only src/terminus imports Terminus.',
            },
          ],
        },
      ],
    },
  },
  // The optional integrations load only when used: nothing outside src/bullmq imports BullMQ and
  // nothing outside src/terminus imports Terminus, so the package's main entry works without
  // either installed (core and store say so above).
  {
    files: ['src/nest/**/*.ts', 'src/index.ts'],
    ignores: ['**/*.spec.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['bullmq', '@nestjs/bullmq', '**/bullmq', '**/bullmq/**'],
              message: 'only src/bullmq imports BullMQ.',
            },
            {
              group: ['@nestjs/terminus', '@nestjs/terminus/**', '**/terminus', '**/terminus/**'],
              message: 'only src/terminus imports Terminus.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/bullmq/**/*.ts'],
    ignores: ['**/*.spec.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@nestjs/terminus', '@nestjs/terminus/**', '**/terminus', '**/terminus/**'],
              message: 'only src/terminus imports Terminus.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      sourceType: 'commonjs',
      globals: { module: 'writable', require: 'readonly' },
    },
  },
);
