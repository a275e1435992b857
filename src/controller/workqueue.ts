/**
 * Per-key exponential backoff, as controller-runtime's ItemExponentialFailureRateLimiter: the n-th
 * failure in a row of a key waits base·2^(n-1), capped at max; a success forgets the key's failures.
 */
export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
}

/**
 * 100 ms, 200 ms, 400 ms … capped at 5 min (reached after 12 failures in a row). controller-runtime
 * starts at 5 ms and caps at 1000 s, behind an overall 10 qps bucket we do not have: a larger base
 * keeps an API server outage from drawing a burst of retries from every key at once, and the cap is
 * the status heartbeat, so a fixed cause (RBAC, webhook, outage) shows up no later than a heartbeat.
 */
export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 100, maxMs: 5 * 60_000 };

export class Backoff {
  private readonly counts = new Map<string, number>();

  constructor(readonly opts: BackoffOptions = DEFAULT_BACKOFF) {}

  /** Counts one more failure of `key` and says how long to wait before retrying it. */
  next(key: string): number {
    const n = this.counts.get(key) ?? 0;
    this.counts.set(key, n + 1);
    return Math.min(this.opts.maxMs, this.opts.baseMs * 2 ** Math.min(n, 52));
  }

  /** Failures in a row of `key` so far. */
  failures(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  forget(key: string): void {
    this.counts.delete(key);
  }

  get size(): number {
    return this.counts.size;
  }
}

/** The timer functions the queue uses (a fake clock in tests). */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: Timers = {
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface WorkQueueOptions {
  backoff?: BackoffOptions;
  timers?: Timers;
}

/**
 * A keyed work queue: a key is never processed by two workers at once; adding a key that is queued is
 * a no-op, adding one that is being processed runs it once more afterwards. Bounded concurrency.
 *
 * A key whose handler fails is retried after a per-key backoff (`addRateLimited`); a success forgets
 * its failures. A key added while it waits out its backoff (a real event) runs at once and its retry
 * is dropped; the failure count stays as it is, so only another failure lengthens the next wait.
 */
export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly active = new Set<string>();
  private readonly again = new Set<string>();
  private readonly waiting = new Map<string, unknown>();
  private readonly backoff: Backoff;
  private readonly timers: Timers;
  private running = 0;
  private stopped = false;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly concurrency: number,
    private readonly handler: (key: string) => Promise<void>,
    private readonly onError: (key: string, err: unknown, retryInMs: number, failures: number) => void = () =>
      undefined,
    opts: WorkQueueOptions = {},
  ) {
    this.backoff = new Backoff(opts.backoff ?? DEFAULT_BACKOFF);
    this.timers = opts.timers ?? realTimers;
  }

  get depth(): number {
    return this.queue.length;
  }

  get busy(): number {
    return this.running;
  }

  /** Keys waiting out a backoff before their retry. */
  get retrying(): number {
    return this.waiting.size;
  }

  /** Failures in a row of `key` (0 once it succeeded). */
  failures(key: string): number {
    return this.backoff.failures(key);
  }

  add(key: string): void {
    if (this.stopped) return;
    this.dropRetry(key); // it runs now (or right after its current run): the retry would be redundant
    if (this.active.has(key)) {
      this.again.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.queue.push(key);
    this.pump();
  }

  /** Add `key` after its backoff (one more failure counted); returns the wait in ms. */
  addRateLimited(key: string): number {
    const delay = this.backoff.next(key);
    if (this.stopped) return delay;
    this.dropRetry(key);
    this.waiting.set(
      key,
      this.timers.setTimeout(() => {
        this.waiting.delete(key);
        this.add(key);
      }, delay),
    );
    return delay;
  }

  /** Reset `key`'s failures (it succeeded, or is gone). */
  forget(key: string): void {
    this.backoff.forget(key);
  }

  private dropRetry(key: string): void {
    const t = this.waiting.get(key);
    if (t === undefined) return;
    this.timers.clearTimeout(t);
    this.waiting.delete(key);
  }

  private pump(): void {
    while (!this.stopped && this.running < this.concurrency && this.queue.length > 0) {
      const key = this.queue.shift()!;
      this.queued.delete(key);
      this.active.add(key);
      this.running++;
      this.handler(key)
        .then(
          () => this.forget(key),
          (e: unknown) => {
            const delay = this.addRateLimited(key);
            this.onError(key, e, delay, this.backoff.failures(key));
          },
        )
        .catch(() => undefined) // onError itself threw: nothing more to do
        .finally(() => {
          this.active.delete(key);
          this.running--;
          if (this.again.delete(key)) this.add(key);
          this.pump();
          if (this.running === 0 && this.queue.length === 0) {
            const w = this.idleWaiters;
            this.idleWaiters = [];
            for (const f of w) f();
          }
        });
    }
  }

  /** Resolves when nothing is queued or running (keys waiting out a backoff do not count). */
  idle(): Promise<void> {
    if (this.running === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.queue.length = 0;
    this.queued.clear();
    for (const t of this.waiting.values()) this.timers.clearTimeout(t);
    this.waiting.clear();
    await new Promise<void>((r) => {
      if (this.running === 0) r();
      else this.idleWaiters.push(r);
    });
  }
}

/** Runs at most `limit` tasks at once; the others wait their turn in order. */
export class Limiter {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  get running(): number {
    return this.active;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active < this.limit) this.active++;
    else await new Promise<void>((r) => this.waiting.push(r)); // the finishing task hands its slot over
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}
