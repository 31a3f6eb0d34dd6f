import { Controller } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ConsumerGroup, DecodedEvent, EventType, Topic } from '@groups-sync/contracts';
import { ConsumeEvents, Inbox, PoisonMessageError } from '@groups-sync/messaging';
import { ChangeContext } from '../audit/change-context';
import { CriterionCatalogue } from '../groups/criterion-catalogue';
import { ChunkOutcome, EvaluationRuns } from './evaluation-runs.service';

const MAX_CHUNKS = 10_000;
const TRIGGERS = ['user', 'scheduled', 'event'];

/** Group ids are stored and compared in lower case: a sender's upper-case id names the same group. */
function lowerGroupId(event: DecodedEvent): string | null {
  const data = event.data as {
    result?: { group_id?: unknown };
    failure?: { group_id?: unknown };
    snapshot?: { group_id?: unknown };
  };
  const holder =
    event.type === EventType.EvaluationUserResult
      ? data.result
      : event.type === EventType.EvaluationFailed
        ? data.failure
        : event.type === EventType.EvaluationSnapshot
          ? data.snapshot
          : undefined;
  if (!holder || typeof holder.group_id !== 'string') return null;
  const id = holder.group_id.toLowerCase();
  holder.group_id = id;
  return id;
}

/** Dynamic groups' member sets as evaluator-service computed them, a chunk per message; the groups it could not evaluate; the criterion types it has installed. */
@Controller()
export class EvaluationSnapshotsConsumer {
  private readonly inbox: Inbox;

  constructor(
    private readonly runs: EvaluationRuns,
    dataSource: DataSource,
    private readonly criterionTypes: CriterionCatalogue,
  ) {
    this.inbox = new Inbox(dataSource, ConsumerGroup.GroupsEvaluationCommands);
  }

  /** Chunk by chunk, in order: a chunk can hold thousands of members, so each has its own transaction. */
  @ConsumeEvents({
    group: ConsumerGroup.GroupsEvaluationCommands,
    topics: [Topic.UserGroupEvaluationCommands],
    types: [
      EventType.EvaluationSnapshot,
      EventType.EvaluationFailed,
      EventType.EvaluationUserResult,
      EventType.CriterionTypesAnnounced,
    ],
  })
  async onBatch(events: DecodedEvent[]): Promise<void> {
    for (const event of events) {
      const groupId = lowerGroupId(event);
      // A message that would wait for the open run's locks closes it first: this consumer is what the run waits for.
      if (groupId && event.type !== EventType.EvaluationSnapshot)
        await this.runs.closeOpenRunHolding(
          groupId,
          `a ${event.type} message for group ${groupId} came between its chunks`,
        );
      if (event.type === EventType.CriterionTypesAnnounced)
        await this.onAnnouncement(event as DecodedEvent<EventType.CriterionTypesAnnounced>);
      else if (event.type === EventType.EvaluationFailed)
        await this.onFailure(event as DecodedEvent<EventType.EvaluationFailed>);
      else if (event.type === EventType.EvaluationUserResult)
        await this.onUserResult(event as DecodedEvent<EventType.EvaluationUserResult>);
      else await this.onSnapshot(event as DecodedEvent<EventType.EvaluationSnapshot>);
    }
  }

  /** The criterion types an evaluator has installed: new and changed criteria are checked against them from now on. */
  private async onAnnouncement(event: DecodedEvent<EventType.CriterionTypesAnnounced>): Promise<void> {
    const a = event.data.announcement;
    const bad =
      !a.source || a.source.length > 64
        ? 'source must be 1 to 64 characters'
        : Number.isNaN(new Date(a.announced_at).getTime())
          ? `announced_at "${a.announced_at}" is not a time`
          : a.types.find((t) => !/^[a-z][a-z0-9_]{0,63}$/.test(t.id) || !t.scopes.length || !t.operators.length)
            ? 'every type needs an id of lower-case letters, digits and _, scopes and operators'
            : null;
    if (bad) throw new PoisonMessageError('INVALID_DATA', bad, event);
    await this.inbox.process(event, (manager) => this.criterionTypes.record(manager, a).then(() => undefined));
  }

  private async onUserResult(event: DecodedEvent<EventType.EvaluationUserResult>): Promise<void> {
    const r = event.data.result;
    if (
      !/^[0-9a-f-]{36}$/i.test(r.group_id) ||
      !(r.user_id >= 1) ||
      !r.username ||
      Number.isNaN(new Date(r.evaluated_at).getTime())
    ) {
      throw new PoisonMessageError(
        'INVALID_DATA',
        'a user result needs a group uuid, a positive user_id, a username and an evaluated_at time',
        event,
      );
    }
    const ctx: ChangeContext = {
      actor: event.metadata.source,
      trigger: 'event',
      origin: 'criteria',
      at: new Date(),
      correlationId: event.metadata.correlationId,
      causationId: event.metadata.id,
    };
    await this.inbox.process(event, (manager) => this.runs.userResult(manager, event.data, ctx).then(() => undefined));
  }

  private async onFailure(event: DecodedEvent<EventType.EvaluationFailed>): Promise<void> {
    const f = event.data.failure;
    if (!/^[0-9a-f-]{36}$/i.test(f.group_id) || Number.isNaN(new Date(f.failed_at).getTime()))
      throw new PoisonMessageError('INVALID_DATA', 'failure needs a group uuid and a failed_at time', event);
    const ctx: ChangeContext = {
      actor: f.requested_by ?? event.metadata.source,
      trigger: TRIGGERS.includes(f.trigger) ? f.trigger : 'event',
      origin: 'criteria',
      at: new Date(),
      correlationId: event.metadata.correlationId,
      causationId: event.metadata.id,
    };
    await this.inbox.process(event, (manager) => this.runs.failed(manager, event.data, ctx));
  }

  private async onSnapshot(event: DecodedEvent<EventType.EvaluationSnapshot>): Promise<void> {
    const s = event.data.snapshot;
    const problem =
      !s.run_id || s.run_id.length > 64
        ? 'run_id must be 1 to 64 characters'
        : !/^[0-9a-f-]{36}$/i.test(s.group_id)
          ? `group_id "${s.group_id}" is not a uuid`
          : !(Number.isInteger(s.chunks) && s.chunks >= 0 && s.chunks <= MAX_CHUNKS)
            ? `chunks must be 1 to ${MAX_CHUNKS} (0 on a chunk sent before the run's count was known)`
            : !(Number.isInteger(s.chunk) && s.chunk >= 0 && s.chunk < (s.chunks || MAX_CHUNKS))
              ? `chunk ${s.chunk} is outside 0..${(s.chunks || MAX_CHUNKS) - 1}`
              : Number.isNaN(new Date(s.evaluated_at).getTime())
                ? `evaluated_at "${s.evaluated_at}" is not a time`
                : !TRIGGERS.includes(s.trigger)
                  ? `trigger "${s.trigger}" is not one of ${TRIGGERS.join(', ')}`
                  : s.members.find((m) => !(m.user_id >= 1) || !m.username)
                    ? 'every member needs a positive user_id and a username'
                    : s.members.some((m, i) => i > 0 && m.user_id <= s.members[i - 1].user_id)
                      ? 'members must be in ascending user_id order, each once (a run is applied range by range)'
                      : null;
    if (problem) throw new PoisonMessageError('INVALID_DATA', problem, event);
    const ctx: ChangeContext = {
      actor: s.requested_by ?? event.metadata.source,
      trigger: s.trigger,
      origin: 'criteria',
      at: new Date(),
      correlationId: event.metadata.correlationId,
      causationId: event.metadata.id,
    };
    // A run's last chunk commits its open run, if it has one; otherwise it applies the staged chunks.
    const last = s.chunk === s.chunks - 1;
    if (last && (await this.runs.finish(this.inbox, event, ctx))) return;
    let outcome: ChunkOutcome | null = null;
    try {
      await this.inbox.process(event, async (manager) => {
        outcome = await this.runs.receive(manager, event.data, ctx);
      });
    } catch (error) {
      if (!last) await this.runs.closeOpenRun(`chunk ${s.chunk} could not be staged`);
      throw error;
    }
    if (outcome === 'waiting' && !last) await this.runs.advance(event.data, ctx);
  }
}
