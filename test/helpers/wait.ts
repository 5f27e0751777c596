// Polling for tests that wait on something asynchronous (a loop, a server, a child
// process, a container): retry a check until it passes, or a probe until it finds
// something, within a deadline. A longer deadline only delays the report of a failure.

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs `check` until it stops throwing and returns its result; after `timeoutMs`, rethrows its last error. */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 15_000, intervalMs = 25): Promise<T> {
  const start = Date.now();
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() - start > timeoutMs) throw err;
      await pause(intervalMs);
    }
  }
}

/**
 * Calls `probe` until it returns something other than undefined or false, and returns
 * that; after `timeoutMs`, throws "timed out waiting for <what>".
 */
export async function waitFor<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 15_000,
  what = 'condition',
  intervalMs = 25,
): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await pause(intervalMs);
  }
}
