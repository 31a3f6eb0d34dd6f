import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsBoolean, IsInt, IsOptional, IsString, IsUUID, Max, MaxLength, Min } from 'class-validator';
import { assertOperator, callerName, CurrentPrincipal, JwtAuthGuard, Principal } from '@groups-sync/auth';
import { isCourseKey } from '@groups-sync/contracts';
import { DomainException } from '@groups-sync/observability';
import { ReconciliationRuns, RunScope } from './reconciliation-runs';

class RequestReconciliationDto {
  @IsOptional()
  @IsString()
  @MaxLength(255)
  course_key?: string;

  @IsOptional()
  @IsUUID()
  group_id?: string;

  @IsOptional()
  @IsBoolean()
  all?: boolean;

  @IsOptional()
  @IsBoolean()
  dry_run?: boolean;
}

class ReportPageQuery {
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  differences_offset?: number;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(10_000)
  differences_limit?: number;
}

/** Reconciliation on demand, and every run's report. Global staff, or a service client with `user_groups:write`. */
@ApiTags('reconciliations')
@ApiBearerAuth()
@UseGuards(JwtAuthGuard)
@Controller('api/legacy-sync/v1/reconciliations')
export class ReconciliationsController {
  constructor(private readonly runs: ReconciliationRuns) {}

  @ApiOperation({
    summary:
      'Queues a run for one group, one course or everything (`{"group_id"}`, `{"course_key"}` or `{"all": true}`, optional `"dry_run": true`); answers its id',
  })
  @Post()
  @HttpCode(202)
  async request(@Body() dto: RequestReconciliationDto, @CurrentPrincipal() principal: Principal) {
    assertOperator(principal);
    const given = [dto.group_id !== undefined, dto.course_key !== undefined, dto.all === true].filter(Boolean).length;
    if (given !== 1)
      throw new DomainException(
        'RECONCILIATION_SCOPE',
        'invalid',
        'give exactly one of "group_id", "course_key" or "all": true',
      );
    if (dto.course_key !== undefined && !isCourseKey(dto.course_key))
      throw new DomainException('INVALID_COURSE_KEY', 'invalid', `"${dto.course_key}" is not a course key`);
    const scope: RunScope = dto.group_id
      ? { scope_type: 'group', scope_key: dto.group_id }
      : dto.course_key
        ? { scope_type: 'course', scope_key: dto.course_key }
        : { scope_type: 'all', scope_key: null };
    const id = await this.runs.request(scope, {
      dryRun: dto.dry_run === true,
      trigger: 'api',
      requestedBy: callerName(principal),
    });
    return { id, status: 'queued', ...scope, dry_run: dto.dry_run === true };
  }

  @Get()
  async list(@CurrentPrincipal() principal: Principal) {
    assertOperator(principal);
    return { results: await this.runs.list() };
  }

  @ApiOperation({ summary: 'A run: status, progress and report (summary counts and the differences, 1000 at a time)' })
  @Get(':id')
  async get(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Query() page: ReportPageQuery,
    @CurrentPrincipal() principal: Principal,
  ) {
    assertOperator(principal);
    const run = await this.runs.get(id, {
      offset: page.differences_offset ?? 0,
      limit: page.differences_limit ?? 1000,
    });
    if (!run) throw new DomainException('RECONCILIATION_NOT_FOUND', 'not_found', `no reconciliation run ${id}`);
    return run;
  }
}
