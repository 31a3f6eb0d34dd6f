// Stops the containers global-setup.js started with testcontainers, if it started any.
module.exports = async function globalTeardown() {
  await Promise.all((globalThis.__GROUPS_SYNC_CONTAINERS__ ?? []).map((c) => c.stop()));
};
