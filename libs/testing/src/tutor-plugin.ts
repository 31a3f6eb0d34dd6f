import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { loadConfig } from '@groups-sync/config';
import { WORKSPACE_ROOT } from './stack-env';

/** The Tutor plugin (deploy/tutor) rendered for one site by deploy/tutor/tests/render.py. */
export interface RenderedTutorPlugin {
  mode: 'tutor' | 'stand-in';
  config: Record<string, string | number | boolean>;
  env_files: Record<string, string>;
  patches: Record<string, string>;
  tasks: Array<[string, string]>;
  dockerfile: string;
  files: Record<string, string>;
  /** What the plugin adds to tutor-mfe's MFE_APPS (stand-in render with `mfe`), else null. */
  mfe_apps?: Record<string, { repository: string; port: number; version: string }> | null;
}

/** The env files (templates/groups-sync/apps/config) each service's container reads, in order. */
export const TUTOR_ENV_FILES = {
  'groups-service': ['common', 'lms-client', 'groups-service'],
  'legacy-sync-service': ['common', 'lms-client', 'legacy-sync-service'],
  'evaluator-service': ['common', 'evaluator-service'],
} as const;
export type TutorService = keyof typeof TUTOR_ENV_FILES;

function python(): string {
  for (const candidate of [process.env.GROUPS_SYNC_PYTHON, '/usr/bin/python3', 'python3']) {
    if (!candidate) continue;
    try {
      execFileSync(candidate, ['-c', 'import jinja2'], { stdio: 'ignore' });
      return candidate;
    } catch {
      continue;
    }
  }
  throw new Error('no python3 with Jinja2: apt-get install python3-jinja2 (npm test installs it)');
}

/**
 * Renders the plugin with Tutor's defaults plus `sets` (`NAME=value`): against a recorder of
 * Tutor's hooks and Jinja2 as Tutor renders, or, with TUTOR_PYTHONPATH set (Tutor's source and its
 * dependencies), by Tutor itself.
 */
export function renderTutorPlugin(...sets: string[]): RenderedTutorPlugin {
  return render(sets, false);
}

/** As renderTutorPlugin, on a site that also runs Tutor's MFE plugin (always the stand-in recorder). */
export function renderTutorPluginWithMfe(...sets: string[]): RenderedTutorPlugin {
  return render(sets, true);
}

function render(sets: string[], mfe: boolean): RenderedTutorPlugin {
  const tutor = mfe ? undefined : process.env.TUTOR_PYTHONPATH;
  const out = execFileSync(
    tutor ? '/usr/bin/python3' : python(),
    [
      join(WORKSPACE_ROOT, 'deploy/tutor/tests/render.py'),
      ...(tutor ? ['--tutor'] : []),
      ...(mfe ? ['--mfe'] : []),
      ...sets.flatMap((s) => ['--set', s]),
    ],
    { encoding: 'utf8', env: { ...process.env, ...(tutor ? { PYTHONPATH: tutor } : {}) }, maxBuffer: 64 << 20 },
  );
  return JSON.parse(out) as RenderedTutorPlugin;
}

/**
 * KEY=VALUE lines of rendered env files, as docker compose's env_file and kustomize's `envs` read
 * them: no quotes, so a quoted value would reach the service with its quotes.
 */
export function tutorEnv(rendered: RenderedTutorPlugin, files: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const file of files) {
    for (const line of rendered.env_files[file].split('\n')) {
      if (!line.trim() || line.startsWith('#')) continue;
      const at = line.indexOf('=');
      if (at <= 0 || /^["']/.test(line.slice(at + 1)))
        throw new Error(`${file}.env: "${line}" is not KEY=value as compose and kustomize read it`);
      env[line.slice(0, at)] = line.slice(at + 1);
    }
  }
  return env;
}

/**
 * Declares the check an app's Tutor settings must pass: the env files its container reads name
 * every setting its config class requires in production, with values it accepts, so the plugin's
 * templates and the config class cannot drift apart.
 */
export function describeTutorPluginService(service: TutorService, configClass: new () => object): void {
  describe(`the Tutor plugin's settings for ${service}`, () => {
    const env = tutorEnv(renderTutorPlugin(), TUTOR_ENV_FILES[service]);

    it('name every setting its config class requires in production, and they validate', () => {
      expect(() => loadConfig(configClass, env)).not.toThrow();
      // With Tutor's MFE plugin too (the User Groups page's origin, for CORS).
      const withPage = tutorEnv(renderTutorPluginWithMfe(), TUTOR_ENV_FILES[service]);
      expect(() => loadConfig(configClass, withPage)).not.toThrow();
      expect(env).toMatchObject({ NODE_ENV: 'production', DB_MIGRATIONS_RUN: 'false' });
    });

    it('set only variables the service reads', () => {
      const known = Object.keys(new configClass());
      expect(Object.keys(env).filter((k) => !known.includes(k))).toEqual([]);
    });
  });
}
