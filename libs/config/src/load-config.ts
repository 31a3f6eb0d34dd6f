import { plainToInstance } from 'class-transformer';
import { validateSync, ValidationError } from 'class-validator';

/** Names that hold secrets: never printed, in errors or in the boot summary. */
const SECRET = /(PASSWORD|SECRET|TOKEN|KEY|_URL)$/i;

export class ConfigValidationError extends Error {
  constructor(readonly fields: string[]) {
    super(`invalid configuration:\n  - ${fields.join('\n  - ')}`);
    this.name = 'ConfigValidationError';
  }
}

function flatten(errors: ValidationError[], env: Record<string, unknown>): string[] {
  return errors.flatMap((e) => {
    const shown = SECRET.test(e.property) ? '<hidden>' : JSON.stringify(env[e.property]);
    return Object.values(e.constraints ?? {}).map((msg) => `${e.property} (${shown ?? 'unset'}): ${msg}`);
  });
}

/**
 * Builds a typed, validated config object from the environment. Every failing field is listed at
 * once, so an operator fixes them in one go. This is the one place that reads process.env.
 */
export function loadConfig<T extends object>(cls: new () => T, env: Record<string, string | undefined> = process.env): T {
  const defaults = new cls();
  const known = Object.fromEntries(
    Object.keys(defaults).filter((k) => env[k] !== undefined && env[k] !== '').map((k) => [k, env[k]]),
  );
  const config = plainToInstance(cls, { ...defaults, ...known }, { enableImplicitConversion: true });
  const errors = validateSync(config as object, { whitelist: true, forbidUnknownValues: true });
  if (errors.length) throw new ConfigValidationError(flatten(errors, env));
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
