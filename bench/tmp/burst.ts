import { ConfluentSchemaRegistry, EventCodec, EventType, newEventMetadata } from '@groups-sync/contracts';
import { createKafka, MessageProducer } from '@groups-sync/messaging';
import { http, stackEnv } from '@groups-sync/testing';
import { createConnection } from 'mysql2/promise';
import { accessToken, API } from '../../bench/bench-support';
(async () => {
  const env = stackEnv();
  const token = await accessToken();
  const course = `course-v1:Burst+P+${Date.now()}`;
  const g = await http('POST', `${API}/groups`, { scope_type: 'course', scope_key: course, name: 'B', kind: 'legacy', criteria: [{ type: 'legacy_cohort' }] }, { authorization: `JWT ${token}` });
  for (;;) { const r = await http('GET', `${API}/groups/${g.body.id}`, undefined, { authorization: `JWT ${token}` }); if (r.body.legacy_link?.cohort_id) break; await new Promise((r) => setTimeout(r, 100)); }
  const codec = new EventCodec(new ConfluentSchemaRegistry(env.SCHEMA_REGISTRY_URL), null);
  const N = Number(process.argv[2] ?? 3000);
  const base = 1_500_000_000 + Math.floor(Math.random() * 1e8);
  const msgs = await Promise.all(Array.from({ length: N }, (_, i) => codec.encode(EventType.CohortMembershipChanged, { cohort: { user: { id: base + i, is_active: true, pii: { username: `b${base + i}`, email: '', name: '' } }, course: { course_key: course, display_name: '', start: null, end: null }, name: 'B' } }, newEventMetadata(EventType.CohortMembershipChanged, 'lms'))));
  const producer = new MessageProducer(createKafka({ clientId: 'burst', brokers: env.KAFKA_BROKERS.split(',') }));
  await producer.warmUp();
  const db = await createConnection({ host: '127.0.0.1', user: 'root', database: 'groups_service' });
  const t0 = performance.now();
  for (let i = 0; i < N; i += 500) await producer.send(msgs.slice(i, i + 500));
  for (;;) { const [[r]]: any = await db.query('SELECT COUNT(*) n FROM membership WHERE group_id = ? AND active = 1', [g.body.id]); if (Number(r.n) >= N) break; await new Promise((r) => setTimeout(r, 20)); }
  console.log(`${N} in ${(performance.now() - t0).toFixed(0)} ms`);
  process.exit(0);
})();
