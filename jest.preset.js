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
  'multi-instance.e2e-spec.ts': 'asserts the takeover after a kill -9 within 10 s',
};
/** The tiers' serial suites as one pattern (one that matches nothing when they have none). */
const serialPattern = (tiers) =>
  Object.keys(SERIAL_SUITES)
    .filter((f) => tiers.some((tier) => new RegExp(TIER_PATTERN[tier]).test(f)))
    .map((f) => `/${f.replace(/[.]/g, '\\.')}$`)
    .join('|') || '^$';

/**
 * Suites side by side in the parallel pass: three on this 2-core machine, as they spend most of
 * their time waiting on the broker, the database and their services (JEST_PARALLEL_WORKERS).
 */
const PARALLEL_WORKERS = Number(process.env.JEST_PARALLEL_WORKERS || 3);

/** `TEST_TIER`: one tier, or several in one run (`integration,e2e`: their suites share the workers). */
module.exports = function jestConfig(projectRoot, tierList = process.env.TEST_TIER || 'unit') {
  const tiers = tierList.split(',');
  const unknown = tiers.filter((t) => !TIER_PATTERN[t]);
  if (unknown.length) throw new Error(`TEST_TIER: unknown tier(s) ${unknown.join(', ')} (unit, integration, e2e)`);
  const unit = tiers.every((t) => t === 'unit');
  const moduleNameMapper = Object.fromEntries(
    Object.entries(compilerOptions.paths).map(([alias, [target]]) => [`^${alias}$`, path.join(__dirname, target)]),
  );
  return {
    rootDir: projectRoot,
    testEnvironment: 'node',
    testRegex: process.env.JEST_PASS === 'serial' ? serialPattern(tiers) : tiers.map((t) => TIER_PATTERN[t]).join('|'),
    testPathIgnorePatterns: ['/node_modules/', ...(process.env.JEST_PASS === 'parallel' ? [serialPattern(tiers)] : [])],
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
    globalSetup: unit ? undefined : path.join(__dirname, 'libs/testing/src/global-setup.js'),
    globalTeardown: unit ? undefined : path.join(__dirname, 'libs/testing/src/global-teardown.js'),
    testTimeout: unit ? 10_000 : 120_000,
    // Two workers for the unit tier (this machine has 2 cores), PARALLEL_WORKERS for the parallel
    // pass, one for the serial pass and for a tier run without a pass (a developer's `npx jest`).
    // The root jest.config.js lifts this for its run.
    maxWorkers: unit ? 2 : process.env.JEST_PASS === 'parallel' ? PARALLEL_WORKERS : 1,
  };
};

/** Which tier a test file belongs to, by its name (the patterns above; unit last, as it matches only `.spec.ts`). */
module.exports.tierOf = (file) => Object.keys(TIER_PATTERN).find((tier) => new RegExp(TIER_PATTERN[tier]).test(file));
