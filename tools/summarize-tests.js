#!/usr/bin/env node
// Adds up the Jest JSON reports of one `npm test` run and prints one closing line:
//   tests: N passed, N failed[, N skipped]
const fs = require('fs');
const path = require('path');

const dir = path.join(__dirname, '..', '.cache', 'test-results');
const totals = { passed: 0, failed: 0, skipped: 0, brokenSuites: 0 };
const rows = [];
for (const file of fs.existsSync(dir) ? fs.readdirSync(dir).sort() : []) {
  const report = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
  const [tier, project] = file.replace(/\.json$/, '').split('--');
  totals.passed += report.numPassedTests;
  totals.failed += report.numFailedTests;
  totals.skipped += report.numPendingTests + report.numTodoTests;
  totals.brokenSuites += report.numRuntimeErrorTestSuites;
  if (report.numTotalTests || report.numRuntimeErrorTestSuites) rows.push(`${tier.padEnd(12)} ${project.padEnd(22)} ${report.numPassedTests} passed, ${report.numFailedTests} failed`);
}
console.log(rows.join('\n'));
if (totals.brokenSuites) console.log(`${totals.brokenSuites} test suite(s) failed to run`);
const failed = totals.failed + totals.brokenSuites;
console.log(`tests: ${totals.passed} passed, ${failed} failed${totals.skipped ? `, ${totals.skipped} skipped` : ''}`);
