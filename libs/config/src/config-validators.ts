import 'reflect-metadata';
import { ValidateBy, ValidationArguments } from 'class-validator';

/** How a service is told where it runs: `NODE_ENV`, as the Docker image sets it (`production`). */
export const DEPLOYMENT_ENVIRONMENTS = ['development', 'test', 'production'] as const;
export type DeploymentEnvironment = (typeof DEPLOYMENT_ENVIRONMENTS)[number];

const DEVELOPMENT_DEFAULTS = Symbol('developmentDefaults');

const unset = (value: unknown) => value === undefined || value === null || value === '';
const isProduction = (args?: ValidationArguments) =>
  (args?.object as { NODE_ENV?: string } | undefined)?.NODE_ENV === 'production';

/**
 * The field's default serves development and tests only: with NODE_ENV=production `loadConfig`
 * drops it, and a service started without the value refuses to boot.
 */
export function DevelopmentDefault(): PropertyDecorator {
  return (target, property) => {
    const inherited: string[] = Reflect.getMetadata(DEVELOPMENT_DEFAULTS, target) ?? [];
    Reflect.defineMetadata(DEVELOPMENT_DEFAULTS, [...new Set([...inherited, String(property)])], target);
  };
}

/** Fields of a config class (and its parents) marked with `@DevelopmentDefault()`. */
export function developmentDefaults(cls: new () => object): string[] {
  return Reflect.getMetadata(DEVELOPMENT_DEFAULTS, cls.prototype) ?? [];
}

/** A rule that holds only with NODE_ENV=production; an unset value passes (required-ness is another rule). */
export function InProduction(rule: (value: unknown) => boolean, message: string): PropertyDecorator {
  return ValidateBy({
    name: 'inProduction',
    validator: {
      validate: (value: unknown, args?: ValidationArguments) => !isProduction(args) || unset(value) || rule(value),
      defaultMessage: () => `${message} (NODE_ENV=production)`,
    },
  });
}

/** Credentials come in pairs: this field and `other` are both set or both unset. */
export function BothOrNeither(other: string): PropertyDecorator {
  return ValidateBy({
    name: 'bothOrNeither',
    constraints: [other],
    validator: {
      validate: (value: unknown, args?: ValidationArguments) =>
        unset(value) === unset((args?.object as Record<string, unknown>)[other]),
      defaultMessage: (args?: ValidationArguments) => `set both ${args?.property} and ${other}, or neither`,
    },
  });
}

/** A number no greater than the number in `other`. */
export function NotAbove(other: string): PropertyDecorator {
  return ValidateBy({
    name: 'notAbove',
    constraints: [other],
    validator: {
      validate: (value: unknown, args?: ValidationArguments) =>
        typeof value !== 'number' || value <= Number((args?.object as Record<string, unknown>)[other]),
      defaultMessage: (args?: ValidationArguments) => `must not be above ${other}`,
    },
  });
}
