// Integration and e2e tiers need the real broker, database and registry.
// - scripts/test.sh (npm test) starts them without Docker and writes .cache/stack.env.
// - Run alone (`npx jest ...`) on a machine with a Docker engine, they are started with
//   testcontainers instead. Without either, this fails fast with the command to use.
const net = require('net');
const fs = require('fs');
const path = require('path');

function reachable(host, port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: 2000 }, () => {
      socket.end();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
    socket.on('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

function configuredEnv() {
  const envFile = path.join(__dirname, '..', '..', '..', '.cache', 'stack.env');
  const fromFile = fs.existsSync(envFile)
    ? Object.fromEntries(
        fs
          .readFileSync(envFile, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => l.split(/=(.*)/s).slice(0, 2)),
      )
    : {};
  return { ...fromFile, ...process.env };
}

async function missingInfrastructure(env) {
  const kafka = (env.KAFKA_BROKERS || '127.0.0.1:9092').split(',')[0].split(':');
  const mysql = new URL(env.MYSQL_URL || 'mysql://root@127.0.0.1:3306');
  const registry = new URL(env.SCHEMA_REGISTRY_URL || 'http://127.0.0.1:8081');
  const checks = [
    ['Kafka', kafka[0], Number(kafka[1])],
    ['MySQL', mysql.hostname, Number(mysql.port || 3306)],
    ['schema registry', registry.hostname, Number(registry.port || 80)],
  ];
  const missing = [];
  for (const [name, host, port] of checks)
    if (!(await reachable(host, port))) missing.push(`${name} on ${host}:${port}`);
  return missing;
}

async function dockerAnswers() {
  try {
    const { getContainerRuntimeClient } = require('testcontainers');
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

/** Kafka 3.9 (KRaft), MySQL 8.4 and Apicurio Registry as containers, on fixed host ports so Kafka can advertise them. */
async function startContainers() {
  const { GenericContainer, Wait } = require('testcontainers');
  const kafkaPort = 19092;
  const [kafka, mysql, registry] = await Promise.all([
    new GenericContainer('apache/kafka:3.9.1')
      .withExposedPorts({ container: 9092, host: kafkaPort })
      .withEnvironment({
        KAFKA_NODE_ID: '1',
        KAFKA_PROCESS_ROLES: 'broker,controller',
        KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
        KAFKA_LISTENERS: 'PLAINTEXT://:9092,CONTROLLER://:9093',
        KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://127.0.0.1:${kafkaPort}`,
        KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
        KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
        KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
        KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
        KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
        KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
        KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
      })
      .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
      .start(),
    new GenericContainer('mysql:8.4')
      .withExposedPorts(3306)
      .withEnvironment({ MYSQL_ALLOW_EMPTY_PASSWORD: 'yes' })
      .withWaitStrategy(Wait.forLogMessage(/ready for connections.*port: 3306/))
      .start(),
    new GenericContainer('apicurio/apicurio-registry:3.0.9')
      .withExposedPorts(8080)
      .withEnvironment({ APICURIO_RULES_GLOBAL_COMPATIBILITY: 'BACKWARD' })
      .withWaitStrategy(Wait.forHttp('/apis/ccompat/v7/subjects', 8080))
      .start(),
  ]);
  globalThis.__GROUPS_SYNC_CONTAINERS__ = [kafka, mysql, registry];
  // Workers and the service processes the e2e tests spawn inherit these.
  process.env.KAFKA_BROKERS = `127.0.0.1:${kafkaPort}`;
  process.env.MYSQL_URL = `mysql://root@127.0.0.1:${mysql.getMappedPort(3306)}`;
  process.env.SCHEMA_REGISTRY_URL = `http://127.0.0.1:${registry.getMappedPort(8080)}/apis/ccompat/v7`;
}

module.exports = async function globalSetup() {
  const missing = await missingInfrastructure(configuredEnv());
  if (!missing.length) return;
  if (await dockerAnswers()) {
    await startContainers();
    return;
  }
  throw new Error(
    `not reachable: ${missing.join(', ')}. Run the tests with \`npm test\`, which starts the infrastructure (or \`bash scripts/infra.sh up\` first).`,
  );
};
