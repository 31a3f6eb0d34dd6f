import { CriterionTypesAnnouncedData } from '../event-data';
import {
  CRITERION_TYPES,
  CriterionBackend,
  CriterionOperator,
  CriterionTypeSpec,
  CriterionValueType,
  ENROLLMENT_MODES,
  ScopeType,
} from './criterion-types';

type AnnouncedType = CriterionTypesAnnouncedData['announcement']['types'][number];

/** What one value of a criterion must be, as JSON Schema, so that a UI can build the form; null when it takes no value. */
export function valueSchemaOf(spec: CriterionTypeSpec): Record<string, unknown> | null {
  switch (spec.valueType) {
    case 'days':
      return { type: 'integer', minimum: 0, maximum: 36_500, description: 'days' };
    case 'percent':
      return { type: 'number', minimum: 0, maximum: 100 };
    case 'boolean':
      return { type: 'boolean' };
    case 'date':
      return { type: 'string', format: 'date' };
    case 'country_code':
      return { type: 'string', pattern: '^[A-Z]{2}$', description: 'ISO 3166-1 alpha-2' };
    case 'language_code':
      return { type: 'string', pattern: '^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$', description: 'BCP 47' };
    case 'enrollment_mode':
      return { type: 'string', enum: ENROLLMENT_MODES };
    case 'custom':
      return spec.valueSchema ?? null;
    case 'none':
      return null;
  }
}

/** The config a criterion takes, as JSON Schema (legacy links name their legacy group there; selecting types take none). */
export function configSchemaOf(spec: CriterionTypeSpec): Record<string, unknown> {
  const fields = spec.legacy?.config ?? {};
  return {
    type: 'object',
    additionalProperties: false,
    properties: Object.fromEntries(
      Object.entries(fields).map(([name, kind]) => [
        name,
        kind === 'positive_integer'
          ? { type: 'integer', minimum: 1 }
          : kind === 'enrollment_mode'
            ? { type: 'string', enum: ENROLLMENT_MODES }
            : kind === 'boolean'
              ? { type: 'boolean' }
              : { type: 'string', minLength: 1, maxLength: 255 },
      ]),
    ),
    ...(spec.legacy?.oneOf ? { oneOf: spec.legacy.oneOf.map((f) => ({ required: [f] })) } : {}),
  };
}

export function toAnnouncedType(spec: CriterionTypeSpec): AnnouncedType {
  return {
    id: spec.id,
    version: spec.version,
    description: spec.description,
    scopes: spec.scopes,
    value_type: spec.valueType,
    value_schema: spec.valueType === 'custom' && spec.valueSchema ? JSON.stringify(spec.valueSchema) : null,
    operators: spec.operators,
    backend: spec.backend,
    default_refresh_seconds: spec.defaultRefreshSeconds,
    stale_on: spec.staleOn,
  };
}

/** An announced type as a spec; legacy types are never taken from an announcement (legacy-sync owns them, not the evaluator). */
export function fromAnnouncedType(type: AnnouncedType): CriterionTypeSpec {
  let valueSchema: Record<string, unknown> | undefined;
  if (type.value_schema) {
    try {
      valueSchema = JSON.parse(type.value_schema) as Record<string, unknown>;
    } catch {
      valueSchema = { not: {}, description: 'nothing (the plugin announced a value schema that is not JSON)' };
    }
  }
  return {
    id: type.id,
    version: type.version,
    description: type.description,
    scopes: type.scopes as ScopeType[],
    valueType: type.value_type as CriterionValueType,
    ...(valueSchema ? { valueSchema } : {}),
    operators: type.operators as CriterionOperator[],
    backend: type.backend as CriterionBackend,
    defaultRefreshSeconds: type.default_refresh_seconds,
    staleOn: type.stale_on,
  };
}

/**
 * The catalogue groups accept: the legacy types, and the selecting types an evaluator announced as
 * installed; until one has, the built-in selecting types.
 */
export function installedCatalogue(announced: AnnouncedType[] | null): Record<string, CriterionTypeSpec> {
  const legacy = Object.values(CRITERION_TYPES).filter((s) => s.legacy);
  const selecting = announced
    ? announced.filter((t) => !CRITERION_TYPES[t.id]?.legacy).map(fromAnnouncedType)
    : Object.values(CRITERION_TYPES).filter((s) => !s.legacy);
  return Object.fromEntries([...selecting, ...legacy].map((s) => [s.id, s]));
}
