// Lets compiled code under dist/ resolve the workspace's `@groups-sync/*` aliases at run time
// (`node -r ./tools/register-paths.js dist/apps/<app>/src/main.js`).
const path = require('path');
const tsConfigPaths = require('tsconfig-paths');
const { compilerOptions } = require('../tsconfig.base.json');

const paths = Object.fromEntries(
  Object.entries(compilerOptions.paths).map(([alias, targets]) => [
    alias,
    targets.map((t) => t.replace(/\.ts$/, '.js')),
  ]),
);
tsConfigPaths.register({ baseUrl: path.join(__dirname, '..', 'dist'), paths });
