import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { CriterionTypesAnnouncedData, EventType, toAnnouncedType, toCeTime } from '@groups-sync/contracts';
import { OutboxWriter } from '@groups-sync/messaging';
import { CriteriaRegistry } from './criteria-registry';

export const ANNOUNCEMENT_SOURCE = 'evaluator-service';

/** What this evaluator has installed (built-ins and plugins) and which plugin packages failed to load. */
export function criterionTypesAnnouncement(registry: CriteriaRegistry, at: Date): CriterionTypesAnnouncedData {
  return {
    announcement: {
      source: ANNOUNCEMENT_SOURCE,
      announced_at: toCeTime(at),
      types: registry
        .all()
        .filter((p) => !p.spec.legacy)
        .map((p) => toAnnouncedType(p.spec)),
      load_errors: registry.loadErrors,
    },
  };
}

/**
 * Tells groups-service, at every start, which criterion types this evaluator can evaluate: groups
 * are validated against them, and `GET /criterion-types` lists them. Through the outbox, so a
 * broker that is down at start delays the announcement instead of losing it.
 */
@Injectable()
export class CriterionAnnouncer implements OnApplicationBootstrap {
  private readonly logger = new Logger(CriterionAnnouncer.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly registry: CriteriaRegistry,
    private readonly outbox: OutboxWriter,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const data = criterionTypesAnnouncement(this.registry, new Date());
    await this.dataSource.transaction((manager) =>
      this.outbox.append(manager, EventType.CriterionTypesAnnounced, data, {}),
    );
    this.logger.log(`announced criterion types: ${data.announcement.types.map((t) => t.id).join(', ')}`);
  }
}
