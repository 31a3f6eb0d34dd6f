/**
 * Retries an assertion until it passes or the time is up; the last failure is rethrown.
 * For asynchronous effects (Kafka round trips), instead of fixed sleeps.
 */
export async function expectEventually<T>(
  assertion: () => Promise<T> | T,
  { timeoutMs = 15_000, intervalMs = 100 } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await assertion();
    } catch (error) {
      if (Date.now() >= deadline) throw error;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
}

/** Asserts that something stays true for a while (e.g. "nothing bounces back"). */
export async function expectConsistently(
  assertion: () => Promise<void> | void,
  { durationMs = 1500, intervalMs = 100 } = {},
): Promise<void> {
  const end = Date.now() + durationMs;
  while (Date.now() < end) {
    await assertion();
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
