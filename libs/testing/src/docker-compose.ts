import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import { loadConfig } from '@groups-sync/config';
import { WORKSPACE_ROOT } from './stack-env';

export interface ComposeService {
  image?: string;
  build?: { context: string; args?: Record<string, string> };
  ports?: string[];
  environment?: Record<string, string | number>;
  env_file?: string[];
  secrets?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition?: string } | undefined>;
  command?: string | string[];
  restart?: string;
  user?: string;
  read_only?: boolean;
  tmpfs?: string[];
  cap_drop?: string[];
  security_opt?: string[];
  deploy?: { resources?: { limits?: { cpus?: string | number; memory?: string; pids?: number } } };
  logging?: { driver?: string; options?: Record<string, string | number> };
}

export interface ComposeFile {
  services: Record<string, ComposeService>;
  secrets?: Record<string, { file?: string; environment?: string; external?: boolean }>;
}

/** The local all-in-one stack, and what an operator deploys. */
export const LOCAL_COMPOSE = 'docker-compose.yml';
export const PRODUCTION_COMPOSE = 'deploy/docker-compose.production.yml';

/** A compose file as Compose reads it (anchors and merge keys resolved). */
export function composeFile(file = LOCAL_COMPOSE): ComposeFile {
  return parse(readFileSync(join(WORKSPACE_ROOT, file), 'utf8'), { merge: true });
}

/** A service's environment as strings, the way a process receives it. */
export function composeEnvironment(service: string, file = LOCAL_COMPOSE): Record<string, string> {
  const entry = composeFile(file).services[service];
  if (!entry) throw new Error(`${file} has no service "${service}"`);
  return Object.fromEntries(Object.entries(entry.environment ?? {}).map(([k, v]) => [k, String(v)]));
}

/** Container ports a service publishes ("[ip:]host:container" → container). */
export function composeContainerPorts(service: string, file = LOCAL_COMPOSE): number[] {
  return (composeFile(file).services[service]?.ports ?? []).map((p) => Number(String(p).split(':').pop()));
}

/** `KEY=value` lines of an env file (comments and blank lines skipped), relative to the workspace. */
export function envFile(file: string): Record<string, string> {
  return Object.fromEntries(
    readFileSync(join(WORKSPACE_ROOT, file), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

/**
 * Declares the checks every app's compose entry must pass: it sets only variables the app's config
 * class reads, with values that class accepts, and publishes the port the app listens on.
 */
export function describeComposeService(service: string, configClass: new () => { PORT: number }): void {
  describe(`docker-compose.yml for ${service}`, () => {
    const env = composeEnvironment(service);

    it('sets only variables the service reads, with values it accepts', () => {
      const known = Object.keys(new configClass());
      expect(Object.keys(env).filter((k) => !known.includes(k))).toEqual([]);
      expect(() => loadConfig(configClass, env)).not.toThrow();
    });

    it('publishes the port the service listens on', () => {
      expect(composeContainerPorts(service)).toEqual([loadConfig(configClass, env).PORT]);
    });

    it('migrates its schema at start: the local stack has no migrate step', () => {
      expect((loadConfig(configClass, env) as unknown as Record<string, unknown>).DB_MIGRATIONS_RUN).toBe(true);
    });
  });
}

/** What an operator's secret files hold, for the check below: plausible values, none of them real. */
const SAMPLE_SECRETS: Record<string, string> = {
  mysql_url: 'mysql://groups_sync:sample-password@mysql.internal:3306',
  lms_db_url: 'mysql://reader:sample-password@replica.internal:3306/edxapp',
};
/** A sample for a secret file, by the end of its name (`groups_service_mysql_url` → `mysql_url`). */
const sampleSecret = (name: string) =>
  SAMPLE_SECRETS[Object.keys(SAMPLE_SECRETS).find((k) => name === k || name.endsWith(`_${k}`)) ?? ''] ?? 'sample-value';

/** Secrets every service may share: the bus and the registry are one principal each (not per service). */
const SHARED_SECRETS = [
  'kafka_api_key',
  'kafka_api_secret',
  'schema_registry_api_key',
  'schema_registry_api_secret',
  'jwt_issuers',
  'lms_db_url',
];

/**
 * Declares the checks of an app's entry in the production compose file: it reads only variables
 * the app's config class knows (or their `_FILE` forms, each a secret the service mounts), and with
 * the settings of deploy/production.env.example and its secret files the app boots in production;
 * it is reached through the operator's TLS proxy only, has a database user and an OAuth client of
 * its own, and starts on a schema the migrate step has already brought up to date.
 */
export function describeProductionComposeService(service: string, configClass: new () => { PORT: number }): void {
  describe(`${PRODUCTION_COMPOSE} for ${service}`, () => {
    const compose = composeFile(PRODUCTION_COMPOSE);
    const entry = compose.services[service];
    const env = composeEnvironment(service, PRODUCTION_COMPOSE);
    const settings = envFile(join(dirname(PRODUCTION_COMPOSE), 'production.env.example'));
    const readFile = (path: string) => sampleSecret(path.replace('/run/secrets/', ''));
    const boot = () =>
      loadConfig(configClass, { ...settings, ...env }, readFile) as { PORT: number } & Record<string, unknown>;
    const others = Object.entries(compose.services).filter(([name]) => name !== service);

    it('sets only variables the service reads, secrets as files it mounts', () => {
      const known = Object.keys(new configClass());
      expect(Object.keys(env).filter((k) => !known.includes(k.replace(/_FILE$/, '')))).toEqual([]);
      for (const path of Object.entries(env)
        .filter(([k]) => k.endsWith('_FILE'))
        .map(([, v]) => v)) {
        expect(path).toMatch(/^\/run\/secrets\/[a-z_]+$/);
        const secret = path.replace('/run/secrets/', '');
        expect(entry.secrets).toContain(secret);
        expect(compose.secrets?.[secret]?.file).toBe(`./secrets/${secret}`);
      }
    });

    it('boots in production with the example settings and its secret files', () => {
      expect(boot()).toMatchObject({ NODE_ENV: 'production' });
    });

    it('publishes only its API port, on 127.0.0.1: plain HTTP stays on the host, TLS ends at the proxy in front', () => {
      const { PORT } = boot();
      expect(entry.ports).toEqual([`127.0.0.1:${PORT}:${PORT}`]);
    });

    it('connects to MySQL as a user of its own, which no other service mounts', () => {
      const secret = env.MYSQL_URL_FILE?.replace('/run/secrets/', '');
      expect(secret).toMatch(new RegExp(`^${env.DB_NAME}_mysql_url$`));
      for (const [, other] of others) expect(other.secrets ?? []).not.toContain(secret);
    });

    it('runs no DDL at start: the migrate step has run, to completion, before it starts', () => {
      expect(boot().DB_MIGRATIONS_RUN).toBe(false);
      expect(entry.depends_on?.migrate).toEqual({ condition: 'service_completed_successfully' });
    });

    it('calls the LMS, if at all, as an OAuth client of its own', () => {
      const config = boot();
      if (!('LMS_OAUTH_CLIENT_ID' in config)) {
        expect(Object.keys(env).filter((k) => k.startsWith('LMS_OAUTH_'))).toEqual([]);
        return;
      }
      expect(env.LMS_OAUTH_CLIENT_ID).toBeTruthy();
      expect('LMS_OAUTH_CLIENT_ID' in settings).toBe(false); // one shared value would override nothing, and mislead
      const secret = env.LMS_OAUTH_CLIENT_SECRET_FILE?.replace('/run/secrets/', '');
      expect(secret).toBeTruthy();
      for (const [, other] of others) {
        expect(other.environment?.LMS_OAUTH_CLIENT_ID).not.toBe(env.LMS_OAUTH_CLIENT_ID);
        expect(other.secrets ?? []).not.toContain(secret);
      }
    });

    it("shares no secret with another service but the bus, the registry and the LMS's keys and replica", () => {
      for (const secret of entry.secrets ?? []) {
        if (SHARED_SECRETS.includes(secret)) continue;
        for (const [name, other] of others)
          expect(`${name}: ${(other.secrets ?? []).includes(secret)}`).toBe(`${name}: false`);
      }
    });
  });
}
