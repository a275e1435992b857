/**
 * This process's event-loop lag, two ways:
 *
 * - continuously, with `perf_hooks.monitorEventLoopDelay` (a native timer, no JS wake-ups): the largest
 *   delay in the last ~10 s is what `etcd_monitor_event_loop_lag_seconds` exports;
 * - precisely during a timed call: while any timed call is in flight, a fine ticker records when the loop
 *   could not run it on time, so `end()` tells how much of that call's duration was this process being
 *   stalled (busy with other work, or not scheduled by the OS) rather than the member answering.
 *
 * A stall of the whole process shows in both; the ticker only runs while a timed call is in flight.
 */
import { monitorEventLoopDelay, performance, type IntervalHistogram } from 'node:perf_hooks';

/** Measures how long the event loop was stalled during one timed call. */
export interface StallMeter {
  /** Call when the timed call starts; returns its start time (performance.now()). */
  begin(): number;
  /** Call when it ends; returns the milliseconds of stall that overlapped [start, now]. */
  end(startedAt: number): number;
}

export interface LoopLagOptions {
  /** Period of the in-flight ticker (ms); a stall shorter than this may go unseen. */
  tickMs?: number;
  /** Window of the exported figure (ms). */
  windowMs?: number;
}

const RESOLUTION_MS = 10;
/** Stalls remembered for attribution (a timed call lasts at most its timeout, so this covers it). */
const STALL_MEMORY_MS = 60_000;
const MAX_STALLS = 4096;

export class LoopLag implements StallMeter {
  private readonly eld: IntervalHistogram;
  private readonly tickMs: number;
  private readonly windowMs: number;
  private readonly rotator: NodeJS.Timeout;
  private previousWindowMaxMs = 0;
  /** Stalls seen by the ticker: [end time, duration] (performance.now() ms), oldest first. */
  private readonly stalls: Array<[number, number]> = [];
  private inflight = 0;
  private ticker: NodeJS.Timeout | undefined;
  private lastTick = 0;

  constructor(o: LoopLagOptions = {}) {
    this.tickMs = o.tickMs ?? 2;
    this.windowMs = o.windowMs ?? 10_000;
    this.eld = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
    this.eld.enable();
    this.rotator = setInterval(() => this.rotate(), this.windowMs);
    this.rotator.unref();
  }

  private rotate(): void {
    this.previousWindowMaxMs = this.currentWindowMaxMs();
    this.eld.reset();
  }

  private currentWindowMaxMs(): number {
    // The histogram holds the time between its timer's runs: the delay is what exceeds the resolution.
    return this.eld.count > 0 ? Math.max(0, this.eld.max / 1e6 - RESOLUTION_MS) : 0;
  }

  /** The largest event-loop delay in the last one to two windows (ms). */
  recentMaxMs(): number {
    return Math.max(this.previousWindowMaxMs, this.currentWindowMaxMs());
  }

  private tick = (): void => {
    const now = performance.now();
    const late = now - this.lastTick - this.tickMs;
    if (late > 0.5) {
      this.stalls.push([now, late]);
      if (this.stalls.length > MAX_STALLS) this.stalls.splice(0, this.stalls.length - MAX_STALLS);
    }
    this.lastTick = now;
  };

  begin(): number {
    const now = performance.now();
    if (this.inflight++ === 0) {
      this.lastTick = now;
      this.ticker = setInterval(this.tick, this.tickMs);
      this.ticker.unref();
    }
    return now;
  }

  end(startedAt: number): number {
    const now = performance.now();
    let stalled = 0;
    for (let i = this.stalls.length - 1; i >= 0; i--) {
      const [stallEnd, ms] = this.stalls[i]!;
      if (stallEnd <= startedAt) break;
      const overlap = Math.min(now, stallEnd) - Math.max(startedAt, stallEnd - ms);
      if (overlap > 0) stalled += overlap;
    }
    // A stall still going on: the ticker has not run since it began.
    const pending = now - Math.max(this.lastTick, startedAt) - this.tickMs;
    if (pending > 0) stalled += pending;
    if (--this.inflight <= 0) {
      this.inflight = 0;
      clearInterval(this.ticker);
      this.ticker = undefined;
    }
    const keepAfter = now - STALL_MEMORY_MS;
    let drop = 0;
    while (drop < this.stalls.length && this.stalls[drop]![0] < keepAfter) drop++;
    if (drop > 0) this.stalls.splice(0, drop);
    return Math.min(stalled, now - startedAt);
  }

  close(): void {
    clearInterval(this.rotator);
    clearInterval(this.ticker);
    this.eld.disable();
  }
}

let shared: LoopLag | undefined;

/** The process-wide meter (created on first use). */
export function processLoopLag(): LoopLag {
  return (shared ??= new LoopLag());
}
