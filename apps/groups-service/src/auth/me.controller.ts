import { Controller, Get, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiQuery, ApiTags } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { CurrentPrincipal, JwtAuthGuard, Principal, canManageScope } from '@groups-sync/auth';

class MeQuery {
  @IsOptional()
  @IsString()
  @MaxLength(255)
  course_key?: string;
}

/**
 * Who the caller is to this service, so a page can offer only what the API will take: global
 * staff, the courses the LMS lists them as staff of, and (with `course_key`) whether they may read
 * and manage that course's groups. The API still decides every request.
 */
@ApiTags('users')
@ApiBearerAuth()
@UseGuards(JwtAuthGuard)
@Controller('api/user-groups/v1/me')
export class MeController {
  @Get()
  @ApiQuery({ name: 'course_key', required: false })
  me(@Query() query: MeQuery, @CurrentPrincipal() principal: Principal) {
    return {
      user_id: principal.userId,
      username: principal.username,
      administrator: principal.isGlobalStaff,
      staff_courses: [...new Set(principal.courseRoles.map((r) => r.courseKey))].sort(),
      ...(query.course_key
        ? {
            course: {
              course_key: query.course_key,
              may_read: canManageScope(principal, 'course', query.course_key, 'read'),
              may_write: canManageScope(principal, 'course', query.course_key, 'write'),
            },
          }
        : {}),
    };
  }
}
