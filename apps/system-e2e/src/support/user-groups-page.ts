import { ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { testPort, WORKSPACE_ROOT } from '@groups-sync/testing';
import { System } from './system';

/**
 * The built User Groups page (apps/frontend-app-user-groups/serve.mjs) in front of a System's
 * services: the page, both APIs and the emulator's sign-in on one origin, as on a site's LMS host.
 */
export class UserGroupsPage {
  readonly port: number;
  readonly url: string;
  private child?: ChildProcess;

  constructor(
    private readonly system: System,
    portOffset: number,
  ) {
    this.port = testPort(portOffset);
    this.url = `http://127.0.0.1:${this.port}/user-groups/`;
  }

  async start(): Promise<void> {
    const logFile = join(WORKSPACE_ROOT, '.cache', 'test-logs', `${this.system.prefix}-user-groups-page.log`);
    mkdirSync(join(WORKSPACE_ROOT, '.cache', 'test-logs'), { recursive: true });
    const log = createWriteStream(logFile, { flags: 'a' });
    this.child = spawn(process.execPath, ['apps/frontend-app-user-groups/serve.mjs'], {
      cwd: WORKSPACE_ROOT,
      env: {
        ...process.env,
        MFE_PORT: String(this.port),
        GROUPS_SERVICE_URL: this.system.groupsService.url,
        LEGACY_SYNC_URL: this.system.legacySync.url,
        LMS_URL: this.system.lmsEmulator.url,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.pipe(log);
    this.child.stderr!.pipe(log);
    for (const deadline = Date.now() + 20_000; Date.now() < deadline;) {
      if (this.child.exitCode !== null)
        throw new Error(`the page server exited (${this.child.exitCode}); log: ${logFile}`);
      const up = await fetch(this.url).then(
        (r) => r.ok,
        () => false,
      );
      if (up) return;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`the page server did not answer on ${this.url}; log: ${logFile}`);
  }

  async stop(): Promise<void> {
    if (!this.child || this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child!.once('exit', resolve));
    this.child.kill('SIGTERM');
    await exited;
  }
}
