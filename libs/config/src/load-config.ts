import { plainToInstance } from 'class-transformer';
import { validateSync, ValidationError } from 'class-validator';
import { readFileSync } from 'node:fs';
import { developmentDefaults } from './config-validators';

/** Names that hold secrets: never printed, in errors or in the boot summary. */
const SECRET = /(PASSWORD|SECRET|TOKEN|KEY|_URL)$/i;

export class ConfigValidationError extends Error {
  constructor(readonly fields: string[]) {
    super(`invalid configuration:\n  - ${fields.join('\n  - ')}`);
    this.name = 'ConfigValidationError';
  }
}

function flatten(errors: ValidationError[], given: Record<string, unknown>): string[] {
  return errors.flatMap((e) => {
    const shown = SECRET.test(e.property) ? '<hidden>' : JSON.stringify(given[e.property]);
    return Object.values(e.constraints ?? {}).map((msg) => `${e.property} (${shown ?? 'unset'}): ${msg}`);
  });
}

const given = (value: string | undefined): value is string => value !== undefined && value !== '';

/**
 * Builds a typed, validated config object from the environment. Every failing field is listed at
 * once, so an operator fixes them in one go. This is the one place that reads process.env.
 * Each field can also come from a file, `<NAME>_FILE` (Docker and Kubernetes secrets). With
 * NODE_ENV=production the defaults marked `@DevelopmentDefault()` do not apply.
 */
export function loadConfig<T extends object>(
  cls: new () => T,
  env: Record<string, string | undefined> = process.env,
  readFile = (path: string) => readFileSync(path, 'utf8'),
): T {
  const defaults = new cls();
  const values: Record<string, string> = {};
  const problems = new Map<string, string>();
  for (const key of Object.keys(defaults)) {
    const value = env[key];
    const file = env[`${key}_FILE`];
    if (given(value) && given(file)) problems.set(key, `${key}: set ${key} or ${key}_FILE, not both`);
    else if (given(value)) values[key] = value;
    else if (given(file)) {
      try {
        const content = readFile(file).replace(/[\r\n]+$/, '');
        if (content !== '') values[key] = content; // an empty file: not set (a registry without auth)
      } catch (error) {
        problems.set(
          key,
          `${key}_FILE (${file}): cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
        );
      }
    }
  }
  const start: Record<string, unknown> = { ...(defaults as Record<string, unknown>) };
  if ((values.NODE_ENV ?? start.NODE_ENV) === 'production') {
    for (const key of developmentDefaults(cls)) {
      if (key in values || problems.has(key)) continue;
      start[key] = undefined; // not deleted: plainToInstance starts from `new cls()`, defaults included
      problems.set(
        key,
        `${key} (unset): required with NODE_ENV=production (set ${key} or ${key}_FILE); its default serves development and tests only`,
      );
    }
  }
  const config = plainToInstance(cls, { ...start, ...values }, { enableImplicitConversion: true });
  const errors = validateSync(config as object, { whitelist: true, forbidUnknownValues: true }).filter(
    (e) => !problems.has(e.property),
  );
  if (errors.length || problems.size)
    throw new ConfigValidationError([...problems.values(), ...flatten(errors, values)]);
  return config;
}

/** A printable copy with secrets masked (URLs keep their host, lose their credentials). */
export function describeConfig(config: object): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(config).map(([k, v]) => {
      if (typeof v === 'string' && /^[a-z]+:\/\//i.test(v)) return [k, v.replace(/\/\/[^@/]*@/, '//***@')];
      return [k, SECRET.test(k) && !k.endsWith('_URL') ? '***' : v];
    }),
  );
}
