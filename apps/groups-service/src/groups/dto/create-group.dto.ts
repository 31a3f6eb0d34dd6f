import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsIn, IsObject, IsOptional, IsString, MaxLength, MinLength, ValidateNested } from 'class-validator';

export class CriterionDto {
  @ApiProperty({ example: 'legacy_cohort' })
  @IsString() @MaxLength(64)
  type: string;

  @ApiPropertyOptional({ example: '=' })
  @IsOptional() @IsString() @MaxLength(16)
  operator?: string;

  @ApiPropertyOptional()
  @IsOptional()
  value?: unknown;

  @ApiPropertyOptional({ example: { cohort_id: 12 }, description: 'legacy_cohort: omit cohort_id to create a new cohort named after the group' })
  @IsOptional() @IsObject()
  config?: Record<string, unknown>;
}

export class CreateGroupDto {
  @ApiProperty({ enum: ['course'] })
  @IsIn(['course'])
  scope_type: 'course';

  @ApiProperty({ example: 'course-v1:DemoX+Sync+2026' })
  @IsString() @MaxLength(255)
  scope_key: string;

  @ApiProperty({ example: 'Section A' })
  @IsString() @MinLength(1) @MaxLength(255)
  name: string;

  @ApiPropertyOptional()
  @IsOptional() @IsString() @MaxLength(10_000)
  description?: string;

  @ApiProperty({ enum: ['manual', 'legacy'] })
  @IsIn(['manual', 'legacy'])
  kind: 'manual' | 'legacy';

  @ApiPropertyOptional({ type: [CriterionDto] })
  @IsOptional() @IsArray() @ArrayMaxSize(3) @ValidateNested({ each: true }) @Type(() => CriterionDto)
  criteria?: CriterionDto[];
}
