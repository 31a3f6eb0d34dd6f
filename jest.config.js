// Every project's tests in one Jest run (`TEST_TIER` picks the tier, as in each project's config):
// one process and one transform cache per tier instead of one run per project. Options Jest takes
// only for the whole run (the time a test may take, the workers) are lifted from the projects here,
// and suites start longest first (tools/jest-sequencer.js).
const { readdirSync, existsSync } = require('fs');
const path = require('path');

const configs = ['apps', 'libs'].flatMap((dir) =>
  readdirSync(path.join(__dirname, dir))
    .map((name) => path.join(__dirname, dir, name, 'jest.config.js'))
    .filter((config) => existsSync(config))
    .map((config) => require(config)),
);

module.exports = {
  testSequencer: path.join(__dirname, 'tools/jest-sequencer.js'),
  testTimeout: configs[0].testTimeout,
  maxWorkers: configs[0].maxWorkers,
  projects: configs.map(({ testTimeout, maxWorkers, ...project }) => ({
    ...project,
    displayName: path.relative(__dirname, project.rootDir),
  })),
};
