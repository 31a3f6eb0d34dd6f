import { DataSource } from 'typeorm';
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
    if (sql.startsWith('SELECT * FROM reconciliation_run')) return [RUN];
    return { affectedRows: 1 };
  }

  failures() {
    return this.statements.filter((s) => s.sql.includes(`status = 'failed'`));
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
    expect(db.failures()[0].params).toEqual([expect.stringContaining('Connection lost'), RUN.id]);
    await new Promise((resolve) => setTimeout(resolve, 200)); // the unhandled rejection surfaces on a later tick
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
