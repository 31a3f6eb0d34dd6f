// Waits until consumer groups have consumed and committed everything on their topics: the step an
// upgrade that changes Kafka keys needs (docs/adr/0003-keys-by-scope.md).
//   npm run drain -- <consumer group>=<topic>[,<topic>...] ... [--timeout <seconds>]
import { fullTopicName } from '@groups-sync/contracts';
import { consumerLag, createKafka } from '@groups-sync/messaging';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const t = args.indexOf('--timeout');
  const timeoutS = t >= 0 ? Number(args.splice(t, 2)[1]) : 600;
  const prefix = process.env.EVENT_BUS_TOPIC_PREFIX || null;
  const wanted = args.map((a) => {
    const [group, topics] = a.split('=');
    if (!group || !topics) throw new Error(`expected <consumer group>=<topic>[,<topic>], got "${a}"`);
    return {
      group: fullTopicName(group, prefix),
      topics: topics.split(',').map((topic) => fullTopicName(topic, prefix)),
    };
  });
  if (!wanted.length)
    throw new Error('usage: wait-drained <consumer group>=<topic>[,<topic>...] ... [--timeout <seconds>]');
  const kafka = createKafka({
    clientId: 'wait-drained',
    brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
  });
  const deadline = Date.now() + timeoutS * 1000;
  for (;;) {
    const lags = await Promise.all(
      wanted.map(async (w) => ({ ...w, lag: await consumerLag(kafka, w.group, w.topics) })),
    );
    const left = lags.flatMap((l) =>
      Object.entries(l.lag)
        .filter(([, n]) => n > 0)
        .map(([topic, n]) => `${l.group} on ${topic}: ${n}`),
    );
    if (!left.length) {
      console.log('drained');
      return;
    }
    if (Date.now() > deadline) throw new Error(`not drained after ${timeoutS} s: ${left.join('; ')}`);
    console.log(`waiting: ${left.join('; ')}`);
    await new Promise((r) => setTimeout(r, 2000));
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error((error as Error).message);
    process.exit(1);
  },
);
