import { Body, Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { IsString, MaxLength } from 'class-validator';
import { assertCanManageScope, CurrentPrincipal, JwtAuthGuard, Principal } from '@groups-sync/auth';
import { normalizeScope } from '../groups/scope';
import { RerunsService } from './reruns.service';

class RerunDto {
  @IsString()
  @MaxLength(255)
  source_course_key: string;

  @IsString()
  @MaxLength(255)
  course_key: string;
}

/** A rerun told by hand, for sites without the read-only LMS database path (LMS_DB_URL). */
@ApiTags('reruns')
@ApiBearerAuth()
@UseGuards(JwtAuthGuard)
@Controller('api/user-groups/v1/reruns')
export class RerunsController {
  constructor(private readonly reruns: RerunsService) {}

  @ApiOperation({
    summary:
      "Carries the source run's groups into the new run, once: criteria-based groups, cohort-linked ones and tracks the new run offers; manual ones only with carry_over_on_rerun, and never their members. `applied` says whether this call did it (false: an earlier notice had, and nothing changed)",
  })
  @Post()
  @HttpCode(200)
  async rerun(@Body() dto: RerunDto, @CurrentPrincipal() principal: Principal) {
    const source = normalizeScope('course', dto.source_course_key);
    const target = normalizeScope('course', dto.course_key);
    assertCanManageScope(principal, 'course', target, 'write');
    assertCanManageScope(principal, 'course', source, 'read');
    const { applied, rerun } = await this.reruns.apply(source, target, {
      by: 'api',
      requestedBy: principal.username,
    });
    return { applied, ...rerun };
  }
}
