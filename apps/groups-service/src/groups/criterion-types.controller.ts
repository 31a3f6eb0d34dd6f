import { Controller, Get, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, JwtAuthGuard, Principal } from '@groups-sync/auth';
import { mayReadDiagnostics } from '../auth/readable-scopes';
import { configSchemaOf, valueSchemaOf } from '@groups-sync/contracts';
import { CriterionCatalogue } from './criterion-catalogue';

/**
 * The criterion types groups accept (those the evaluator announced as installed, and the legacy
 * links), for a UI's criteria form (the upstream POC's `available-criteria/`).
 */
@ApiTags('criteria')
@ApiBearerAuth()
@UseGuards(JwtAuthGuard)
@Controller('api/user-groups/v1/criterion-types')
export class CriterionTypesController {
  constructor(private readonly types: CriterionCatalogue) {}

  @ApiOperation({
    summary:
      'Each installed criterion type with its scopes, operators, value type and schema, config schema, backend and default cadence; plugin_load_errors for global staff and service clients with read access',
  })
  @Get()
  async list(@CurrentPrincipal() principal: Principal) {
    const installed = await this.types.installed();
    return {
      announced_at: installed.announcedAt,
      // Load errors name the evaluator's plugins and paths: for whoever runs the site, not for every user.
      ...(mayReadDiagnostics(principal) ? { plugin_load_errors: installed.loadErrors } : {}),
      results: Object.values(installed.catalogue).map((spec) => ({
        id: spec.id,
        version: spec.version,
        description: spec.description,
        scopes: spec.scopes,
        operators: spec.operators,
        value_type: spec.valueType,
        value_schema: valueSchemaOf(spec),
        config_schema: configSchemaOf(spec),
        backend: spec.backend,
        legacy_kind: spec.legacy?.kind ?? null,
        default_refresh_seconds: spec.defaultRefreshSeconds,
        stale_on: spec.staleOn,
      })),
    };
  }
}
