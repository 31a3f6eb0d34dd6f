import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateNested,
} from 'class-validator';
import { OPERATORS, SCOPE_TYPES, ScopeType } from '@groups-sync/contracts';

export class CriterionDto {
  @ApiProperty({ example: 'legacy_cohort', description: 'A type from the criterion catalogue' })
  @IsString()
  @MaxLength(64)
  type: string;

  @ApiPropertyOptional({ enum: OPERATORS, default: '=' })
  @IsOptional()
  @IsString()
  @MaxLength(16)
  operator?: string;

  @ApiPropertyOptional({ description: 'Type-specific: a number, string, boolean or list' })
  @IsOptional()
  value?: unknown;

  @ApiPropertyOptional({
    example: { cohort_id: 12 },
    description:
      'Legacy criteria: which legacy group (legacy_cohort: omit cohort_id to create a cohort named after the group)',
  })
  @IsOptional()
  @IsObject()
  config?: Record<string, unknown>;
}

export class CreateGroupDto {
  @ApiProperty({ enum: SCOPE_TYPES })
  @IsIn(SCOPE_TYPES)
  scope_type: ScopeType;

  @ApiPropertyOptional({
    example: 'course-v1:DemoX+Sync+2026',
    description: 'Course key, organization short name, or empty for instance scope',
  })
  @IsOptional()
  @IsString()
  @MaxLength(255)
  scope_key?: string;

  @ApiProperty({ example: 'Section A' })
  @IsString()
  @MinLength(1)
  @MaxLength(255)
  name: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(10_000)
  description?: string;

  @ApiProperty({ enum: ['manual', 'dynamic', 'legacy'] })
  @IsIn(['manual', 'dynamic', 'legacy'])
  kind: 'manual' | 'dynamic' | 'legacy';

  @ApiPropertyOptional({ type: [CriterionDto] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(3)
  @ValidateNested({ each: true })
  @Type(() => CriterionDto)
  criteria?: CriterionDto[];

  @ApiPropertyOptional({ default: true })
  @IsOptional()
  @IsBoolean()
  enabled?: boolean;

  @ApiPropertyOptional({ description: 'Overrides the refresh cadence of a dynamic group, in seconds' })
  @IsOptional()
  @IsInt()
  @Min(60)
  @Max(31_536_000)
  refresh_cadence_seconds?: number;

  @ApiPropertyOptional({ description: 'Exclusivity collection: a user is in at most one group of it' })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(255)
  collection?: string;

  @ApiPropertyOptional({
    default: false,
    description:
      "A manual group: copied, empty, into a rerun of its course (its members never are). Other kinds carry over by their kind's rule.",
  })
  @IsOptional()
  @IsBoolean()
  carry_over_on_rerun?: boolean;
}
