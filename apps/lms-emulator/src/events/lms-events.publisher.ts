import { Injectable } from '@nestjs/common';
import { CohortMembershipChangedData, EventCodec, EventType, newEventMetadata } from '@groups-sync/contracts';
import { MessageProducer } from '@groups-sync/messaging';
import { LmsEmulatorConfig } from '../lms-emulator.config';

/** Publishes the way openedx-events' signal handler does: synchronously, at signal time, no outbox. */
@Injectable()
export class LmsEventsPublisher {
  constructor(private readonly codec: EventCodec, private readonly producer: MessageProducer, private readonly config: LmsEmulatorConfig) {}

  async cohortMembershipChanged(data: CohortMembershipChangedData): Promise<void> {
    if (!this.config.EMIT_EVENTS) return;
    const message = await this.codec.encode(EventType.CohortMembershipChanged, data, newEventMetadata(EventType.CohortMembershipChanged, 'lms'));
    await this.producer.send([message]);
  }
}
