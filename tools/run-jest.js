#!/usr/bin/env node
// Runs one tier of one project's tests (or of every project: `all .`, the root jest.config.js) and
// keeps Jest's JSON report, so scripts/test.sh can print one closing line and the slowest suites.
//   run-jest.js <unit|integration|e2e> <project|all> <projectRoot|.>
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const [tier, project, projectRoot] = process.argv.slice(2);
const root = path.join(__dirname, '..');
const resultsDir = path.join(root, '.cache', 'test-results');
fs.mkdirSync(resultsDir, { recursive: true });
const args = [
  require.resolve('jest/bin/jest'),
  '-c',
  path.join(root, projectRoot, 'jest.config.js'),
  '--passWithNoTests',
  '--json',
  '--outputFile',
  path.join(resultsDir, `${tier}--${project}.json`),
];
const result = spawnSync(process.execPath, args, {
  stdio: 'inherit',
  env: { ...process.env, TEST_TIER: tier },
  cwd: root,
});
process.exit(result.status ?? 1);
