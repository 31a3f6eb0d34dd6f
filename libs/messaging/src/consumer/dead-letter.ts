import { redactPersonalData } from '@groups-sync/observability';

/** Headers a dead-lettered message carries on top of its original ones, so an operator can see why: ids, never usernames or emails. */
export const DeadLetterHeader = {
  ErrorClass: 'dlq_error_class',
  ErrorMessage: 'dlq_error_message',
  Reason: 'dlq_reason',
  OriginalTopic: 'dlq_original_topic',
  OriginalPartition: 'dlq_original_partition',
  OriginalOffset: 'dlq_original_offset',
  Attempts: 'dlq_attempts',
  FirstFailureTime: 'dlq_first_failure_time',
  DeadLetteredAt: 'dlq_dead_lettered_at',
  ConsumerGroup: 'dlq_consumer_group',
} as const;

export interface DeadLetterInfo {
  error: Error;
  reason: string;
  topic: string;
  partition: number;
  offset: string;
  attempts: number;
  firstFailureTime: Date;
  consumerGroup: string;
  /** Usernames, emails and names the message carries: kept out of the error message. */
  personal?: Iterable<string>;
}

export function deadLetterHeaders(info: DeadLetterInfo): Record<string, string> {
  return {
    [DeadLetterHeader.ErrorClass]: info.error.name || info.error.constructor.name,
    [DeadLetterHeader.ErrorMessage]: redactPersonalData(info.error.message || '', info.personal).slice(0, 2000),
    [DeadLetterHeader.Reason]: info.reason,
    [DeadLetterHeader.OriginalTopic]: info.topic,
    [DeadLetterHeader.OriginalPartition]: String(info.partition),
    [DeadLetterHeader.OriginalOffset]: info.offset,
    [DeadLetterHeader.Attempts]: String(info.attempts),
    [DeadLetterHeader.FirstFailureTime]: info.firstFailureTime.toISOString(),
    [DeadLetterHeader.DeadLetteredAt]: new Date().toISOString(),
    [DeadLetterHeader.ConsumerGroup]: info.consumerGroup,
  };
}
