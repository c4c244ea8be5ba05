// Waiting for something a test can see (a status, a log line, a count, a queue's length) instead
// of sleeping for a guessed time. The limit only bounds a hang, so it is generous: no verdict
// rests on how fast the machine is.

/** How long a test waits for something it is sure will happen before calling it a hang. */
export const HANG_LIMIT_MS = 120_000;

/** Resolves, with the milliseconds it took, once `check` holds; throws naming `what` past `limitMs`. */
export async function until(what: string, check: () => boolean | Promise<boolean>, limitMs = HANG_LIMIT_MS): Promise<number> {
  const t0 = performance.now();
  while (!(await check())) {
    if (performance.now() - t0 > limitMs) throw new Error(`${what}: not seen within ${limitMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return performance.now() - t0;
}
