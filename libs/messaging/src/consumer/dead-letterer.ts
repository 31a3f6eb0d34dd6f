import { Logger } from '@nestjs/common';
import { KafkaMessage } from 'kafkajs';
import { redactPersonalData } from '@groups-sync/observability';
import { MessageProducer } from '../kafka/message-producer';
import { deadLetters } from './consumer-metrics';
import { deadLetterHeaders } from './dead-letter';
import { PartitionRef } from './partition-map';

/** Why a message goes aside, and since when it failed. */
export interface DeadLetterCause {
  error: Error;
  reason: string;
  attempts: number;
  firstFailure: Date;
  /** Usernames, emails and names the message carries: kept out of the headers and the log. */
  personal?: Set<string>;
}

/** Sends a message of a consumer group to the group's dead-letter topic as it came, with `dlq_*` headers saying why. */
export class DeadLetterer {
  constructor(
    private readonly producer: MessageProducer,
    private readonly group: string,
    private readonly topic: string,
    private readonly logger: Logger,
  ) {}

  /** Throws if the dead-letter topic cannot be written: the caller then commits nothing. */
  async send(
    at: PartitionRef,
    message: Pick<KafkaMessage, 'offset' | 'key' | 'value' | 'headers'>,
    cause: DeadLetterCause,
  ): Promise<void> {
    const { error, reason, attempts, firstFailure, personal } = cause;
    const original: Record<string, Buffer | string> = {};
    for (const [name, value] of Object.entries(message.headers ?? {})) {
      if (value !== undefined) original[name] = Array.isArray(value) ? value[0] : value;
    }
    const headers = {
      ...original,
      ...deadLetterHeaders({
        error,
        reason,
        topic: at.topic,
        partition: at.partition,
        offset: message.offset,
        attempts,
        firstFailureTime: firstFailure,
        consumerGroup: this.group,
        personal,
      }),
    };
    await this.producer.send([{ topic: this.topic, key: message.key ?? null, value: message.value ?? null, headers }]);
    deadLetters.inc({ group: this.group, reason });
    this.logger.warn(
      `dead-lettered ${at.topic}[${at.partition}]@${message.offset}: ${reason}: ${redactPersonalData(error.message, personal)}`,
    );
  }
}
