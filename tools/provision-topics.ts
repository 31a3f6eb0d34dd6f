// Creates every topic the product uses (auto-creation is off on our brokers). Idempotent.
//   node -r ./tools/register-paths.js dist/tools/provision-topics.js
import { allTopicSpecs } from '@groups-sync/contracts';
import { createKafka, provisionTopics } from '@groups-sync/messaging';

async function main(): Promise<void> {
  const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
  const prefix = process.env.EVENT_BUS_TOPIC_PREFIX || undefined;
  const created = await provisionTopics(createKafka({ clientId: 'provision-topics', brokers }), allTopicSpecs(prefix));
  console.log(created.length ? `created ${created.length} topic(s): ${created.join(', ')}` : 'all topics exist');
}

main().catch((error) => {
  console.error(`topic provisioning failed: ${(error as Error).message}`);
  process.exit(1);
});
