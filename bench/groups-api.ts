// groups-service API figures on the running stack (`npm start`): bulk add of 10,000 members in one
// request, then member-list and users/{id}/groups latency with 100,000 memberships in the database.
// Prints figures; asserts nothing.   npm run bench:groups
import { http, uniqueSuffix } from '@groups-sync/testing';
import { accessToken, API, LMS, percentiles } from './bench-support';

const BULK = 10_000;
const GROUPS = 10; // × BULK = 100,000 memberships
const SAMPLES = 300;

async function main(): Promise<void> {
  const token = await accessToken();
  const api = (method: string, path: string, body?: unknown) => http(method, `${API}${path}`, body, { authorization: `JWT ${token}` });
  const course = `course-v1:Bench+Api+${uniqueSuffix()}`;
  const base = 10_000_000 + Math.floor(Math.random() * 1_000_000) * 100;

  const groupIds: string[] = [];
  const addTimes: number[] = [];
  for (let g = 0; g < GROUPS; g++) {
    const group = await api('POST', '/groups', { scope_type: 'course', scope_key: course, name: `Bench ${g}`, kind: 'manual' });
    groupIds.push(group.body.id);
    // Half of the users are in two groups, so users/{id}/groups returns more than one row.
    const first = base + g * (BULK / 2);
    const members = Array.from({ length: BULK }, (_, i) => ({ user_id: first + i, username: `bench_${first + i}` }));
    const t0 = performance.now();
    const res = await api('POST', `/groups/${group.body.id}/members`, { members });
    if (res.status !== 200) throw new Error(`bulk add: ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
    addTimes.push(performance.now() - t0);
  }
  const memberships = GROUPS * BULK;

  const listTimes: number[] = [];
  const userTimes: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const group = groupIds[i % GROUPS];
    const page = 1 + Math.floor(Math.random() * (BULK / 100));
    let t0 = performance.now();
    const list = await api('GET', `/groups/${group}/members?page=${page}&page_size=100`);
    listTimes.push(performance.now() - t0);
    if (list.body.results.length !== 100) throw new Error('member page not full');
    const user = base + Math.floor(Math.random() * (GROUPS * BULK / 2));
    t0 = performance.now();
    const groups = await api('GET', `/users/${user}/groups`);
    userTimes.push(performance.now() - t0);
    if (!groups.body.count) throw new Error(`user ${user} in no group`);
  }

  console.log(`groups-service API, ${memberships.toLocaleString('en')} memberships written through the API`);
  console.log(`  bulk add, ${BULK.toLocaleString('en')} members per request   ${percentiles(addTimes)}  → ${(BULK / (addTimes.reduce((a, b) => a + b) / addTimes.length / 1000)).toFixed(0)} members/s`);
  console.log(`  GET members (page of 100)               ${percentiles(listTimes)}`);
  console.log(`  GET users/{id}/groups                   ${percentiles(userTimes)}`);
}

main().then(() => process.exit(0), (error) => {
  console.error(error);
  process.exit(1);
});
