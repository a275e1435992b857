/**
 * When a cluster's probe rounds run. Pure: the same key always gets the same phase in its interval, so
 * many clusters monitored by one process (operator or cost bench) do not probe in bursts.
 */
import { createHash } from 'node:crypto';

/** Spread rounds over the interval so many resources do not probe in bursts: each key's phase in it. */
export function spreadDelay(key: string, intervalMs: number): number {
  const h = createHash('sha1').update(key).digest().readUInt32BE(0);
  return h % Math.max(1, intervalMs);
}

/**
 * After a prompt first round: when the periodic rounds start. The key's spread phase, at least half an
 * interval after the first round (so the gap to the second round is within [interval/2, 1.5 interval)).
 */
export function laterRoundsDelay(key: string, intervalMs: number): number {
  const d = spreadDelay(key, intervalMs);
  return d < intervalMs / 2 ? d + intervalMs : d;
}

/**
 * How a resource's monitor starts. A resource with no verdict for its current generation (new, changed,
 * was Pending or Paused, or re-connected by this controller) gets its first round promptly — at most
 * `concurrency` first rounds run at once — and later rounds at its spread phase. A resource whose verdict
 * for this generation was written earlier (operator restart, leader takeover) keeps showing it and is
 * first probed at its spread phase, so a restart does not probe every cluster at the same moment.
 */
export function firstRoundPlan(
  key: string,
  intervalMs: number,
  prompt: boolean,
): { prompt: boolean; periodicDelayMs: number } {
  return prompt
    ? { prompt: true, periodicDelayMs: laterRoundsDelay(key, intervalMs) }
    : { prompt: false, periodicDelayMs: spreadDelay(key, intervalMs) };
}
