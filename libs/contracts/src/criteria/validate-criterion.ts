import Ajv, { ValidateFunction } from 'ajv';
import {
  CRITERION_TYPES,
  CriterionOperator,
  CriterionTypeSpec,
  ENROLLMENT_MODES,
  OPERATORS,
  ScopeType,
} from './criterion-types';

export interface CriterionInput {
  type: unknown;
  operator?: unknown;
  value?: unknown;
  config?: unknown;
}

export interface CriterionError {
  field: string;
  message: string;
}

const COUNTRY = /^[A-Z]{2}$/;
const LANGUAGE = /^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/;
const DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$/;
const LIST_OPERATORS: CriterionOperator[] = ['in', 'not_in'];
const NO_VALUE_OPERATORS: CriterionOperator[] = ['exists', 'not_exists'];

const ajv = new Ajv({ allErrors: false, strict: false });
const customValidators = new Map<string, ValidateFunction>();

/** A plugin's value schema, compiled once per type version and schema. */
function customValueError(spec: CriterionTypeSpec, value: unknown): string | null {
  const key = `${spec.id}@${spec.version}:${JSON.stringify(spec.valueSchema ?? null)}`;
  let validate = customValidators.get(key);
  if (!validate) {
    try {
      validate = ajv.compile(spec.valueSchema ?? false);
    } catch {
      validate = ajv.compile(false); // an unusable schema accepts nothing rather than everything
    }
    customValidators.set(key, validate);
  }
  if (validate(value)) return null;
  const description = typeof spec.valueSchema?.description === 'string' ? spec.valueSchema.description : null;
  return description ?? `a value matching ${JSON.stringify(spec.valueSchema)}`;
}

function valueError(spec: CriterionTypeSpec, value: unknown): string | null {
  switch (spec.valueType) {
    case 'custom':
      return customValueError(spec, value);
    case 'days':
      return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 36_500
        ? null
        : 'a whole number of days from 0 to 36500';
    case 'percent':
      return typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= 100
        ? null
        : 'a number from 0 to 100';
    case 'boolean':
      return typeof value === 'boolean' ? null : 'true or false';
    case 'date':
      return typeof value === 'string' && DATE.test(value) && !Number.isNaN(Date.parse(value))
        ? null
        : 'an ISO 8601 date such as 2026-09-01';
    case 'country_code':
      return typeof value === 'string' && COUNTRY.test(value)
        ? null
        : 'an ISO 3166-1 alpha-2 country code such as "FR"';
    case 'language_code':
      return typeof value === 'string' && LANGUAGE.test(value) ? null : 'a language code such as "es" or "pt-BR"';
    case 'enrollment_mode':
      return typeof value === 'string' && ENROLLMENT_MODES.includes(value)
        ? null
        : `one of ${ENROLLMENT_MODES.join(', ')}`;
    case 'none':
      return value === undefined || value === null ? null : 'no value (this criterion is configured through config)';
    default:
      return `a value of type ${String(spec.valueType)}, which this version of the service cannot check`;
  }
}

function configErrors(spec: CriterionTypeSpec, config: unknown, at: string): CriterionError[] {
  const legacy = spec.legacy;
  if (!legacy) {
    return config === undefined ||
      config === null ||
      (typeof config === 'object' && !Array.isArray(config) && !Object.keys(config).length)
      ? []
      : [{ field: `${at}.config`, message: `${spec.id} takes no config` }];
  }
  if (config !== undefined && (typeof config !== 'object' || config === null || Array.isArray(config))) {
    return [{ field: `${at}.config`, message: 'expected an object' }];
  }
  const entries = Object.entries((config ?? {}) as Record<string, unknown>).filter(
    ([, v]) => v !== undefined && v !== null,
  );
  const errors: CriterionError[] = [];
  for (const [key, value] of entries) {
    const kind = legacy.config[key];
    if (!kind)
      errors.push({
        field: `${at}.config.${key}`,
        message: `unknown field; ${spec.id} accepts ${Object.keys(legacy.config).join(', ')}`,
      });
    else if (kind === 'positive_integer' && !(Number.isSafeInteger(value) && (value as number) > 0))
      errors.push({ field: `${at}.config.${key}`, message: 'expected a positive integer' });
    else if (kind === 'string' && !(typeof value === 'string' && value.length > 0 && value.length <= 255))
      errors.push({ field: `${at}.config.${key}`, message: 'expected a non-empty string of at most 255 characters' });
    else if (kind === 'enrollment_mode' && !ENROLLMENT_MODES.includes(value as string))
      errors.push({ field: `${at}.config.${key}`, message: `expected one of ${ENROLLMENT_MODES.join(', ')}` });
    else if (kind === 'boolean' && typeof value !== 'boolean')
      errors.push({ field: `${at}.config.${key}`, message: 'expected true or false' });
  }
  const flag = legacy.readOnlyFlag;
  if (flag && entries.some(([k, v]) => k === flag.field && v === true) && !entries.some(([k]) => k === flag.requires)) {
    errors.push({ field: `${at}.config.${flag.field}`, message: `${flag.field} needs ${flag.requires}` });
  }
  if (legacy.oneOf) {
    const given = legacy.oneOf.filter((k) => entries.some(([e]) => e === k));
    if (given.length !== 1)
      errors.push({ field: `${at}.config`, message: `give exactly one of ${legacy.oneOf.join(', ')}` });
  }
  return errors;
}

/**
 * Checks one criterion against a catalogue (by default the built-in one; groups-service passes the
 * types the evaluator has announced as installed); each error names the field and what was expected.
 */
export function validateCriterion(
  input: CriterionInput,
  scope: ScopeType,
  at = 'criteria[0]',
  catalogue: Record<string, CriterionTypeSpec> = CRITERION_TYPES,
): CriterionError[] {
  if (typeof input.type !== 'string' || !Object.prototype.hasOwnProperty.call(catalogue, input.type)) {
    return [
      { field: `${at}.type`, message: `unknown criterion type; expected one of ${Object.keys(catalogue).join(', ')}` },
    ];
  }
  const spec = catalogue[input.type];
  const errors: CriterionError[] = [];
  if (!spec.scopes.includes(scope))
    errors.push({
      field: `${at}.type`,
      message: `${spec.id} is not available for ${scope} scope; it supports ${spec.scopes.join(', ')}`,
    });
  const operator = (input.operator ?? '=') as CriterionOperator;
  if (!OPERATORS.includes(operator) || !spec.operators.includes(operator)) {
    errors.push({ field: `${at}.operator`, message: `${spec.id} allows ${spec.operators.join(' ')}` });
  } else if (NO_VALUE_OPERATORS.includes(operator)) {
    if (input.value !== undefined && input.value !== null)
      errors.push({ field: `${at}.value`, message: `${operator} takes no value` });
  } else if (LIST_OPERATORS.includes(operator)) {
    const list = input.value;
    if (!Array.isArray(list) || list.length === 0 || list.length > 100)
      errors.push({ field: `${at}.value`, message: `${operator} expects a list of 1 to 100 values` });
    else
      list.forEach((v, i) => {
        const e = valueError(spec, v);
        if (e) errors.push({ field: `${at}.value[${i}]`, message: `expected ${e}` });
      });
  } else {
    const e = valueError(spec, input.value);
    if (e) errors.push({ field: `${at}.value`, message: `expected ${e}` });
  }
  errors.push(...configErrors(spec, input.config, at));
  return errors;
}
