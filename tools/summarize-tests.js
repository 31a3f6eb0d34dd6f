#!/usr/bin/env node
// Adds up the Jest JSON reports of one `npm test` run and prints the ten slowest suites and one
// closing line:   tests: N passed, N failed[, N skipped]
const fs = require('fs');
const path = require('path');
const { tierOf } = require('../jest.preset');

const dir = path.join(__dirname, '..', '.cache', 'test-results');
const totals = { passed: 0, failed: 0, skipped: 0, brokenSuites: 0 };
const rows = [];
const suites = [];
for (const file of fs.existsSync(dir) ? fs.readdirSync(dir).sort() : []) {
  const report = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
  const [tier, project, pass] = file.replace(/\.json$/, '').split('--');
  totals.passed += report.numPassedTests;
  totals.failed += report.numFailedTests;
  totals.skipped += report.numPendingTests + report.numTodoTests;
  totals.brokenSuites += report.numRuntimeErrorTestSuites;
  for (const suite of report.testResults ?? []) {
    suites.push({
      // A run of several tiers (integration+e2e) names each suite's own tier.
      tier: tierOf(suite.name),
      seconds: (suite.endTime - suite.startTime) / 1000,
      file: path.relative(path.join(__dirname, '..'), suite.name),
    });
  }
  if (report.numTotalTests || report.numRuntimeErrorTestSuites)
    rows.push(
      `${tier.padEnd(16)} ${`${project}${pass ? ` (${pass})` : ''}`.padEnd(22)} ${report.numPassedTests} passed, ${report.numFailedTests} failed`,
    );
}
console.log(rows.join('\n'));
console.log('slowest suites:');
for (const s of suites.sort((a, b) => b.seconds - a.seconds).slice(0, 10))
  console.log(`  ${s.seconds.toFixed(1).padStart(6)} s  ${s.tier.padEnd(12)} ${s.file}`);
if (totals.brokenSuites) console.log(`${totals.brokenSuites} test suite(s) failed to run`);
const failed = totals.failed + totals.brokenSuites;
console.log(`tests: ${totals.passed} passed, ${failed} failed${totals.skipped ? `, ${totals.skipped} skipped` : ''}`);
