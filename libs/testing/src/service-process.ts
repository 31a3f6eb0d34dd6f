import { ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { expectEventually } from './expect-eventually';
import { WORKSPACE_ROOT } from './stack-env';
import { stopChild } from './stop-child';

/** What tests and benchmarks start is a test setup: the LMS emulator runs as a test peer (its fixture and token endpoints). */
const TEST_SETUP: Record<string, Record<string, string>> = { 'lms-emulator': { LMS_EMULATOR_TEST_PEER: 'true' } };

/**
 * One of our apps as a separate OS process, built under dist/ (scripts/test.sh builds first).
 * Logs go to .cache/test-logs/<name>.log for post-mortems.
 */
export class ServiceProcess {
  private child?: ChildProcess;
  readonly url: string;
  /** The operations port (OPS_PORT): /metrics and /health/consumers are there, not on `url`. */
  readonly opsUrl: string;

  constructor(
    readonly app: string,
    readonly port: number,
    readonly env: Record<string, string>,
    private readonly logName = app,
    readonly opsPort = opsPortOf(port),
  ) {
    this.url = `http://127.0.0.1:${port}`;
    this.opsUrl = `http://127.0.0.1:${opsPort}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Started and not exited (nor killed) since. */
  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Where its output goes. */
  get logFile(): string {
    return join(WORKSPACE_ROOT, '.cache', 'test-logs', `${this.logName}.log`);
  }

  async start(): Promise<void> {
    mkdirSync(dirname(this.logFile), { recursive: true });
    const log = createWriteStream(this.logFile, { flags: 'a' });
    this.child = spawn(process.execPath, ['-r', './tools/register-paths.js', `dist/apps/${this.app}/src/main.js`], {
      cwd: WORKSPACE_ROOT,
      env: {
        ...process.env,
        ...TEST_SETUP[this.app],
        ...this.env,
        PORT: String(this.port),
        OPS_PORT: String(this.opsPort),
        LOG_LEVEL: this.env.LOG_LEVEL ?? 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout?.pipe(log);
    this.child.stderr?.pipe(log);
    const exited = new Promise<never>((_, reject) =>
      this.child!.once('exit', (code) =>
        reject(new Error(`${this.app} exited with ${code}; see .cache/test-logs/${this.logName}.log`)),
      ),
    );
    exited.catch(() => undefined);
    await Promise.race([exited, this.waitReady(60_000)]);
  }

  /**
   * Ready to serve (`/health/ready`, which does not wait for Kafka) and its consumers in their
   * groups (`/health/consumers`): tests expect events to flow from the start.
   */
  async waitReady(timeoutMs = 60_000): Promise<void> {
    await expectEventually(
      async () => {
        for (const probe of ['ready', 'consumers']) {
          const res = await fetch(`${this.opsUrl}/health/${probe}`);
          if (res.status !== 200) throw new Error(`${this.app} not ${probe}: ${res.status} ${await res.text()}`);
        }
      },
      { timeoutMs, intervalMs: 250 },
    );
  }

  /** SIGKILL: a crash, with no graceful shutdown; waits for the process to be gone. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const done = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await done;
  }

  /** SIGSTOP: the process freezes with its connections open (a hung host, a long GC pause); `resume()` sends SIGCONT. */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }

  /** SIGTERM, as an orchestrator would; waits for the graceful shutdown (SIGKILL after 15 s). */
  async stop(): Promise<void> {
    await stopChild(this.child, 15_000);
  }
}

/**
 * A free-enough port per test process, away from the stack's defaults and above Linux's ephemeral
 * range (32768-60999): a port in that range can be the local end of one of the tests' own
 * connections (Kafka, MySQL), and listening on it then fails with EADDRINUSE. Jest's workers each
 * get 500 ports of their own (suites use offsets below 200), so suites running side by side never
 * share one; outside Jest, the process id picks the range.
 */
export function testPort(offset: number): number {
  const worker = Number(process.env.JEST_WORKER_ID);
  const slot = Number.isInteger(worker) && worker > 0 ? worker - 1 : process.pid % 8;
  return 61_000 + (slot % 8) * 500 + offset;
}

/**
 * A test service's operations port: 40,000 below its port, so test ports (61000 and up, testPort)
 * get operations ports from 21000, below the ephemeral range too.
 */
export function opsPortOf(port: number): number {
  return port > 40_000 ? port - 40_000 : port + 20_000;
}
