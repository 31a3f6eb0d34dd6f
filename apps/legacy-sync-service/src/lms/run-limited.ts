/** Runs the calls with at most `limit` in flight; answers the errors of those that failed. */
export async function runLimited(calls: Array<() => Promise<void>>, limit: number): Promise<unknown[]> {
  const failures: unknown[] = [];
  let next = 0;
  const worker = async () => {
    while (next < calls.length) {
      const call = calls[next++];
      await call().catch((error) => failures.push(error));
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, calls.length) }, worker));
  return failures;
}
