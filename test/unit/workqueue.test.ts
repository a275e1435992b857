import { expect } from 'chai';
import { Backoff, DEFAULT_BACKOFF, WorkQueue, type Timers } from '../../src/controller/workqueue.js';

/** A fake clock: timers run only when the test advances time. */
class FakeClock implements Timers {
  now = 0;
  private seq = 0;
  private readonly pending = new Map<number, { at: number; fn: () => void }>();

  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.pending.set(id, { at: this.now + ms, fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }

  /** When the next timer is due, relative to now (undefined: none). */
  get nextIn(): number | undefined {
    const ats = [...this.pending.values()].map((t) => t.at);
    return ats.length ? Math.min(...ats) - this.now : undefined;
  }

  get size(): number {
    return this.pending.size;
  }

  advance(ms: number): void {
    const until = this.now + ms;
    for (;;) {
      const due = [...this.pending.entries()]
        .filter(([, t]) => t.at <= until)
        .sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.pending.delete(due[0]);
      this.now = due[1].at;
      due[1].fn();
    }
    this.now = until;
  }
}

describe('backoff', () => {
  it('doubles from the base per failure in a row, up to the cap, per key', () => {
    const b = new Backoff({ baseMs: 5, maxMs: 1000 });
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9].map(() => b.next('a'))).to.deep.equal([
      5, 10, 20, 40, 80, 160, 320, 640, 1000,
    ]);
    expect(b.next('a')).to.equal(1000);
    expect(b.next('b')).to.equal(5);
    expect(b.failures('a')).to.equal(10);
    b.forget('a');
    expect(b.failures('a')).to.equal(0);
    expect(b.next('a')).to.equal(5);
    expect(b.failures('b')).to.equal(1);
  });
  it('defaults: 100 ms doubling to a 5 min cap, and never overflows', () => {
    const b = new Backoff();
    expect(DEFAULT_BACKOFF).to.deep.equal({ baseMs: 100, maxMs: 300_000 });
    const d = Array.from({ length: 2000 }, () => b.next('k'));
    expect(d.slice(0, 4)).to.deep.equal([100, 200, 400, 800]);
    expect(d[11]).to.equal(204_800);
    expect(d[12]).to.equal(300_000);
    expect(d[1999]).to.equal(300_000);
  });
});

describe('work queue retries', () => {
  function setup(failUntil: Map<string, number>): {
    q: WorkQueue;
    clock: FakeClock;
    runs: string[];
    errors: Array<[string, number, number]>;
  } {
    const clock = new FakeClock();
    const runs: string[] = [];
    const errors: Array<[string, number, number]> = [];
    const q = new WorkQueue(
      2,
      async (k) => {
        runs.push(k);
        const left = failUntil.get(k) ?? 0;
        if (left > 0) {
          failUntil.set(k, left - 1);
          throw new Error(`${k} failed`);
        }
      },
      (k, _e, retryInMs, failures) => errors.push([k, retryInMs, failures]),
      { backoff: { baseMs: 10, maxMs: 50 }, timers: clock },
    );
    return { q, clock, runs, errors };
  }

  it('retries a failing key with exponential backoff and forgets it on success', async () => {
    const { q, clock, runs, errors } = setup(new Map([['a', 5]]));
    q.add('a');
    await q.idle();
    expect(runs).to.deep.equal(['a']);
    expect(q.retrying).to.equal(1);
    expect(clock.nextIn).to.equal(10);
    clock.advance(9);
    await q.idle();
    expect(runs).to.have.length(1); // not before its time
    for (const wait of [1, 20, 40, 50, 50]) {
      clock.advance(wait);
      await q.idle();
    }
    expect(runs).to.have.length(6);
    expect(errors).to.deep.equal([
      ['a', 10, 1],
      ['a', 20, 2],
      ['a', 40, 3],
      ['a', 50, 4],
      ['a', 50, 5],
    ]);
    expect(q.failures('a')).to.equal(0);
    expect(q.retrying).to.equal(0);
    expect(clock.size).to.equal(0);
  });

  it('a key added by an event while it waits out its backoff runs at once; the retry is dropped and the backoff not doubled', async () => {
    const fails = new Map([['a', 2]]);
    const { q, clock, runs, errors } = setup(fails);
    q.add('a');
    await q.idle();
    clock.advance(10);
    await q.idle();
    expect(errors.map((e) => e[1])).to.deep.equal([10, 20]); // waiting 20 ms now
    expect(q.failures('a')).to.equal(2);
    // The event: processed now, not after the backoff, and the pending retry does not run as well.
    fails.set('a', 1);
    q.add('a');
    await q.idle();
    expect(runs).to.have.length(3);
    // It failed again: the wait is for 3 failures in a row, not 4 (the event did not count as one).
    expect(errors.at(-1)).to.deep.equal(['a', 40, 3]);
    expect(clock.size).to.equal(1);
    // Another event, which succeeds: failures forgotten, nothing left to retry.
    q.add('a');
    await q.idle();
    expect(runs).to.have.length(4);
    expect(q.failures('a')).to.equal(0);
    expect(clock.size).to.equal(0);
    clock.advance(1000);
    await q.idle();
    expect(runs).to.have.length(4);
  });

  it('keys back off independently; a success of one leaves the other alone', async () => {
    const { q, clock, runs } = setup(
      new Map([
        ['a', 3],
        ['b', 1],
      ]),
    );
    q.add('a');
    q.add('b');
    await q.idle();
    clock.advance(10);
    await q.idle();
    expect(runs).to.deep.equal(['a', 'b', 'a', 'b']);
    expect(q.failures('b')).to.equal(0);
    expect(q.failures('a')).to.equal(2);
    clock.advance(20);
    await q.idle();
    clock.advance(40);
    await q.idle();
    expect(runs.filter((r) => r === 'a')).to.have.length(4);
    expect(q.failures('a')).to.equal(0);
  });

  it('a failure while an event for the key is pending runs it again at once, not after the backoff', async () => {
    const clock = new FakeClock();
    let release!: () => void;
    let n = 0;
    const q = new WorkQueue(
      1,
      async () => {
        n++;
        if (n === 1) {
          await new Promise<void>((r) => (release = r));
          throw new Error('first run fails');
        }
      },
      () => undefined,
      { backoff: { baseMs: 10, maxMs: 50 }, timers: clock },
    );
    q.add('a');
    await new Promise((r) => setImmediate(r));
    q.add('a'); // an event during the failing run
    release();
    await q.idle();
    expect(n).to.equal(2);
    expect(q.failures('a')).to.equal(0);
    expect(clock.size).to.equal(0);
  });

  it('stop drops pending retries', async () => {
    const { q, clock, runs } = setup(new Map([['a', 10]]));
    q.add('a');
    await q.idle();
    expect(clock.size).to.equal(1);
    await q.stop();
    expect(clock.size).to.equal(0);
    clock.advance(1000);
    expect(runs).to.have.length(1);
  });
});
