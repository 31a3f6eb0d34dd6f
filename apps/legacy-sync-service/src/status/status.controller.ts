import { Controller, Get, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { assertOperator, CurrentPrincipal, JwtAuthGuard, Principal } from '@groups-sync/auth';
import { CONSUMER_GROUP_TOPICS } from '@groups-sync/contracts';
import { ConsumerLag, OutboxRelay, StreamStatus } from '@groups-sync/messaging';
import { DeadLetters } from '../dead-letters/dead-letters.service';
import { LmsWritePauses } from '../lms-writes/lms-write-pauses';
import { ReconciliationRuns } from '../reconciliation/reconciliation-runs';

/** What operators look at first: lag, dead letters, this service's outbox, pauses, reconciliations. */
@ApiTags('status')
@ApiBearerAuth()
@UseGuards(JwtAuthGuard)
@Controller('api/legacy-sync/v1/status')
export class StatusController {
  constructor(
    private readonly lag: ConsumerLag,
    private readonly deadLetters: DeadLetters,
    private readonly pauses: LmsWritePauses,
    private readonly runs: ReconciliationRuns,
    private readonly relay: OutboxRelay,
    private readonly streams: StreamStatus,
  ) {}

  @ApiOperation({
    summary:
      'Consumer lag per group, LMS Redis stream backlogs and gaps, dead letters per group (total and open, counted from the topic offsets, no letter read), outbox backlog, LMS write pauses, last reconciliation per course',
  })
  @Get()
  async status(@CurrentPrincipal() principal: Principal) {
    assertOperator(principal);
    const [lag, deadLetters, pauses, lastReconciliations, outbox, streams] = await Promise.all([
      this.lag.all(CONSUMER_GROUP_TOPICS),
      this.deadLetters.counts(),
      this.pauses.list(),
      this.runs.lastPerCourse(),
      this.relay.backlogStats(),
      this.streams.read(CONSUMER_GROUP_TOPICS).catch((e: Error) => ({ error: e.message })),
    ]);
    return {
      consumer_lag: lag,
      // The LMS's Redis streams (LMS_EVENT_BUS redis or both): unread entries per group, and entries lost before they were read.
      lms_streams: { enabled: this.streams.enabled, ...streams },
      dead_letters: deadLetters,
      outbox: {
        'legacy-sync-service': {
          backlog: outbox.backlog,
          oldest_age_seconds: outbox.oldestAgeSeconds,
          parked: outbox.parked,
          held: outbox.held,
        },
      },
      lms_writes: { paused: pauses.length > 0, pauses },
      reconciliations: { recent: await this.runs.list(10), last_per_course: lastReconciliations },
    };
  }
}
