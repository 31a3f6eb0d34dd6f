#!/usr/bin/env node
// Runs one tier of one project's tests (or of every project: `all .`, the root jest.config.js), or
// several tiers in one run (`integration,e2e`: their suites share the workers), and keeps Jest's
// JSON reports, so scripts/test.sh can print one closing line and the slowest suites.
//   run-jest.js <unit|integration|e2e|integration,e2e> <project|all> <projectRoot|.>
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const [tier, project, projectRoot] = process.argv.slice(2);
const root = path.join(__dirname, '..');
const resultsDir = path.join(root, '.cache', 'test-results');
fs.mkdirSync(resultsDir, { recursive: true });
// The integration and e2e tiers in two passes: their suites side by side (jest.preset.js,
// PARALLEL_WORKERS), then those that must run alone (SERIAL_SUITES). A failing first pass does not
// skip the second.
const passes = tier === 'unit' ? [''] : ['parallel', 'serial'];
let status = 0;
for (const pass of passes) {
  const args = [
    require.resolve('jest/bin/jest'),
    '-c',
    path.join(root, projectRoot, 'jest.config.js'),
    '--passWithNoTests',
    '--json',
    '--outputFile',
    path.join(resultsDir, `${tier.replace(/,/g, '+')}--${project}${pass ? `--${pass}` : ''}.json`),
  ];
  const result = spawnSync(process.execPath, args, {
    stdio: 'inherit',
    env: {
      // Tests' services and in-process apps poll an idle broker and their outbox less (four fetches
      // a second per consumer, not fifty; the outbox once a second, not twenty times: its writers
      // wake the relay, the poll only catches what another process wrote): on two cores the idle
      // stacks side by side otherwise take about half a core each. 1000 ms saved a third of an
      // idle stack's CPU but lengthened the suites that pause, retry and rebalance (a paused
      // partition waits for the held fetch to end): no faster in two passes (README, Tests).
      // Only where suites run side by side: the suite that runs alone (the kill -9 takeover) keeps
      // the services' defaults, whose timing it asserts.
      ...(pass === 'parallel' ? { KAFKA_FETCH_MAX_WAIT_MS: '250', OUTBOX_POLL_INTERVAL_MS: '1000' } : {}),
      ...process.env,
      TEST_TIER: tier,
      ...(pass ? { JEST_PASS: pass } : {}),
    },
    cwd: root,
  });
  status ||= result.status ?? 1;
}
process.exit(status);
