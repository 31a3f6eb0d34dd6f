// Sync latency per direction on the running stack (`npm start`), next to the raw Kafka baseline
// measured in the same run. Prints figures; asserts nothing.   npm run bench [-- <samples>]
import { createKafka, MessageProducer, provisionTopics, TopicReader } from '@groups-sync/messaging';
import { http, stackEnv, uniqueSuffix } from '@groups-sync/testing';
import { accessToken, API, LMS, percentiles } from './bench-support';

const SAMPLES = Number(process.argv[2] ?? 50);
const COURSE = `course-v1:Bench+Sync+${uniqueSuffix()}`;

async function waitFor(check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 2));
  }
}

async function kafkaBaseline(): Promise<number[]> {
  const kafka = createKafka({ clientId: 'bench', brokers: stackEnv().KAFKA_BROKERS.split(',') });
  const topic = `bench-baseline-${uniqueSuffix()}`;
  await provisionTopics(kafka, [{ name: topic, partitions: 1 }]);
  const producer = new MessageProducer(kafka);
  const reader = new TopicReader(kafka, [topic]);
  await reader.start();
  await producer.warmUp();
  const latencies: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const t0 = performance.now();
    await producer.send([{ topic, key: Buffer.from('k'), value: Buffer.from(String(i)), headers: {} }]);
    await waitFor(async () => reader.messages.length > i);
    latencies.push(performance.now() - t0);
  }
  await reader.stop();
  await producer.disconnect();
  return latencies;
}

async function main(): Promise<void> {
  const token = await accessToken();
  const auth = { authorization: `JWT ${token}` };
  const lms = (method: string, path: string, body?: unknown) =>
    http(method, `${LMS}/api/cohorts/v1/courses/${COURSE}${path}`, body, auth);
  const groups = (method: string, path: string, body?: unknown) => http(method, `${API}${path}`, body, auth);

  // A course of the LMS (the emulator answers 404 for one it does not have), before its cohort.
  const course = await http('POST', `${LMS}/emulator/courses`, { course_id: COURSE });
  if (course.status !== 201) throw new Error(`emulator course: ${course.status} ${JSON.stringify(course.body)}`);
  const group = await groups('POST', '/groups', {
    scope_type: 'course',
    scope_key: COURSE,
    name: 'Bench',
    kind: 'legacy',
    criteria: [{ type: 'legacy_cohort' }],
  });
  let cohortId = 0;
  await waitFor(
    async () => (cohortId = (await groups('GET', `/groups/${group.body.id}`)).body.legacy_link?.cohort_id ?? 0) > 0,
  );
  const cohortHas = async (username: string) => {
    for (let page = 1; ; page++) {
      const res = await lms('GET', `/cohorts/${cohortId}/users/?page_size=100&page=${page}`);
      if (res.status !== 200) return false;
      if (res.body.results.some((u: { username: string }) => u.username === username)) return true;
      if (!res.body.next) return false;
    }
  };
  const inGroup = async (userId: number) =>
    (await groups('GET', `/users/${userId}/groups`)).body.results.some((g: { id: string }) => g.id === group.body.id);

  const toLegacy: number[] = [];
  const fromLegacy: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    for (const [direction, list] of [
      ['out', toLegacy],
      ['in', fromLegacy],
    ] as const) {
      const username = `bench-${direction}-${i}-${uniqueSuffix()}`;
      const user = await http('POST', `${LMS}/emulator/users`, { username });
      await http('POST', `${LMS}/emulator/enrollments`, { username, course_id: COURSE });
      const t0 = performance.now();
      if (direction === 'out') {
        await groups('POST', `/groups/${group.body.id}/members`, { members: [{ user_id: user.body.id, username }] });
        await waitFor(() => cohortHas(username));
      } else {
        await lms('POST', `/cohorts/${cohortId}/users/`, { users: [username] });
        await waitFor(() => inGroup(user.body.id));
      }
      list.push(performance.now() - t0);
    }
  }
  const baseline = await kafkaBaseline();
  console.log(`sync latency, ${SAMPLES} samples each (API call until the other side's API shows the change)`);
  console.log(`  Kafka produce→consume (baseline)   ${percentiles(baseline)}`);
  console.log(`  User Group → cohort                ${percentiles(toLegacy)}`);
  console.log(`  cohort → User Group                ${percentiles(fromLegacy)}`);
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
