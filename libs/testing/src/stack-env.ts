import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

/** The repository root, whether this runs from source (tests) or compiled under dist/ (benchmarks). */
export const WORKSPACE_ROOT = workspaceRoot(__dirname);

function workspaceRoot(from: string): string {
  for (let dir = from; dir !== dirname(dir); dir = dirname(dir)) if (existsSync(join(dir, 'nx.json'))) return dir;
  return join(from, '..', '..', '..');
}

export interface StackEnv {
  KAFKA_BROKERS: string;
  MYSQL_URL: string;
  SCHEMA_REGISTRY_URL: string;
  /** The Redis that carries the LMS's events when it publishes with event-bus-redis. */
  EVENT_BUS_REDIS_CONNECTION_URL: string;
  /** A ClickHouse for the Aspects backend's integration test (scripts/clickhouse.sh); no service reads it. */
  CLICKHOUSE_URL: string;
}

/** Endpoints of the running infrastructure, as scripts/infra.sh wrote them (or from the environment). */
export function stackEnv(): StackEnv {
  const file = join(WORKSPACE_ROOT, '.cache', 'stack.env');
  const fromFile: Record<string, string> = {};
  if (existsSync(file)) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
      if (m) fromFile[m[1]] = m[2];
    }
  }
  const pick = (k: keyof StackEnv, fallback: string) => process.env[k] || fromFile[k] || fallback;
  return {
    KAFKA_BROKERS: pick('KAFKA_BROKERS', '127.0.0.1:9092'),
    MYSQL_URL: pick('MYSQL_URL', 'mysql://root@127.0.0.1:3306'),
    SCHEMA_REGISTRY_URL: pick('SCHEMA_REGISTRY_URL', 'http://127.0.0.1:8081/apis/ccompat/v7'),
    EVENT_BUS_REDIS_CONNECTION_URL: pick('EVENT_BUS_REDIS_CONNECTION_URL', 'redis://127.0.0.1:6379/0'),
    CLICKHOUSE_URL: pick('CLICKHOUSE_URL', 'http://127.0.0.1:18123'),
  };
}

/** A short random suffix for topic prefixes, consumer groups and test database names. */
export function uniqueSuffix(): string {
  return randomBytes(4).toString('hex');
}
