import { DataSource } from 'typeorm';
import { LmsUnavailableError } from '@groups-sync/lms-client';
import { expectEventually } from '@groups-sync/testing';
import { LegacyKinds } from '../kinds/legacy-kinds.registry';
import { LegacySyncServiceConfig } from '../legacy-sync-service.config';
import { Reconciler, RunRow } from './reconciler';
import { ReconciliationRuns } from './reconciliation-runs';

const RUN: RunRow = {
  id: 'run-1',
  scope_type: 'all',
  scope_key: null,
  dry_run: 0,
  trigger_kind: 'api',
  requested_by: 'staff',
};

/**
 * Stands in for the database: one queued run, and a connection that breaks when `down` says so. Every
 * statement is kept, so a test sees what was recorded.
 */
class FlakyDatabase {
  readonly statements: Array<{ sql: string; params: unknown[] }> = [];
  private claimed = false;
  down: (sql: string) => boolean = () => false;
  readonly manager = this;

  async query(sql: string, params: unknown[] = []): Promise<unknown> {
    this.statements.push({ sql, params });
    if (this.down(sql)) throw new Error('Connection lost: The server closed the connection.');
    if (sql.startsWith('SELECT id FROM reconciliation_run')) return this.claimed ? [] : [{ id: RUN.id }];
    if (sql.startsWith(`UPDATE reconciliation_run SET status = 'running'`)) {
      this.claimed = true;
      return { affectedRows: 1 };
    }
    if (sql.startsWith('UPDATE reconciliation_run SET status = ?') && params[0] === 'queued') this.claimed = false;
    if (sql.startsWith('SELECT * FROM reconciliation_run')) return [RUN];
    return { affectedRows: 1 };
  }

  /** The outcomes recorded: [status, error, …]. */
  recorded(status: 'queued' | 'failed') {
    return this.statements.filter(
      (s) => s.sql.startsWith('UPDATE reconciliation_run SET status = ?') && s.params[0] === status,
    );
  }

  failures() {
    return this.recorded('failed');
  }
}

describe('ReconciliationRuns under a database that fails', () => {
  const unhandled: unknown[] = [];
  const probe = (reason: unknown) => unhandled.push(reason);
  beforeAll(() => process.on('unhandledRejection', probe));
  afterAll(() => process.off('unhandledRejection', probe));
  beforeEach(() => (unhandled.length = 0));

  function runs(db: FlakyDatabase, reconciler: Partial<Reconciler>) {
    const config = Object.assign(new LegacySyncServiceConfig(), { RECONCILE_EVERY_MINUTES: 60 });
    return new ReconciliationRuns(db as unknown as DataSource, reconciler as Reconciler, config, {
      scheduledLinkTypes: ['team', 'teamset'],
    } as LegacyKinds);
  }

  it('marks a run failed with the reason when the database breaks under it, and rejects nothing unhandled', async () => {
    const db = new FlakyDatabase();
    const reconciler = {
      execute: async (_run: RunRow, heartbeat: (done: number, total: number) => Promise<void>) => {
        // The blip: the heartbeat fails, and so does the next statement (the next claim).
        let broken = 2;
        db.down = (sql) =>
          (sql.startsWith('UPDATE reconciliation_run SET progress_done') || sql.startsWith('SELECT id FROM')) &&
          broken-- > 0;
        await heartbeat(1, 10);
        throw new Error('not reached');
      },
    };
    const subject = runs(db, reconciler);
    await subject.request(
      { scope_type: 'all', scope_key: null },
      { dryRun: false, trigger: 'api', requestedBy: 'staff' },
    );

    await expectEventually(() => expect(db.failures()).toHaveLength(1));
    expect(db.failures()[0].params).toEqual(['failed', expect.stringContaining('Connection lost'), 'failed', RUN.id]);
    await new Promise((resolve) => setTimeout(resolve, 200)); // the unhandled rejection surfaces on a later tick
    expect(unhandled).toEqual([]);
    await subject.onApplicationShutdown();
  });

  it("queues an outage's run again once the database answers, and runs it then; it is never marked failed", async () => {
    const db = new FlakyDatabase();
    const outage = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:3306'), { code: 'ECONNREFUSED' });
    const execute = jest
      .fn()
      .mockImplementationOnce(async () => {
        db.down = (sql) => sql.startsWith('UPDATE reconciliation_run'); // still down when it ends
        throw outage;
      })
      .mockResolvedValue({ differences_found: 0, groups_compared: 0 });
    const subject = runs(db, { execute });
    await subject.request(
      { scope_type: 'all', scope_key: null },
      { dryRun: false, trigger: 'api', requestedBy: 'staff' },
    );
    await expectEventually(() => expect(execute).toHaveBeenCalledTimes(1));
    await subject.work(); // the next poll: the database is still down
    expect(execute).toHaveBeenCalledTimes(1);

    db.down = () => false;
    await subject.work(); // and the one after: it answers again
    expect(execute).toHaveBeenCalledTimes(2);
    expect(db.recorded('queued').at(-1)!.params).toEqual([
      'queued',
      expect.stringContaining('ECONNREFUSED'),
      'queued',
      RUN.id,
    ]);
    expect(db.statements.some((s) => s.sql.includes(`status = 'succeeded'`))).toBe(true);
    expect(db.failures()).toEqual([]);
    expect(unhandled).toEqual([]);
    await subject.onApplicationShutdown();
  });

  it('runs again after an LMS 500 three times, then fails the run with it', async () => {
    const db = new FlakyDatabase();
    const execute = jest.fn().mockRejectedValue(new LmsUnavailableError('LMS GET /api/cohorts/v1/…: 500', false));
    const subject = runs(db, { execute });
    await subject.request(
      { scope_type: 'all', scope_key: null },
      { dryRun: false, trigger: 'api', requestedBy: 'staff' },
    );
    await expectEventually(() => expect(execute).toHaveBeenCalledTimes(1));
    for (let poll = 0; poll < 3; poll++) await subject.work();
    expect(execute).toHaveBeenCalledTimes(4);
    expect(db.recorded('queued')).toHaveLength(3);
    expect(db.failures().map((f) => f.params[1])).toEqual(['LMS GET /api/cohorts/v1/…: 500']);
    await subject.onApplicationShutdown();
  });

  it('records a failure the database could not take at the next poll, not when the run counts as abandoned', async () => {
    const db = new FlakyDatabase();
    const execute = jest.fn().mockImplementation(async () => {
      db.down = (sql) => sql.startsWith('UPDATE reconciliation_run SET status = ?');
      throw new Error('a defect');
    });
    const subject = runs(db, { execute });
    await subject.request(
      { scope_type: 'all', scope_key: null },
      { dryRun: false, trigger: 'api', requestedBy: 'staff' },
    );
    await expectEventually(() => expect(db.failures()).toHaveLength(1)); // tried, refused
    db.down = () => false;
    await subject.work();
    expect(db.failures().map((f) => f.params[1])).toEqual(['a defect', 'a defect']);
    expect(execute).toHaveBeenCalledTimes(1);
    expect(unhandled).toEqual([]);
    await subject.onApplicationShutdown();
  });

  it('logs and keeps going when the database is down while it looks for queued runs', async () => {
    const db = new FlakyDatabase();
    db.down = (sql) => sql.startsWith('SELECT id FROM');
    const subject = runs(db, { execute: jest.fn() });
    await subject.request(
      { scope_type: 'all', scope_key: null },
      { dryRun: false, trigger: 'api', requestedBy: 'staff' },
    );
    await subject.schedule();

    await expectEventually(() =>
      expect(db.statements.filter((s) => s.sql.startsWith('SELECT id FROM')).length).toBeGreaterThanOrEqual(2),
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(unhandled).toEqual([]);
    await expect(subject.work()).resolves.toBeUndefined();
    await subject.onApplicationShutdown();
  });
});
