import { Body, Controller, Get, HttpCode, Post, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { assertOperator, callerName, CurrentPrincipal, JwtAuthGuard, Principal } from '@groups-sync/auth';
import { isCourseKey } from '@groups-sync/contracts';
import { DomainException } from '@groups-sync/observability';
import { ALL_COURSES, LmsWritePauses } from './lms-write-pauses';

class PauseDto {
  @IsOptional()
  @IsString()
  @MaxLength(255)
  course_key?: string;
}

function courseOf(dto: PauseDto): string {
  if (dto.course_key === undefined) return ALL_COURSES;
  if (!isCourseKey(dto.course_key))
    throw new DomainException('INVALID_COURSE_KEY', 'invalid', `"${dto.course_key}" is not a course key`);
  return dto.course_key;
}

/** Pausing writes to the LMS (a maintenance window): changes keep queueing in Kafka and go out on resume. */
@ApiTags('lms writes')
@ApiBearerAuth()
@UseGuards(JwtAuthGuard)
@Controller('api/legacy-sync/v1/lms-writes')
export class LmsWritesController {
  constructor(private readonly pauses: LmsWritePauses) {}

  @Get('pauses')
  async list(@CurrentPrincipal() principal: Principal) {
    assertOperator(principal);
    return { pauses: await this.pauses.list() };
  }

  @ApiOperation({ summary: 'Pauses writes to the LMS for one course (`course_key`) or for all' })
  @Post('pause')
  @HttpCode(200)
  async pause(@Body() dto: PauseDto, @CurrentPrincipal() principal: Principal) {
    assertOperator(principal);
    const course = courseOf(dto);
    await this.pauses.pause(course, callerName(principal));
    return { paused: course, pauses: await this.pauses.list() };
  }

  @ApiOperation({ summary: 'Resumes one course (`course_key`), or lifts every pause' })
  @Post('resume')
  @HttpCode(200)
  async resume(@Body() dto: PauseDto, @CurrentPrincipal() principal: Principal) {
    assertOperator(principal);
    const lifted = await this.pauses.resume(courseOf(dto));
    return { lifted, pauses: await this.pauses.list() };
  }
}
