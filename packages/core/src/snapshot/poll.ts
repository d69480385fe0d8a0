/** Clock and sleep, injected so tests can run deadlines without waiting for them. */
export interface Clock {
  now(): Date;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => new Date(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export interface PollOptions {
  /** Give up at this time. */
  deadline: Date;
  /** First wait; each next one is 1.5x longer, up to `maxIntervalMs`, with +-20% jitter. */
  initialIntervalMs?: number;
  maxIntervalMs?: number;
  /** Stops waiting: pollUntil rejects with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Calls `check` until it returns a value (not undefined) or the deadline passes, backing off with
 * jitter between calls. Our own loop, not the SDK's waiters: their fixed timeouts are shorter than
 * a large restore, and they cannot report progress.
 */
export async function pollUntil<T>(clock: Clock, opts: PollOptions, check: () => Promise<T | undefined>): Promise<T | undefined> {
  let interval = opts.initialIntervalMs ?? 2_000;
  for (;;) {
    opts.signal?.throwIfAborted();
    const value = await check();
    if (value !== undefined) return value;
    const left = opts.deadline.getTime() - clock.now().getTime();
    if (left <= 0) return undefined;
    const jittered = interval * (0.8 + Math.random() * 0.4);
    await clock.sleep(Math.min(jittered, left));
    interval = Math.min(interval * 1.5, opts.maxIntervalMs ?? 30_000);
  }
}
