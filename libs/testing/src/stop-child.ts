import { ChildProcess } from 'node:child_process';

/**
 * SIGTERM, as an orchestrator or systemd sends it, then SIGKILL if the process is still there after
 * `killAfterMs`; resolves once it is gone. Nothing when it is not running.
 */
export async function stopChild(child: ChildProcess | undefined, killAfterMs: number): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  await done;
  clearTimeout(timer);
}
