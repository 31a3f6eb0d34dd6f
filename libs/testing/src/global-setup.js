// Integration and e2e tiers need the real broker, database and registry. scripts/test.sh starts
// them; run alone, this fails fast with the command to use instead of timing out test by test.
const net = require('net');
const fs = require('fs');
const path = require('path');

function reachable(host, port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: 2000 }, () => { socket.end(); resolve(true); });
    socket.on('error', () => resolve(false));
    socket.on('timeout', () => { socket.destroy(); resolve(false); });
  });
}

module.exports = async function globalSetup() {
  const envFile = path.join(__dirname, '..', '..', '..', '.cache', 'stack.env');
  const env = { ...Object.fromEntries(fs.existsSync(envFile) ? fs.readFileSync(envFile, 'utf8').split('\n').filter(Boolean).map((l) => l.split(/=(.*)/s).slice(0, 2)) : []), ...process.env };
  const kafka = (env.KAFKA_BROKERS || '127.0.0.1:9092').split(',')[0].split(':');
  const mysql = new URL(env.MYSQL_URL || 'mysql://root@127.0.0.1:3306');
  const registry = new URL(env.SCHEMA_REGISTRY_URL || 'http://127.0.0.1:8081');
  const checks = [
    ['Kafka', kafka[0], Number(kafka[1])],
    ['MySQL', mysql.hostname, Number(mysql.port || 3306)],
    ['schema registry', registry.hostname, Number(registry.port || 80)],
  ];
  for (const [name, host, port] of checks) {
    if (!(await reachable(host, port))) {
      throw new Error(`${name} is not reachable on ${host}:${port}. Run the tests with \`npm test\`, which starts the infrastructure (or \`bash scripts/infra.sh up\` first).`);
    }
  }
};
