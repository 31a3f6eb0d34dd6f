// One Jest setup for every project. The tier decides which files run:
//   unit: *.spec.ts beside the code; integration: *.integration-spec.ts (real Kafka and MariaDB);
//   e2e: *.e2e-spec.ts (the services as processes, driven from outside).
const path = require('path');
const { compilerOptions } = require('./tsconfig.base.json');

const TIER_PATTERN = { unit: '\\.spec\\.ts$', integration: '\\.integration-spec\\.ts$', e2e: '\\.e2e-spec\\.ts$' };

/**
 * Suites that run alone, after the others (JEST_PASS=serial): the rest of the integration and e2e
 * tiers run two at a time (JEST_PASS=parallel), each isolated by its own topic prefix, databases,
 * consumer groups and ports (testPort by Jest worker).
 */
const SERIAL_SUITES = {
  'broker-outage.e2e-spec.ts': 'stops and restarts the Kafka broker every suite shares',
  'multi-instance.e2e-spec.ts': 'asserts the takeover after a kill -9 within 10 s',
};
/** The tier's serial suites as one pattern (one that matches nothing when it has none). */
const serialPattern = (tier) =>
  Object.keys(SERIAL_SUITES)
    .filter((f) => new RegExp(TIER_PATTERN[tier]).test(f))
    .map((f) => `/${f.replace(/[.]/g, '\\.')}$`)
    .join('|') || '^$';

module.exports = function jestConfig(projectRoot, tier = process.env.TEST_TIER || 'unit') {
  const moduleNameMapper = Object.fromEntries(
    Object.entries(compilerOptions.paths).map(([alias, [target]]) => [`^${alias}$`, path.join(__dirname, target)]),
  );
  return {
    rootDir: projectRoot,
    testEnvironment: 'node',
    testRegex: process.env.JEST_PASS === 'serial' ? serialPattern(tier) : TIER_PATTERN[tier],
    testPathIgnorePatterns: ['/node_modules/', ...(process.env.JEST_PASS === 'parallel' ? [serialPattern(tier)] : [])],
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
    // Two workers (this machine has 2 cores), but one for the serial pass and for a tier run
    // without a pass (a developer's `npx jest`). The root jest.config.js lifts this for its run.
    maxWorkers: tier === 'unit' || process.env.JEST_PASS === 'parallel' ? 2 : 1,
  };
};
