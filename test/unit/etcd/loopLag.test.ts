import { expect } from 'chai';
import { LoopLag } from '../../../src/etcd/loopLag.js';

const busy = (ms: number): void => {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    /* hold the event loop */
  }
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('event-loop stall meter', () => {
  let lag: LoopLag;
  beforeEach(() => (lag = new LoopLag({ tickMs: 2, windowMs: 60_000 })));
  afterEach(() => lag.close());

  it('attributes a stall of the loop to the timed call it overlapped', async () => {
    const t0 = lag.begin();
    await sleep(5);
    busy(30);
    await sleep(5);
    // The busy wait held the loop for 30 ms; the OS may add to it, never take from it.
    expect(lag.end(t0)).to.be.at.least(25);
  });

  it('does not count a stall before the call began', async () => {
    const warm = lag.begin();
    busy(60);
    await sleep(5);
    expect(lag.end(warm)).to.be.at.least(50);
    const t0 = lag.begin();
    await sleep(10);
    // Not the 60 ms of before (only what the OS may have taken meanwhile).
    expect(lag.end(t0)).to.be.below(45);
  });

  it('reports a stall still going on when the call ends', () => {
    const t0 = lag.begin();
    busy(20);
    expect(lag.end(t0)).to.be.at.least(15);
  });

  it('keeps the largest recent delay for the exported gauge', async () => {
    await sleep(30);
    busy(60);
    await sleep(30);
    expect(lag.recentMaxMs()).to.be.at.least(40);
  });
});
