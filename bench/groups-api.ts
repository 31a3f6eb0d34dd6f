// groups-service API figures on the running stack (`npm start`): bulk add of 10,000 members in one
// request, CSV import of 10,000 rows, then member-list and users/{id}/groups latency with 100,000
// memberships in the database. Every user is a real LMS (emulator) account, resolved through the
// accounts API the first time groups-service sees it. Prints figures; asserts nothing.
//   npm run bench:groups
import { http, uniqueSuffix } from '@groups-sync/testing';
import { accessToken, API, LMS, percentiles } from './bench-support';

const BULK = 10_000;
const GROUPS = 10; // × BULK = 100,000 memberships
const SAMPLES = 300;

/** LMS accounts bench_<run>_<i>, made through the emulator's fixture endpoint. */
async function lmsUsers(run: string, from: number, count: number): Promise<Map<string, number>> {
  const ids = new Map<string, number>();
  for (let i = from; i < from + count; i += 20_000) {
    const users = Array.from({ length: Math.min(20_000, from + count - i) }, (_, k) => ({
      username: `bench_${run}_${i + k}`,
    }));
    const res = await http('POST', `${LMS}/emulator/users`, { users });
    if (res.status !== 201) throw new Error(`emulator users: ${res.status}`);
    for (const u of res.body.users as Array<{ id: number; username: string }>) ids.set(u.username, Number(u.id));
  }
  return ids;
}

async function main(): Promise<void> {
  const token = await accessToken();
  const api = (method: string, path: string, body?: unknown) =>
    http(method, `${API}${path}`, body, { authorization: `JWT ${token}` });
  const run = uniqueSuffix().replace(/\W/g, '');
  const course = `course-v1:Bench+Api+${run}`;
  const people = (GROUPS * BULK) / 2 + BULK / 2;
  const ids = await lmsUsers(run, 0, people);
  const member = (i: number) => ({ user_id: ids.get(`bench_${run}_${i}`)!, username: `bench_${run}_${i}` });

  const groupIds: string[] = [];
  const coldAdds: number[] = [];
  const warmAdds: number[] = [];
  for (let g = 0; g < GROUPS; g++) {
    const group = await api('POST', '/groups', {
      scope_type: 'course',
      scope_key: course,
      name: `Bench ${g}`,
      kind: 'manual',
    });
    groupIds.push(group.body.id);
    // Half of the users are in two groups, so users/{id}/groups returns more than one row; the
    // first half of each request was resolved by the previous one (cache), the rest is new.
    const members = Array.from({ length: BULK }, (_, i) => member(g * (BULK / 2) + i));
    const t0 = performance.now();
    const res = await api('POST', `/groups/${group.body.id}/members`, { members });
    if (res.status !== 200) throw new Error(`bulk add: ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
    if (res.body.results.some((r: { result: string }) => r.result !== 'added'))
      throw new Error('bulk add: not all added');
    (g === 0 ? coldAdds : warmAdds).push(performance.now() - t0);
  }
  const memberships = GROUPS * BULK;

  // CSV import of accounts groups-service has never seen: each is resolved through the LMS.
  const csvUsers = await lmsUsers(`${run}csv`, 0, BULK);
  const csv = `username\n${[...csvUsers.keys()].join('\n')}\n`;
  const csvGroup = await api('POST', '/groups', {
    scope_type: 'course',
    scope_key: course,
    name: 'Bench CSV',
    kind: 'manual',
  });
  let t0 = performance.now();
  const form = new FormData();
  form.append('file', new Blob([csv], { type: 'text/csv' }), 'members.csv');
  const imported = await fetch(`${API}/groups/${csvGroup.body.id}/members/csv`, {
    method: 'POST',
    headers: { authorization: `JWT ${token}` },
    body: form,
  });
  const csvMs = performance.now() - t0;
  const report = (await imported.json()) as { summary: { added: number } };
  if (report.summary?.added !== BULK)
    throw new Error(`csv import: ${imported.status} ${JSON.stringify(report).slice(0, 200)}`);
  t0 = performance.now();
  const exported = await (
    await fetch(`${API}/groups/${csvGroup.body.id}/members/csv`, { headers: { authorization: `JWT ${token}` } })
  ).text();
  const exportMs = performance.now() - t0;
  if (exported.trim().split('\n').length !== BULK + 1) throw new Error('csv export: wrong row count');

  // Bulk removal, then the same users back, on a group of its own (the 100,000 above stay).
  const removeGroup = await api('POST', '/groups', {
    scope_type: 'course',
    scope_key: course,
    name: 'Bench remove',
    kind: 'manual',
  });
  const removeMembers = Array.from({ length: BULK }, (_, i) => member(i));
  await api('POST', `/groups/${removeGroup.body.id}/members`, { members: removeMembers });
  t0 = performance.now();
  const removed = await api('POST', `/groups/${removeGroup.body.id}/members/remove`, {
    members: removeMembers.map((m) => ({ user_id: m.user_id })),
  });
  const removeMs = performance.now() - t0;
  if (removed.body.results?.filter((r: { result: string }) => r.result === 'removed').length !== BULK)
    throw new Error(`bulk remove: ${removed.status}`);
  t0 = performance.now();
  await api('POST', `/groups/${removeGroup.body.id}/members`, { members: removeMembers });
  const readdMs = performance.now() - t0;

  const listTimes: number[] = [];
  const userTimes: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const group = groupIds[i % GROUPS];
    const page = 1 + Math.floor(Math.random() * (BULK / 100));
    t0 = performance.now();
    const list = await api('GET', `/groups/${group}/members?page=${page}&page_size=100`);
    listTimes.push(performance.now() - t0);
    if (list.body.results.length !== 100) throw new Error('member page not full');
    const user = member(Math.floor(Math.random() * ((GROUPS * BULK) / 2))).user_id;
    t0 = performance.now();
    const groups = await api('GET', `/users/${user}/groups`);
    userTimes.push(performance.now() - t0);
    if (!groups.body.count) throw new Error(`user ${user} in no group`);
  }

  const rate = (ms: number) => `${(BULK / (ms / 1000)).toFixed(0)} members/s`;
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b) / xs.length;
  console.log(`groups-service API, ${memberships.toLocaleString('en')} memberships written through the API`);
  console.log(
    `  bulk add, ${BULK.toLocaleString('en')} new accounts in one request    ${coldAdds[0].toFixed(0)} ms  → ${rate(coldAdds[0])}`,
  );
  console.log(
    `  bulk add, ${BULK.toLocaleString('en')} members, half already known   ${percentiles(warmAdds)}  → ${rate(mean(warmAdds))}`,
  );
  console.log(
    `  bulk remove, ${BULK.toLocaleString('en')} members in one request      ${removeMs.toFixed(0)} ms  → ${rate(removeMs)}`,
  );
  console.log(
    `  re-add of those ${BULK.toLocaleString('en')} (reactivations)            ${readdMs.toFixed(0)} ms  → ${rate(readdMs)}`,
  );
  console.log(
    `  CSV import, ${BULK.toLocaleString('en')} rows of new accounts         ${csvMs.toFixed(0)} ms  → ${rate(csvMs)}`,
  );
  console.log(`  CSV export, ${BULK.toLocaleString('en')} members                      ${exportMs.toFixed(0)} ms`);
  console.log(`  GET members (page of 100)               ${percentiles(listTimes)}`);
  console.log(`  GET users/{id}/groups                   ${percentiles(userTimes)}`);
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
