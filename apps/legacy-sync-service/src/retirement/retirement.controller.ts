import { Body, Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { assertRetirementWorker, CurrentPrincipal, JwtAuthGuard, Principal } from '@groups-sync/auth';
import { DomainException } from '@groups-sync/observability';
import { LegacySyncServiceConfig } from '../legacy-sync-service.config';
import { RetireUserDto } from './retire-user.dto';
import { UserRetirementService } from './user-retirement.service';

/** The step Open edX's user retirement pipeline runs for legacy-sync-service (an extra service it retires from). */
@ApiTags('retirement')
@ApiBearerAuth()
@UseGuards(JwtAuthGuard)
@Controller('api/legacy-sync/v1')
export class RetirementController {
  constructor(
    private readonly retirement: UserRetirementService,
    private readonly config: LegacySyncServiceConfig,
  ) {}

  @ApiOperation({ summary: 'Retires a user: replaces their username in every row kept here. 204, again and again.' })
  @Post('retire')
  @HttpCode(204)
  async retire(@Body() dto: RetireUserDto, @CurrentPrincipal() principal: Principal): Promise<void> {
    assertRetirementWorker(principal, this.config.RETIREMENT_SERVICE_WORKER_USERNAME);
    const ids = [...new Set([dto.edx_lms_user_id, dto.lms_user_id].filter((id): id is number => id !== undefined))];
    if (ids.length !== 1) {
      throw new DomainException(
        'VALIDATION_FAILED',
        'invalid',
        'send the LMS user id, as edx_lms_user_id (or lms_user_id): one id',
        {
          errors: [
            {
              field: 'edx_lms_user_id',
              message: ids.length ? 'edx_lms_user_id and lms_user_id name different users' : 'required',
            },
          ],
        },
      );
    }
    await this.retirement.retire(ids[0], dto.original_username ?? null);
  }
}
