import { deletedAtOrAfter, recordGroupDeleted } from '@groups-sync/persistence';
import { Controller, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ConsumerGroup, DecodedEvent, EventType, Topic } from '@groups-sync/contracts';
import { ConsumeEvents, Inbox, PoisonMessageError } from '@groups-sync/messaging';
import { CriteriaRegistry } from '../criteria/criteria-registry';
import { criteriaOf, DynamicGroupRow, RefreshRuns, RefreshTrigger } from './refresh-runs';

type Lifecycle = DecodedEvent<EventType.UserGroupCreated | EventType.UserGroupUpdated | EventType.UserGroupDeleted>;
type RefreshRequested = DecodedEvent<EventType.UserGroupRefreshRequested>;

/**
 * groups-service's lifecycle events, one at a time in order: the dynamic groups are kept here
 * (scope, criteria, enabled, frozen, cadence), one groups-service marks `evaluate_now` is evaluated at once, and a requested
 * refresh is run. Each event's effects (the group row, the run's snapshot chunks) commit with its
 * inbox row.
 */
@Controller()
export class GroupEventsConsumer {
  private readonly logger = new Logger(GroupEventsConsumer.name);
  private readonly inbox: Inbox;

  constructor(
    private readonly dataSource: DataSource,
    private readonly refreshes: RefreshRuns,
    private readonly registry: CriteriaRegistry,
  ) {
    this.inbox = new Inbox(dataSource, ConsumerGroup.EvaluatorUserGroups);
  }

  @ConsumeEvents({
    group: ConsumerGroup.EvaluatorUserGroups,
    topics: [Topic.UserGroupLifecycle],
    types: [
      EventType.UserGroupCreated,
      EventType.UserGroupUpdated,
      EventType.UserGroupDeleted,
      EventType.UserGroupRefreshRequested,
    ],
  })
  async onBatch(events: DecodedEvent[]): Promise<void> {
    for (const event of events) {
      await this.inbox.process(event, async (manager) => {
        if (event.type === EventType.UserGroupRefreshRequested) {
          const { refresh } = (event as RefreshRequested).data;
          const [group] = (await manager.query('SELECT * FROM dynamic_group WHERE group_id = ?', [
            refresh.group_id,
          ])) as DynamicGroupRow[];
          if (!group) return void this.logger.log(`refresh of ${refresh.group_id} asked for: not a dynamic group here`);
          await this.refreshes.run(manager, group, refresh.trigger as RefreshTrigger, refresh.requested_by);
          return;
        }
        const g = (event as Lifecycle).data.user_group;
        if (event.type === EventType.UserGroupDeleted) {
          await recordGroupDeleted(manager, g.id, g.version);
        } else {
          // A created or updated event older than the group's deletion (replayed, late): the group stays deleted.
          const deleted = await deletedAtOrAfter(manager, g.id, g.version, true);
          if (deleted !== null)
            return void this.logger.log(
              `${event.type} of group ${g.id} (version ${g.version}) ignored: deleted at version ${deleted}`,
            );
        }
        if (event.type === EventType.UserGroupDeleted || g.kind !== 'dynamic') {
          await manager.query('DELETE FROM dynamic_group WHERE group_id = ?', [g.id]);
          return;
        }
        let criteria: string;
        try {
          criteria = JSON.stringify(criteriaOf(g.criteria));
        } catch {
          throw new PoisonMessageError('INVALID_DATA', `group ${g.id}: criteria are not JSON`, event);
        }
        // The shortest default cadence of its criteria's types (the scheduler's due time, unless the group sets its own).
        const cadences = criteriaOf(g.criteria)
          .map((c) => this.registry.get(c.type)?.spec.defaultRefreshSeconds ?? null)
          .filter((s): s is number => s !== null);
        const cadence = cadences.length ? Math.min(...cadences) : null;
        const newer = 'VALUES(version) >= version';
        await manager.query(
          `INSERT INTO dynamic_group (group_id, scope_type, scope_key, criteria, enabled, frozen, version, cadence_seconds, cadence_override_seconds) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON DUPLICATE KEY UPDATE criteria = IF(${newer}, VALUES(criteria), criteria), enabled = IF(${newer}, VALUES(enabled), enabled),
             frozen = IF(${newer}, VALUES(frozen), frozen), cadence_seconds = IF(${newer}, VALUES(cadence_seconds), cadence_seconds),
             cadence_override_seconds = IF(${newer}, VALUES(cadence_override_seconds), cadence_override_seconds), version = GREATEST(version, VALUES(version))`,
          [
            g.id,
            g.scope_type,
            g.scope_key,
            criteria,
            g.enabled ? 1 : 0,
            g.frozen ? 1 : 0,
            g.version,
            cadence,
            g.refresh_cadence_seconds ?? null,
          ],
        );
        const [group] = (await manager.query('SELECT * FROM dynamic_group WHERE group_id = ?', [
          g.id,
        ])) as DynamicGroupRow[];
        // Evaluated at once when groups-service says so (created, criteria changed, enabled or unfrozen, not declined by the request).
        if (g.evaluate_now !== false && group.enabled && !group.frozen && group.version === g.version)
          await this.refreshes.run(manager, group, 'user', g.changed_by);
      });
    }
  }
}
