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
  depends_on?: Record<string, unknown>;
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
  return Object.fromEntries(readFileSync(join(WORKSPACE_ROOT, file), 'utf8').split('\n')
    .map((l) => l.trim()).filter((l) => l && !l.startsWith('#')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
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
  });
}

/** What an operator's secret files hold, for the check below: plausible values, none of them real. */
const SAMPLE_SECRETS: Record<string, string> = {
  mysql_url: 'mysql://groups_sync:sample-password@mysql.internal:3306',
  lms_db_url: 'mysql://reader:sample-password@replica.internal:3306/edxapp',
};

/**
 * Declares the checks of an app's entry in the production compose file: it reads only variables
 * the app's config class knows (or their `_FILE` forms, each a secret the service mounts), and with
 * the settings of deploy/production.env.example and its secret files the app boots in production.
 */
export function describeProductionComposeService(service: string, configClass: new () => { PORT: number }): void {
  describe(`${PRODUCTION_COMPOSE} for ${service}`, () => {
    const compose = composeFile(PRODUCTION_COMPOSE);
    const entry = compose.services[service];
    const env = composeEnvironment(service, PRODUCTION_COMPOSE);
    const settings = envFile(join(dirname(PRODUCTION_COMPOSE), 'production.env.example'));

    it('sets only variables the service reads, secrets as files it mounts', () => {
      const known = Object.keys(new configClass());
      expect(Object.keys(env).filter((k) => !known.includes(k.replace(/_FILE$/, '')))).toEqual([]);
      for (const path of Object.entries(env).filter(([k]) => k.endsWith('_FILE')).map(([, v]) => v)) {
        expect(path).toMatch(/^\/run\/secrets\/[a-z_]+$/);
        const secret = path.replace('/run/secrets/', '');
        expect(entry.secrets).toContain(secret);
        expect(compose.secrets?.[secret]?.file).toBe(`./secrets/${secret}`);
      }
    });

    it('boots in production with the example settings and its secret files, and publishes only its API port', () => {
      const readFile = (path: string) => SAMPLE_SECRETS[path.replace('/run/secrets/', '')] ?? 'sample-value';
      const config = loadConfig(configClass, { ...settings, ...env }, readFile);
      expect(config).toMatchObject({ NODE_ENV: 'production' });
      expect(entry.ports).toEqual([`${config.PORT}:${config.PORT}`]);
    });
  });
}
