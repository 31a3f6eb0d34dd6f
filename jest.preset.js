// One Jest setup for every project. The tier decides which files run:
//   unit: *.spec.ts beside the code; integration: *.integration-spec.ts (real Kafka and MariaDB);
//   e2e: *.e2e-spec.ts (the services as processes, driven from outside).
const path = require('path');
const { compilerOptions } = require('./tsconfig.base.json');

const TIER_PATTERN = { unit: '\\.spec\\.ts$', integration: '\\.integration-spec\\.ts$', e2e: '\\.e2e-spec\\.ts$' };

module.exports = function jestConfig(projectRoot, tier = process.env.TEST_TIER || 'unit') {
  const moduleNameMapper = Object.fromEntries(
    Object.entries(compilerOptions.paths).map(([alias, [target]]) => [`^${alias}$`, path.join(__dirname, target)]),
  );
  return {
    rootDir: projectRoot,
    testEnvironment: 'node',
    testRegex: TIER_PATTERN[tier],
    setupFiles: ['reflect-metadata'],
    moduleNameMapper,
    transform: {
      '^.+\\.ts$': [
        '@swc/jest',
        {
          jsc: {
            parser: { syntax: 'typescript', decorators: true },
            transform: { legacyDecorator: true, decoratorMetadata: true },
            target: 'es2022',
          },
          module: { type: 'commonjs' },
        },
      ],
    },
    globalSetup: tier === 'unit' ? undefined : path.join(__dirname, 'libs/testing/src/global-setup.js'),
    globalTeardown: tier === 'unit' ? undefined : path.join(__dirname, 'libs/testing/src/global-teardown.js'),
    testTimeout: tier === 'unit' ? 10_000 : 120_000,
    // Two workers for the unit tier (this machine has 2 cores); one suite at a time for the tiers
    // that share one broker and one database server. The root jest.config.js lifts both for its run.
    maxWorkers: tier === 'unit' ? 2 : 1,
  };
};
