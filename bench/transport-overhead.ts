// What declaring consumers the NestJS way costs: a batch handed to a @ConsumeEvents handler
// through the custom transport (Nest's handler pipeline: filters, interceptors, an observable)
// against calling the same method directly. Needs no running stack.   npm run bench:transport
import 'reflect-metadata';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ConsumerGroup, DecodedEvent, EventType, newEventMetadata, Topic } from '@groups-sync/contracts';
import { ConsumeEvents, EventConsumers, EventConsumersTransport, HandlerContext } from '@groups-sync/messaging';

let handled = 0;

@Controller()
class Probe {
  @ConsumeEvents({
    group: ConsumerGroup.GroupsLegacyCommands,
    topics: [Topic.UserGroupLegacyCommands],
    types: [EventType.LegacySyncCompleted],
  })
  async onBatch(events: DecodedEvent[]): Promise<void> {
    handled += events.length;
  }
}

@Module({ controllers: [Probe] })
class ProbeModule {}

async function main(): Promise<void> {
  const app = await NestFactory.create(ProbeModule, { logger: false });
  // The transport registers consumers; a stand-in collects them instead of starting kafkajs.
  const registered: Array<{ handle: (events: DecodedEvent[], context: HandlerContext) => Promise<void> }> = [];
  const consumers = {
    register: (o: { batch: { handle: (e: DecodedEvent[], c: HandlerContext) => Promise<void> } }) =>
      registered.push(o.batch),
    startAll: async () => undefined,
    stopAll: async () => undefined,
  };
  app.connectMicroservice({ strategy: new EventConsumersTransport(consumers as unknown as EventConsumers) });
  await app.startAllMicroservices();
  const events = Array.from(
    { length: 100 },
    () =>
      ({
        type: EventType.LegacySyncCompleted,
        metadata: newEventMetadata(EventType.LegacySyncCompleted, 'x'),
        data: {},
        key: null,
      }) as unknown as DecodedEvent,
  );
  const context = { topic: 't', partition: 0, offset: '0', attempt: 1, heartbeat: async () => undefined };
  const probe = app.get(Probe);
  const rounds = 20_000;
  const time = async (call: () => Promise<void>) => {
    for (let i = 0; i < 2000; i++) await call(); // warm-up
    const t0 = performance.now();
    for (let i = 0; i < rounds; i++) await call();
    return ((performance.now() - t0) * 1000) / rounds;
  };
  const viaNest = await time(() => registered[0].handle(events, context));
  const direct = await time(() => probe.onBatch(events));
  console.log(
    `per batch of 100 events: through the Nest transport ${viaNest.toFixed(1)} µs, direct call ${direct.toFixed(1)} µs (${handled} events handled)`,
  );
  await app.close();
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
