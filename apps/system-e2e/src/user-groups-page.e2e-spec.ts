import { Browser, BrowserContext, Page } from 'playwright-core';
import {
  expectEventually,
  http,
  launchChromium,
  screenshot,
  seriousAccessibilityViolations,
} from '@groups-sync/testing';
import { COURSE, System } from './support/system';
import { UserGroupsPage } from './support/user-groups-page';

const SUITE = 'user-groups-page';

/**
 * The User Groups page in Debian's Chromium against the services as processes: a course team
 * member, an operator and a learner sign in through the LMS (its emulator) and use it as they
 * would. Screenshots of each step land in .cache/screenshots/user-groups-page/.
 */
describe('the User Groups page, in a browser', () => {
  const system = new System(140, { CONSUMER_MAX_ATTEMPTS: '2', CONSUMER_BACKOFF_MAX_MS: '200' });
  const site = new UserGroupsPage(system, 146);
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const ids: Record<string, number> = {};

  beforeAll(async () => {
    await system.start();
    await Promise.all([site.start(), (async () => (browser = await launchChromium()))()]);
    await system.learner('carol');
    // Carol is course staff of COURSE (the LMS's student_courseaccessrole), nothing more.
    await http('POST', `${system.lmsEmulator.url}/emulator/tokens`, { username: 'carol', course_staff: [COURSE] });
    await system.learner('olga');
    await http('PUT', `${system.lmsEmulator.url}/emulator/learner-data`, { username: 'olga', is_staff: true });
    for (const learner of ['ana', 'ben', 'dan']) ids[learner] = await system.learner(learner);
  }, 180_000);
  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    await browser?.close();
    await site.stop();
    await system.stop();
  }, 120_000);

  /** A browser of its own for `username`, signed in through the LMS's sign-in page, as the page sends them there. */
  async function signedIn(username: string, path = ''): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(`${site.url}${path}`);
    await page.waitForURL(/\/login\?next=/);
    await page.getByLabel('Username').fill(username);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('signed-in-user').filter({ hasText: username }).waitFor();
    return page;
  }

  async function expectAccessible(page: Page, view: string) {
    const violations = await seriousAccessibilityViolations(page);
    expect({ view, violations }).toEqual({ view, violations: [] });
  }

  let groupId: string;

  it('a course team member creates a cohort-linked group, adds a member and sees it synced once the LMS confirms', async () => {
    const page = await signedIn('carol');
    await page.getByTestId('staff-courses').getByRole('link', { name: COURSE }).waitFor();
    await expectAccessible(page, 'home (course staff)');
    await screenshot(page, SUITE, '01-home-course-staff');

    await page.getByRole('link', { name: COURSE }).click();
    await page.getByTestId('group-count').waitFor();
    await page.getByTestId('no-groups').waitFor(); // an empty course says what to do, not an empty table
    await expectAccessible(page, 'course groups');
    await page.getByRole('button', { name: 'Create a group' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Name', { exact: true }).fill('Section A');
    await dialog.getByText('Linked to a cohort, a team or an enrollment track').click();
    await expectAccessible(page, 'create a group');
    await screenshot(page, SUITE, '02-create-legacy-group');
    await dialog.getByRole('button', { name: 'Create' }).click();

    await page.waitForURL(/\/user-groups\/groups\/[0-9a-f-]{36}$/);
    groupId = page.url().split('/').pop()!;
    // The new view is announced: its title, and focus on its heading.
    await page.getByRole('heading', { level: 1, name: 'Section A' }).waitFor();
    expect(await page.title()).toBe('Section A | Open edX User Groups');
    expect(await page.evaluate(() => (globalThis as any).document.activeElement?.tagName)).toBe('H1');
    await screenshot(page, SUITE, '02b-group-created');
    // legacy-sync creates the cohort in the LMS and reports the link back: the page shows it without a reload.
    await page.getByText(/cohort #\d+/).waitFor({ timeout: 20_000 });
    const cohortId = await system.cohortIdOf(groupId);

    await page.getByLabel(/Add members/).fill('ana');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.getByTestId('add-results').getByText('Added', { exact: true }).waitFor();
    const ana = page.locator('tr[data-username="ana"] [data-testid="sync-state"]');
    await ana.and(page.locator('[data-state="synced"]')).waitFor({ timeout: 20_000 });
    expect(await ana.innerText()).toBe('Synced');
    // The search field says what to type under its label, and its button says what it does.
    const search = page.getByLabel('Search members (username or email)').first();
    expect(await search.getAttribute('placeholder')).toBe('Username or email');
    // Its spoken name is what it shows (Paragon's own adds an English "submit search").
    await page.getByRole('button', { name: 'Search', exact: true }).waitFor();
    // The LMS's event that made it synced leaves before its transaction commits: the cohort shows ana soon after.
    await expectEventually(async () => expect(await system.cohortUsernames(cohortId)).toEqual(['ana']));
    await expectAccessible(page, 'group members');
    await screenshot(page, SUITE, '03-member-synced');
  });

  it('shows a member added in the LMS without a reload, and answers a CSV upload row by row', async () => {
    const page = await signedIn('carol', `groups/${groupId}`);
    await page.locator('tr[data-username="ana"]').waitFor();
    const cohortId = await system.cohortIdOf(groupId);
    const added = await system.lms('POST', `/cohorts/${cohortId}/users/`, { users: ['ben'] });
    expect(added.status).toBe(200);
    await page.locator('tr[data-username="ben"]').waitFor({ timeout: 15_000 });
    await screenshot(page, SUITE, '04-member-from-the-lms');

    await page.getByLabel(/Import a CSV/).setInputFiles({
      name: 'members.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from('username\nana\nzoe\ndan\n'),
    });
    const rows = page.getByTestId('csv-results').locator('tbody tr');
    await expectEventually(async () => expect(await rows.count()).toBe(3));
    expect(await rows.allInnerTexts()).toEqual([
      expect.stringMatching(/^2\s+ana\s+Already a member/),
      expect.stringMatching(/^3\s+zoe\s+No such user in the LMS/),
      expect.stringMatching(/^4\s+dan\s+Added/),
    ]);
    await page.locator('tr[data-username="dan"]').waitFor();
    await screenshot(page, SUITE, '05-csv-upload');

    // History, filtered by action, then by member too.
    await page.getByRole('tab', { name: 'History' }).click();
    await page.getByLabel('Action').selectOption('member_added');
    const history = page.getByTestId('history-table').locator('tbody tr');
    await expectEventually(async () => expect(await history.count()).toBe(3));
    await page.getByLabel('Member (user id)').fill(String(ids.ana));
    await expectEventually(async () => expect(await history.count()).toBe(1));
    expect(await history.first().innerText()).toContain(`member_added\t${ids.ana}`);
    await expectAccessible(page, 'history');
  });

  it('is usable by keyboard: the create dialog opens with Enter and closes with Escape', async () => {
    const page = await signedIn('carol', `courses/${encodeURIComponent(COURSE)}`);
    await page.getByTestId('group-count').waitFor();
    const create = page.getByRole('button', { name: 'Create a group' });
    for (let i = 0; i < 30 && !(await create.evaluate((el) => el === el.ownerDocument.activeElement)); i++)
      await page.keyboard.press('Tab');
    expect(await create.evaluate((el) => el === el.ownerDocument.activeElement)).toBe(true);
    await page.keyboard.press('Enter');
    await page.getByRole('dialog').waitFor();
    // Focus moves into the dialog, so typing goes to its first field.
    expect(await page.evaluate(() => !!(globalThis as any).document.activeElement?.closest('[role="dialog"]'))).toBe(
      true,
    );
    await page.keyboard.press('Escape');
    await page.getByRole('dialog').waitFor({ state: 'detached' });
  });

  it('lets an operator replay a dead letter and see it applied', async () => {
    const cohortId = await system.cohortIdOf(groupId);
    const userId = await system.learner('eve');
    await system.lmsFaults({ fail_adds_for: ['eve'] });
    await system.groups('POST', `/groups/${groupId}/members`, { members: [{ user_id: userId, username: 'eve' }] });

    const page = await signedIn('olga', 'operator');
    const letter = page.locator('[data-testid="dead-letters"] tbody tr', { hasText: 'RETRY_BUDGET_EXCEEDED' });
    await letter.first().waitFor({ timeout: 30_000 });
    // States in words, the filter's as the table's.
    expect(await letter.first().locator('td').nth(4).innerText()).toBe('Open');
    expect(await page.getByLabel('State').locator('option:checked').innerText()).toBe('Open');
    await http('DELETE', `${system.lmsEmulator.url}/emulator/faults`); // the defect is fixed
    await expectAccessible(page, 'operations');
    await screenshot(page, SUITE, '06-operator-dead-letter');
    await letter.first().getByRole('button', { name: 'Show' }).click();
    await expect(page.getByTestId('dead-letter-shown').innerText()).resolves.toContain('"username": "eve"');
    await letter.first().getByRole('button', { name: 'Replay' }).click();
    await page.getByTestId('dlq-outcome').filter({ hasText: 'was replayed' }).waitFor();
    await expectEventually(async () => expect(await system.cohortUsernames(cohortId)).toContain('eve'), {
      timeoutMs: 20_000,
    });

    // Applied: the member shows synced on the group's page.
    await page.goto(`${site.url}groups/${groupId}`);
    await page
      .locator('tr[data-username="eve"] [data-testid="sync-state"][data-state="synced"]')
      .waitFor({ timeout: 20_000 });
    await screenshot(page, SUITE, '07-replayed-member-synced');
  });

  it("refuses a learner the staff views: they see only their own groups' names", async () => {
    const page = await signedIn('ana', `courses/${encodeURIComponent(COURSE)}`);
    await page.getByTestId('not-course-staff').waitFor();
    await page.getByTestId('my-course-groups').getByText('Section A').waitFor();
    expect(await page.getByTestId('my-course-groups').innerText()).toBe('Section A');
    expect(await page.getByRole('button', { name: 'Create a group' }).count()).toBe(0);
    await expectAccessible(page, 'course page (learner)');
    await screenshot(page, SUITE, '08-learner-course');

    const refused = page.waitForResponse(
      (r) => r.url().endsWith(`/api/user-groups/v1/groups/${groupId}`) && r.request().method() === 'GET',
    );
    await page.goto(`${site.url}groups/${groupId}`);
    expect((await refused).status()).toBe(403);
    await page.getByTestId('group-error').waitFor();
    await page.goto(`${site.url}operator`);
    await page.getByTestId('operator-refused').waitFor();
    await screenshot(page, SUITE, '09-learner-refused-operations');
  });

  it('shows where a group carried over by a rerun came from', async () => {
    const next = 'course-v1:DemoX+Sync+2027';
    await http('POST', `${system.lmsEmulator.url}/emulator/courses`, { course_id: next });
    const rerun = await system.groups('POST', '/reruns', { source_course_key: COURSE, course_key: next });
    expect(rerun.body.applied).toBe(true);
    const copy = rerun.body.report.copied.find((c: { name: string }) => c.name === 'Section A');
    const page = await signedIn('olga', `groups/${copy.group_id}`);
    await page
      .getByTestId('rerun-of')
      .filter({ hasText: `Carried over from the run ${COURSE}` })
      .waitFor();
    await page.goto(`${site.url}courses/${encodeURIComponent(next)}`);
    await page.getByTestId('groups-table').getByTestId('rerun-of').first().waitFor();
    await screenshot(page, SUITE, '10-carried-over-by-a-rerun');
  });

  it('stays usable with 1,000 groups in a course and 5,000 members in a group, paged and searched on the server', async () => {
    const usernames = Array.from({ length: 5000 }, (_, i) => `bulk${i}`);
    const made = await http('POST', `${system.lmsEmulator.url}/emulator/users`, {
      users: usernames.map((username) => ({ username, email: `${username}@example.com` })),
    });
    expect(made.status).toBe(201);
    const big = await system.groups('POST', '/groups', {
      scope_type: 'course',
      scope_key: COURSE,
      name: 'Everyone',
      kind: 'manual',
    });
    const add = await system.groups('POST', `/groups/${big.body.id}/members`, {
      members: usernames.map((username) => ({ username })),
    });
    expect(add.status).toBe(200);
    // With Section A and Everyone: 1,000 groups in the course.
    for (let start = 0; start < 998; start += 25)
      await Promise.all(
        Array.from({ length: Math.min(25, 998 - start) }, (_, i) =>
          system.groups('POST', '/groups', {
            scope_type: 'course',
            scope_key: COURSE,
            name: `Group ${String(start + i).padStart(4, '0')}`,
            kind: 'manual',
          }),
        ),
      );

    const page = await signedIn('carol');
    let t = Date.now();
    await page.goto(`${site.url}courses/${encodeURIComponent(COURSE)}`);
    await page
      .getByTestId('group-count')
      .filter({ hasText: /^1,?000 groups$/ })
      .waitFor();
    const courseMs = Date.now() - t;
    expect(await page.getByTestId('groups-table').locator('tbody tr').count()).toBe(20);
    t = Date.now();
    await page.getByLabel('Search groups by name').first().fill('Group 0997');
    await page.getByRole('button', { name: 'Clear search', exact: true }).waitFor();
    await page.keyboard.press('Enter');
    await page
      .getByTestId('group-count')
      .filter({ hasText: /^1 group$/ })
      .waitFor();
    const groupSearchMs = Date.now() - t;

    t = Date.now();
    await page.goto(`${site.url}groups/${big.body.id}`);
    await page
      .getByTestId('member-total')
      .filter({ hasText: /^5,?000 members$/ })
      .waitFor();
    const membersMs = Date.now() - t;
    expect(await page.getByTestId('members-table').locator('tbody tr').count()).toBe(50);
    t = Date.now();
    await page.getByLabel('Search members (username or email)').first().fill('bulk4321');
    await page.keyboard.press('Enter');
    await page
      .getByTestId('member-total')
      .filter({ hasText: /^1 member$/ })
      .waitFor();
    const memberSearchMs = Date.now() - t;
    await page.locator('tr[data-username="bulk4321"]').waitFor();
    await screenshot(page, SUITE, '11-five-thousand-members');
    console.log(
      `User Groups page at scale: course page with 1,000 groups ${courseMs} ms, group search ${groupSearchMs} ms; ` +
        `group of 5,000 members ${membersMs} ms, member search ${memberSearchMs} ms`,
    );
  }, 300_000);
});
