import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadConfig } from '@groups-sync/config';
import { WORKSPACE_ROOT } from './stack-env';

export interface ComposeService {
  image?: string;
  build?: { context: string; args?: Record<string, string> };
  ports?: string[];
  environment?: Record<string, string | number>;
  depends_on?: Record<string, unknown>;
}

/** docker-compose.yml as Compose reads it (anchors and merge keys resolved). */
export function composeFile(): { services: Record<string, ComposeService> } {
  return parse(readFileSync(join(WORKSPACE_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true });
}

/** A service's environment as strings, the way a process receives it. */
export function composeEnvironment(service: string): Record<string, string> {
  const entry = composeFile().services[service];
  if (!entry) throw new Error(`docker-compose.yml has no service "${service}"`);
  return Object.fromEntries(Object.entries(entry.environment ?? {}).map(([k, v]) => [k, String(v)]));
}

/** Container ports a service publishes ("host:container" → container). */
export function composeContainerPorts(service: string): number[] {
  return (composeFile().services[service]?.ports ?? []).map((p) => Number(String(p).split(':').pop()));
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
