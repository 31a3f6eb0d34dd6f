import { Inject, Injectable, Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka } from 'kafkajs';
import { allTopicSpecs } from '@groups-sync/contracts';
import { bootRetryDelayMs, KAFKA, MESSAGING_OPTIONS, MessagingOptions } from '../messaging.options';
import { kafkaReachable, provisionTopics, SINGLE_BROKER } from './kafka-client';

/**
 * The service's topics, created once Kafka answers: at boot when it is up, else in the background,
 * retrying, so that a service boots and serves its API while the broker is down (the outbox keeps
 * the changes); consumers start once the topics exist.
 */
@Injectable()
export class TopicProvisioning {
  private readonly logger = new Logger('Messaging');
  private stopped = false;
  private done?: Promise<void>;
  private provisionedNow = false;
  private triedOnce!: () => void;
  private readonly firstAttempt = new Promise<void>((resolve) => (this.triedOnce = resolve));

  constructor(
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(MESSAGING_OPTIONS) private readonly options: MessagingOptions,
  ) {}

  get provisioned(): boolean {
    return this.provisionedNow;
  }

  /** Starts provisioning; resolves after the first attempt, whether it succeeded (`provisioned`) or goes on in the background. */
  start(): Promise<void> {
    void this.whenProvisioned();
    return this.firstAttempt;
  }

  /** Resolves once the topics exist; never rejects (it keeps trying until stop()). */
  whenProvisioned(): Promise<void> {
    this.done ??= this.provisionUntilDone();
    return this.done;
  }

  stop(): void {
    this.stopped = true;
  }

  private async provisionUntilDone(): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        // A quick probe first: kafkajs's own retries would hold the boot for half a minute.
        if (await kafkaReachable(this.kafka)) {
          const created = await provisionTopics(
            this.kafka,
            allTopicSpecs(this.options.topicPrefix, undefined, this.options.deadLetterRetentionMs),
            this.options.topicReplication ?? SINGLE_BROKER,
          );
          if (created.length) this.logger.log(`created topics: ${created.join(', ')}`);
          this.provisionedNow = true;
          return;
        }
        if (attempt === 0)
          this.logger.warn(
            'Kafka is not reachable: the API serves meanwhile (changes wait in the outbox); consumers start once it answers',
          );
      } catch (error) {
        this.logger.warn(`provisioning topics failed, retrying: ${(error as Error).message}`);
      } finally {
        this.triedOnce();
      }
      await sleep(bootRetryDelayMs(attempt));
    }
    await new Promise<never>(() => undefined); // stopped: never provisioned
  }
}
