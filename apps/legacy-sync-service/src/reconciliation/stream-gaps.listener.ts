import { Injectable, OnModuleInit } from '@nestjs/common';
import { EventConsumers } from '@groups-sync/messaging';
import { ReconciliationRuns } from './reconciliation-runs';

/**
 * The LMS's events that a trimmed Redis stream lost can be recovered only from the LMS itself: a gap
 * found by any of this service's stream readers queues a site-wide reconciliation.
 */
@Injectable()
export class StreamGapsListener implements OnModuleInit {
  constructor(
    private readonly consumers: EventConsumers,
    private readonly runs: ReconciliationRuns,
  ) {}

  onModuleInit(): void {
    this.consumers.onStreamGap((gap) => this.runs.afterStreamGap(gap.stream));
  }
}
