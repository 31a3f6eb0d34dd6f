import { join } from 'node:path';
import { EventType } from '@groups-sync/contracts';
import { expectConsistently, expectEventually, http } from '@groups-sync/testing';
import { COURSE, System } from './support/system';

/**
 * Criterion types as installed: the evaluator announces its built-ins and plugins (one from a
 * package named in CRITERIA_PLUGINS, one that fails to load), groups-service accepts exactly those,
 * a plugin that goes missing stops its groups' refreshes with the error shown (members kept), and a
 * request may decline the evaluation at once.
 */
const PLUGIN = join(__dirname, '..', '..', '..', 'dist', 'libs', 'criteria-plugin-example', 'src', 'index.js');

describe('criterion types: what the evaluator installed is what groups accept', () => {
  const system = new System(
    60,
    {},
    { evaluator: true, evaluatorEnv: { CRITERIA_PLUGINS: `${PLUGIN},no-such-criteria-package` } },
  );

  beforeAll(() => system.start(), 180_000);
  afterAll(() => system.stop(), 60_000);

  const typeIds = async () =>
    ((await system.groups('GET', '/criterion-types')).body.results as Array<{ id: string }>).map((t) => t.id);
  const membershipEvents = async (groupId: string) =>
    Number(
      (
        await system.query(
          system.groupsDatabase,
          'SELECT COALESCE(SUM(event_count), 0) AS n FROM outbox WHERE aggregate_id = ? AND event_type = ?',
          [groupId, EventType.UserGroupMembershipChanged],
        )
      )[0].n,
    );

  it("accepts a plugin's type once announced, checks its values, fills its group, and shows a plugin that failed to load", async () => {
    await expectEventually(async () => expect(await typeIds()).toContain('email_domain'), { timeoutMs: 30_000 });
    const listed = (await system.groups('GET', '/criterion-types')).body;
    expect(listed.plugin_load_errors).toEqual([expect.objectContaining({ module: 'no-such-criteria-package' })]);
    expect(listed.results.find((t: { id: string }) => t.id === 'email_domain')).toMatchObject({
      value_type: 'custom',
      value_schema: { type: 'string' },
    });

    for (const [username, email] of [
      ['ed_one', 'one@example.org'],
      ['ed_two', 'two@elsewhere.net'],
    ]) {
      await http('POST', `${system.lmsEmulator.url}/emulator/users`, { username, email });
      await http('POST', `${system.lmsEmulator.url}/emulator/enrollments`, {
        username,
        course_id: COURSE,
        mode: 'audit',
      });
    }
    const bad = await system.groups('POST', '/groups', {
      scope_type: 'course',
      scope_key: COURSE,
      name: 'Bad domain',
      kind: 'dynamic',
      criteria: [{ type: 'email_domain', value: 'not a domain' }],
    });
    expect(bad.status).toBe(400);
    expect(bad.body.details.errors).toEqual([
      { field: 'criteria[0].value', message: expect.stringContaining('a domain such as') },
    ]);

    const created = await system.groups('POST', '/groups', {
      scope_type: 'course',
      scope_key: COURSE,
      name: 'Example staff',
      kind: 'dynamic',
      criteria: [{ type: 'email_domain', value: 'example.org' }],
    });
    expect(created.status).toBe(201);
    await expectEventually(async () => expect(await system.activeUsernames(created.body.id)).toEqual(['ed_one']), {
      timeoutMs: 20_000,
    });
  });

  it('evaluates a new group at once unless the request declines, and does not re-evaluate for a rename', async () => {
    const declined = await system.groups('POST', '/groups?evaluate=false', {
      scope_type: 'course',
      scope_key: COURSE,
      name: 'Later',
      kind: 'dynamic',
      criteria: [{ type: 'enrollment_mode', operator: '=', value: 'audit' }],
    });
    expect(declined.status).toBe(201);
    const id = declined.body.id;
    await expectConsistently(async () => expect((await system.group(id)).last_refreshed_at).toBeNull(), {
      durationMs: 2000,
    });

    // A refresh asked for fills it; a rename changes who it selects not at all, so nothing is evaluated again.
    await system.groups('POST', `/groups/${id}/refresh`);
    await expectEventually(async () => expect(await system.activeUsernames(id)).toEqual(['ed_one', 'ed_two']), {
      timeoutMs: 20_000,
    });
    const refreshedAt = (await system.group(id)).last_refreshed_at;
    const renamed = await system.groups('PATCH', `/groups/${id}`, { name: 'Audit learners' }, { 'If-Match': '"1"' });
    expect(renamed.status).toBe(200);
    await expectConsistently(async () => expect((await system.group(id)).last_refreshed_at).toBe(refreshedAt), {
      durationMs: 2000,
    });

    // A change of criteria is evaluated at once.
    const changed = await system.groups(
      'PATCH',
      `/groups/${id}`,
      { criteria: [{ type: 'email_domain', value: 'elsewhere.net' }] },
      { 'If-Match': '"2"' },
    );
    expect(changed.status).toBe(200);
    await expectEventually(async () => expect(await system.activeUsernames(id)).toEqual(['ed_two']), {
      timeoutMs: 20_000,
    });
  });

  it('a plugin gone from the evaluator: its type is refused for new groups, and its groups keep their members and show why', async () => {
    const created = await system.groups('POST', '/groups', {
      scope_type: 'course',
      scope_key: COURSE,
      name: 'Kept',
      kind: 'dynamic',
      criteria: [{ type: 'email_domain', value: 'example.org' }],
    });
    const id = created.body.id;
    await expectEventually(async () => expect(await system.activeUsernames(id)).toEqual(['ed_one']), {
      timeoutMs: 20_000,
    });
    const events = await membershipEvents(id);

    await system.evaluator!.stop();
    delete system.evaluator!.env.CRITERIA_PLUGINS;
    await system.evaluator!.start();
    await expectEventually(async () => expect(await typeIds()).not.toContain('email_domain'), { timeoutMs: 30_000 });
    const refused = await system.groups('POST', '/groups', {
      scope_type: 'course',
      scope_key: COURSE,
      name: 'Too late',
      kind: 'dynamic',
      criteria: [{ type: 'email_domain', value: 'example.org' }],
    });
    expect(refused.status).toBe(400);

    expect((await system.groups('POST', `/groups/${id}/refresh`)).status).toBe(202);
    await expectEventually(
      async () =>
        expect((await system.group(id)).evaluation_error).toMatchObject({
          error: expect.stringContaining('email_domain'),
        }),
      { timeoutMs: 20_000 },
    );
    expect(await system.activeUsernames(id)).toEqual(['ed_one']);
    expect(await membershipEvents(id)).toBe(events);
  });
});
