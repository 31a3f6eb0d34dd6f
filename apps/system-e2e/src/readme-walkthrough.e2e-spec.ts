import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { WORKSPACE_ROOT } from '@groups-sync/testing';
import { System } from './support/system';

/**
 * The README's walk-through, run as written against a stack of its own (only the two URLs at its
 * top point elsewhere), and its output held against the block the README says it prints: when the
 * product changes, the README fails here instead of drifting.
 */
const readme = readFileSync(join(WORKSPACE_ROOT, 'README.md'), 'utf8');
const walkThrough = readme.slice(readme.indexOf('## Walk-through'));
const script = walkThrough.match(/```bash\n([\s\S]*?)```/)![1];
const printed = walkThrough
  .match(/It prints, among the fixtures' lines:\s*```\n([\s\S]*?)```/)![1]
  .trim()
  .split('\n');

describe('the README walk-through', () => {
  const system = new System(120);

  beforeAll(() => system.start(), 180_000);
  afterAll(() => system.stop(), 60_000);

  it('prints what the README says it prints, in that order', async () => {
    const pointed = script
      .replace(/^LMS=.*$/m, `LMS=${system.lmsEmulator.url}`)
      .replace(/^API=.*$/m, `API=${system.groupsService.url}/api/user-groups/v1`);
    expect(pointed).not.toBe(script);
    const { stdout } = await promisify(execFile)('bash', ['-eo', 'pipefail', '-c', pointed], { timeout: 90_000 });
    const lines = stdout.split('\n');
    // Each printed line, in order; the fixtures' own lines (users, enrollments) come between them.
    let at = 0;
    for (const line of printed) {
      const found = lines.indexOf(line, at);
      expect({ line, found: found >= 0 }).toEqual({ line, found: true });
      at = found + 1;
    }
  }, 120_000);
});
