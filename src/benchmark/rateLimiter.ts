/**
 * Token-bucket rate limiting (like golang.org/x/time/rate, which etcd's benchmark uses with burst 1).
 * The math is pure: time is passed in (milliseconds). `reserve` always grants the token and says
 * how long the caller must wait before using it, so concurrent callers are spaced 1/rate apart.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  /**
   * @param ratePerSecond tokens added per second (> 0)
   * @param burst bucket size: how many requests may go at once after an idle period (>= 1)
   * @param nowMs the current time; the bucket starts full
   */
  constructor(
    readonly ratePerSecond: number,
    readonly burst = 1,
    nowMs = 0,
  ) {
    if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond))
      throw new RangeError('rate must be a positive number');
    if (!(burst >= 1) || !Number.isFinite(burst)) throw new RangeError('burst must be >= 1');
    this.tokens = burst;
    this.last = nowMs;
  }

  private refill(nowMs: number): void {
    if (nowMs > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((nowMs - this.last) * this.ratePerSecond) / 1000);
      this.last = nowMs;
    }
  }

  /** Take one token; returns the milliseconds to wait before acting on it (0 = go now). */
  reserve(nowMs: number): number {
    this.refill(nowMs);
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : (-this.tokens * 1000) / this.ratePerSecond;
  }

  /** Tokens available at `nowMs` (negative: already promised to waiting callers). */
  available(nowMs: number): number {
    this.refill(nowMs);
    return this.tokens;
  }
}
