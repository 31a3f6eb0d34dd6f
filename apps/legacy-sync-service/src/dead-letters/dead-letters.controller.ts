import { DEAD_LETTER_ID } from '@groups-sync/messaging';
import { Body, Controller, Get, HttpCode, Param, Post, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsISO8601, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { assertOperator, callerName, CurrentPrincipal, JwtAuthGuard, Principal } from '@groups-sync/auth';
import { ConsumerGroup } from '@groups-sync/contracts';
import { DomainException } from '@groups-sync/observability';
import {
  DEAD_LETTER_PAGE_MAX,
  DeadLetterFilter,
  DeadLetterPageRequest,
  DeadLetters,
  deadLetterView,
} from './dead-letters.service';

class DeadLetterFilterDto {
  @IsOptional()
  @IsIn(Object.values(ConsumerGroup))
  consumer_group?: string;

  @IsOptional()
  @IsString()
  @MaxLength(100)
  reason?: string;

  @IsOptional()
  @IsString()
  @MaxLength(255)
  type?: string;

  @IsOptional()
  @IsISO8601()
  since?: string;

  @IsOptional()
  @IsString()
  @MaxLength(320)
  id?: string;

  @IsOptional()
  @IsIn(['open', 'replayed', 'resolved', 'all'])
  state?: 'open' | 'replayed' | 'resolved' | 'all';

  /** Dead letters read for this page (the filters may keep fewer). */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(DEAD_LETTER_PAGE_MAX)
  limit?: number;

  /** The previous page's `next_after`. */
  @IsOptional()
  @IsString()
  @MaxLength(320)
  @Matches(DEAD_LETTER_ID)
  after?: string;
}

class DeadLetterActionDto extends DeadLetterFilterDto {
  @IsOptional()
  @IsBoolean()
  dry_run?: boolean;

  @IsOptional()
  @IsString()
  @MaxLength(500)
  note?: string;
}

function filterOf(dto: DeadLetterFilterDto): DeadLetterFilter {
  return {
    consumerGroup: dto.consumer_group,
    reason: dto.reason,
    type: dto.type,
    since: dto.since ? new Date(dto.since) : undefined,
    id: dto.id,
    state: dto.state,
  };
}

function pageOf(dto: DeadLetterFilterDto): DeadLetterPageRequest {
  return { limit: dto.limit, after: dto.after };
}

/**
 * The dead letters of every consumer group, a page at a time (`limit`, `after`: the previous page's
 * `next_after`): list, show, replay into the group's retry topic, resolve.
 */
@ApiTags('dead letters')
@ApiBearerAuth()
@UseGuards(JwtAuthGuard)
@Controller('api/legacy-sync/v1/dead-letters')
export class DeadLettersController {
  constructor(private readonly deadLetters: DeadLetters) {}

  @Get()
  async list(@Query() query: DeadLetterFilterDto, @CurrentPrincipal() principal: Principal) {
    assertOperator(principal);
    const { letters, next } = await this.deadLetters.list(filterOf(query), pageOf(query));
    return { count: letters.length, results: letters.map(deadLetterView), next_after: next };
  }

  @ApiOperation({
    summary: 'One dead letter (`topic:partition:offset`), with its headers and its event decoded where it can be',
  })
  @Get(':id')
  async show(@Param('id') id: string, @CurrentPrincipal() principal: Principal) {
    assertOperator(principal);
    if (!DEAD_LETTER_ID.test(id))
      throw new DomainException('INVALID_DEAD_LETTER_ID', 'invalid', 'a dead letter is named TOPIC:PARTITION:OFFSET');
    const letter = await this.deadLetters.show(id);
    if (!letter) throw new DomainException('DEAD_LETTER_NOT_FOUND', 'not_found', `no dead letter ${id}`);
    return letter;
  }

  @ApiOperation({
    summary:
      "Replays the open dead letters of one page the filter selects into their consumer groups' retry topics (same key, value and ce_* headers); a retired learner's are not replayed",
  })
  @Post('replays')
  @HttpCode(200)
  async replay(@Body() dto: DeadLetterActionDto, @CurrentPrincipal() principal: Principal) {
    assertOperator(principal);
    return this.deadLetters.replay(filterOf(dto), callerName(principal), dto.dry_run === true, pageOf(dto));
  }

  @ApiOperation({
    summary: 'Marks the open dead letters of one page the filter selects as handled, without replaying them',
  })
  @Post('resolutions')
  @HttpCode(200)
  async resolve(@Body() dto: DeadLetterActionDto, @CurrentPrincipal() principal: Principal) {
    assertOperator(principal);
    return this.deadLetters.resolve(filterOf(dto), callerName(principal), dto.note, dto.dry_run === true, pageOf(dto));
  }
}
