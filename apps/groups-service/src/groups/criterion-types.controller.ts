import { Controller, Get, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { JwtAuthGuard } from '@groups-sync/auth';
import { CRITERION_TYPES, CriterionTypeSpec, ENROLLMENT_MODES } from '@groups-sync/contracts';

/** What a criterion's value must be, as JSON Schema, so that a UI can build the form. */
function valueSchema(spec: CriterionTypeSpec): Record<string, unknown> | null {
  switch (spec.valueType) {
    case 'days': return { type: 'integer', minimum: 0, maximum: 36_500, description: 'days' };
    case 'percent': return { type: 'number', minimum: 0, maximum: 100 };
    case 'boolean': return { type: 'boolean' };
    case 'date': return { type: 'string', format: 'date' };
    case 'country_code': return { type: 'string', pattern: '^[A-Z]{2}$', description: 'ISO 3166-1 alpha-2' };
    case 'language_code': return { type: 'string', pattern: '^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$', description: 'BCP 47' };
    case 'enrollment_mode': return { type: 'string', enum: ENROLLMENT_MODES };
    case 'none': return null;
  }
}

function configSchema(spec: CriterionTypeSpec): Record<string, unknown> {
  const fields = spec.legacy?.config ?? {};
  return {
    type: 'object', additionalProperties: false,
    properties: Object.fromEntries(Object.entries(fields).map(([name, kind]) => [name,
      kind === 'positive_integer' ? { type: 'integer', minimum: 1 } : kind === 'enrollment_mode' ? { type: 'string', enum: ENROLLMENT_MODES } : { type: 'string', minLength: 1, maxLength: 255 }])),
    ...(spec.legacy?.oneOf ? { oneOf: spec.legacy.oneOf.map((f) => ({ required: [f] })) } : {}),
  };
}

/** The criterion types groups accept, for a UI's criteria form (the upstream POC's `available-criteria/`). */
@ApiTags('criteria')
@ApiBearerAuth()
@UseGuards(JwtAuthGuard)
@Controller('api/user-groups/v1/criterion-types')
export class CriterionTypesController {
  @ApiOperation({ summary: 'Each criterion type with its scopes, operators, value type and schema, config schema, backend and default cadence' })
  @Get()
  list() {
    return {
      results: Object.values(CRITERION_TYPES).map((spec) => ({
        id: spec.id, version: spec.version, description: spec.description, scopes: spec.scopes, operators: spec.operators,
        value_type: spec.valueType, value_schema: valueSchema(spec), config_schema: configSchema(spec), backend: spec.backend,
        legacy_kind: spec.legacy?.kind ?? null, default_refresh_seconds: spec.defaultRefreshSeconds, stale_on: spec.staleOn,
      })),
    };
  }
}
