import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { WORKSPACE_ROOT } from './stack-env';

/**
 * The LMS companion plugin (deploy/openedx-plugin) is Python: its tests run in Django (Debian's
 * python3-django, which npm test installs) with test doubles for the edx-platform modules it imports.
 * Here they run in the unit tier, and every one must pass.
 */
describe('the LMS companion plugin (deploy/openedx-plugin)', () => {
  it('passes its Django tests: retirement reaches every service as the retirement worker, a failure fails the LMS step, and cohort removals and team changes go out as the services read them', () => {
    const python = process.env.GROUPS_SYNC_PYTHON ?? '/usr/bin/python3';
    const run = spawnSync(
      python,
      ['-m', 'unittest', 'discover', '-v', '-s', join(WORKSPACE_ROOT, 'deploy/openedx-plugin/tests')],
      { encoding: 'utf8' },
    );
    const report = `${run.stdout}${run.stderr}`;
    expect({ status: run.status, report }).toEqual({ status: 0, report: expect.stringMatching(/\nOK\s*$/) });
    expect(Number(/Ran (\d+) tests?/.exec(report)?.[1])).toBeGreaterThanOrEqual(11);
  });
});
