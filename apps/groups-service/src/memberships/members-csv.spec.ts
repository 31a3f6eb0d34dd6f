import { DomainException } from '@groups-sync/observability';
import { CSV_MAX_ROWS, escapeCell, parseMembersCsv, rowResults } from './members-csv';

const code = async (fn: () => Promise<unknown>) => {
  try {
    await fn();
  } catch (error) {
    return (error as DomainException).code;
  }
  return 'no error';
};

describe('parseMembersCsv', () => {
  it('reads username and email columns in any case and order, ignoring other columns and blank lines', async () => {
    expect(await parseMembersCsv('\uFEFF Cohort , EMAIL ,UserName\r\nA,ana@example.com,ana\r\n\r\nB,,"ben"\n')).toEqual(
      [
        { row: 2, username: 'ana', email: 'ana@example.com' },
        { row: 4, username: 'ben' },
      ],
    );
  });

  it('numbers rows by the file line they end on, across quoted line breaks', async () => {
    const rows = await parseMembersCsv('username,note\nana,"two\nlines"\nben,x\n');
    expect(rows.map((r) => [r.row, r.username])).toEqual([
      [3, 'ana'],
      [4, 'ben'],
    ]);
  });

  it('reports bad rows without failing the file', async () => {
    const rows = await parseMembersCsv('username,email\n,\nbad name,\n,not-an-email\nok,\n');
    expect(rows.map((r) => r.problem ?? 'ok')).toEqual([
      'the row has neither a username nor an email',
      expect.stringContaining('username may contain'),
      'email must look like name@domain',
      'ok',
    ]);
  });

  it('accepts a header-only file and refuses files without the columns, broken quoting or too many rows', async () => {
    expect(await parseMembersCsv('username\n')).toEqual([]);
    expect(await code(() => parseMembersCsv('name\n'))).toBe('CSV_COLUMNS_MISSING');
    expect(await code(() => parseMembersCsv('name\nana\n'))).toBe('CSV_COLUMNS_MISSING');
    expect(await code(() => parseMembersCsv('   \n'))).toBe('CSV_EMPTY');
    expect(await code(() => parseMembersCsv('username\n"ana\n'))).toBe('CSV_INVALID');
    expect(await code(() => parseMembersCsv(`username\n${'u\n'.repeat(CSV_MAX_ROWS + 1)}`))).toBe('CSV_TOO_MANY_ROWS');
  });

  it('gives the event loop back while it parses a large file, a slice at a time', async () => {
    let turns = 0;
    let spinning = true;
    const spin = () => {
      turns++;
      if (spinning) setImmediate(spin);
    };
    setImmediate(spin);
    const rows = await parseMembersCsv(
      `username\n${Array.from({ length: CSV_MAX_ROWS }, (_, i) => `learner_${i}`).join('\n')}\n`,
    );
    spinning = false;
    expect(rows).toHaveLength(CSV_MAX_ROWS);
    expect(rows[CSV_MAX_ROWS - 1]).toEqual({ row: CSV_MAX_ROWS + 1, username: `learner_${CSV_MAX_ROWS - 1}` });
    expect(turns).toBeGreaterThanOrEqual(10); // ~700 kB in slices of 64 kB; in one go it would be 1
  });

  it('joins a quoted field that a slice boundary cuts in two', async () => {
    const filler = Array.from({ length: 7000 }, (_, i) => `learner_${i},x`).join('\n');
    const rows = await parseMembersCsv(
      `username,note\n${filler}\nana,"a note\n${'y'.repeat(70_000)}\nacross slices"\nben,z\n`,
    );
    expect(rows.slice(-2).map((r) => r.username)).toEqual(['ana', 'ben']);
  });

  it('takes off the quote that an export puts before formula-like cells', async () => {
    expect((await parseMembersCsv(`username\n${escapeCell('-dash')}\n'plain\n`)).map((r) => r.username)).toEqual([
      '-dash',
      "'plain",
    ]);
    expect(['=1+1', '+x', '@a', 'ana'].map(escapeCell)).toEqual(["'=1+1", "'+x", "'@a", 'ana']);
  });
});

describe('rowResults', () => {
  const added = (username: string) => ({ user_id: 1, username, result: 'added' as const });

  it("puts each valid row's result in its place and refuses malformed rows, in row order", async () => {
    const rows = await parseMembersCsv('username,email\nana,\nbad name,\n,\nben,\n');
    expect(await rowResults(rows, [added('ana'), added('ben')])).toEqual([
      added('ana'),
      {
        user_id: null,
        username: 'bad name',
        result: 'refused',
        reason: expect.stringContaining('username may contain'),
      },
      { user_id: null, username: null, result: 'refused', reason: 'the row has neither a username nor an email' },
      added('ben'),
    ]);
  });

  it('maps 50,000 rows in linear time, not by searching the valid rows for each', async () => {
    const rows = await parseMembersCsv(
      `username\n${Array.from({ length: CSV_MAX_ROWS }, (_, i) => (i % 10 === 0 ? 'bad name' : `u${i}`)).join('\n')}\n`,
    );
    const results = rows.filter((r) => !r.problem).map((r) => added(r.username!));
    const started = performance.now();
    const mapped = await rowResults(rows, results);
    // A search per row (indexOf) takes about half a second here; one pass, a few milliseconds.
    expect(performance.now() - started).toBeLessThan(100);
    expect(mapped.map((r) => r.username)).toEqual(rows.map((r) => r.username));
    expect(mapped.filter((r) => r.result === 'refused')).toHaveLength(CSV_MAX_ROWS / 10);
  });
});
