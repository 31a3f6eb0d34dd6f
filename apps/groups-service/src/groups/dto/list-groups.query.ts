import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { SCOPE_TYPES } from '@groups-sync/contracts';

const bool = ({ value }: { value: unknown }) => (value === 'true' ? true : value === 'false' ? false : value);

export class PageQuery {
  @ApiPropertyOptional({ default: 1 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  page?: number;

  @ApiPropertyOptional({ default: 20, maximum: 100 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  page_size?: number;
}

export class ListGroupsQuery extends PageQuery {
  @ApiPropertyOptional({ enum: SCOPE_TYPES })
  @IsOptional()
  @IsIn(SCOPE_TYPES)
  scope_type?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(255)
  scope_key?: string;

  @ApiPropertyOptional({ enum: ['manual', 'dynamic', 'legacy'] })
  @IsOptional()
  @IsIn(['manual', 'dynamic', 'legacy'])
  kind?: string;

  @ApiPropertyOptional({ description: 'Name contains (case-insensitive)' })
  @IsOptional()
  @IsString()
  @MaxLength(255)
  name?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @Transform(bool)
  @IsBoolean()
  enabled?: boolean;

  @ApiPropertyOptional({ description: 'Dynamic groups overdue for a refresh' })
  @IsOptional()
  @Transform(bool)
  @IsBoolean()
  stale?: boolean;
}

/** The history of one group: filtered by the member it concerns and by action (`member_added`, …). */
export class HistoryQuery extends PageQuery {
  @ApiPropertyOptional({ description: 'only entries about this user id' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  user_id?: number;

  @ApiPropertyOptional({ description: 'only entries of this action, e.g. member_added, member_removed' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  action?: string;
}
