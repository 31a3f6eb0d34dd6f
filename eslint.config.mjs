import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

// Lint here enforces architecture, not taste: module boundaries between Nx projects, and kafkajs
// (frozen upstream) kept inside libs/messaging so the Kafka client can be swapped in one place.
export default [
  { ignores: ['**/dist/**', '**/node_modules/**', '.cache/**', '.nx/**', '**/*.js', '**/*.mjs'] },
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: { parser: tseslint.parser },
    plugins: { '@nx': nx },
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          depConstraints: [
            { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:contracts', 'type:data', 'type:util'] },
            {
              sourceTag: 'type:e2e',
              onlyDependOnLibsWithTags: ['type:contracts', 'type:data', 'type:util', 'type:testing'],
            },
            { sourceTag: 'type:data', onlyDependOnLibsWithTags: ['type:contracts', 'type:data', 'type:util'] },
            { sourceTag: 'type:util', onlyDependOnLibsWithTags: ['type:util', 'type:contracts'] },
            { sourceTag: 'type:testing', onlyDependOnLibsWithTags: ['type:contracts', 'type:data', 'type:util'] },
            { sourceTag: 'type:contracts', onlyDependOnLibsWithTags: ['type:contracts'] },
            // No app imports another app: each app scope may use only shared libraries.
            { sourceTag: 'scope:groups', onlyDependOnLibsWithTags: ['scope:shared'] },
            { sourceTag: 'scope:legacy-sync', onlyDependOnLibsWithTags: ['scope:shared'] },
            { sourceTag: 'scope:evaluator', onlyDependOnLibsWithTags: ['scope:shared'] },
            { sourceTag: 'scope:lms-emulator', onlyDependOnLibsWithTags: ['scope:shared'] },
            { sourceTag: 'scope:e2e', onlyDependOnLibsWithTags: ['scope:shared'] },
            { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
            // The browser page talks to the services over HTTP only: it imports no project.
            { sourceTag: 'scope:frontend', onlyDependOnLibsWithTags: [] },
          ],
        },
      ],
      'no-restricted-imports': [
        'error',
        { paths: [{ name: 'kafkajs', message: 'kafkajs stays inside libs/messaging; use its exports.' }] },
      ],
    },
  },
  { files: ['libs/messaging/**/*.ts'], rules: { 'no-restricted-imports': 'off' } },
  // Test files may use the testing library; production code may not.
  {
    files: [
      '**/*.spec.ts',
      '**/*.integration-spec.ts',
      '**/*.e2e-spec.ts',
      'apps/system-e2e/**/*.ts',
      '**/src/test/**/*.ts',
      '**/testing/**/*.ts',
    ],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          depConstraints: [
            { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
            { sourceTag: 'type:contracts', onlyDependOnLibsWithTags: ['type:contracts'] },
            { sourceTag: '*', onlyDependOnLibsWithTags: ['scope:shared'] },
          ],
        },
      ],
    },
  },
];
