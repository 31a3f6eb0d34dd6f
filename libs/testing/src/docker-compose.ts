import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
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
