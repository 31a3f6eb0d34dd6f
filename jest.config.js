// Every project's tests in one Jest run (`TEST_TIER` picks the tier, as in each project's config):
// one process and one transform cache for the unit tier instead of one run per project.
const { readdirSync, existsSync } = require('fs');
const path = require('path');

const projects = ['apps', 'libs'].flatMap((dir) => readdirSync(path.join(__dirname, dir))
  .map((name) => path.join(__dirname, dir, name, 'jest.config.js'))
  .filter((config) => existsSync(config)));

module.exports = { projects };
