import { expect } from 'chai';
import type { KubeClient, LeaseRecord } from '../../src/controller/kube.js';
import { LeaderElector } from '../../src/controller/leader.js';
import { silentLogger } from '../../src/log.js';

/** An in-memory Lease whose writes can be held back, to stop an elector with a lease round in flight. */
function leaseStore(): {
  kube: KubeClient;
  lease: () => LeaseRecord | undefined;
  holdWrites: () => () => void;
} {
  let lease: LeaseRecord | undefined;
  let gate: Promise<void> | undefined;
  const unsupported = async (): Promise<never> => {
    throw new Error('not used by the elector');
  };
  const kube: KubeClient = {
    listMonitors: unsupported,
    watchMonitors: unsupported,
    patchStatus: unsupported,
    createEvent: unsupported,
    readSecret: unsupported,
    getLease: async () => (lease ? { ...lease } : undefined),
    writeLease: async (_ns, _name, rec) => {
      await gate;
      lease = { ...rec };
      return true;
    },
  };
  return {
    kube,
    lease: () => lease,
    holdWrites: () => {
      let open!: () => void;
      gate = new Promise((r) => (open = r));
      return () => {
        gate = undefined;
        open();
      };
    },
  };
}

const OPTS = {
  namespace: 'ns',
  name: 'lease',
  identity: 'me',
  leaseDurationMs: 4000,
  renewDeadlineMs: 3000,
  retryPeriodMs: 20,
};

function until(what: string, ok: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const poll = (): void => {
      if (ok()) resolve();
      else if (Date.now() > end) reject(new Error(`timed out: ${what}`));
      else setTimeout(poll, 5);
    };
    poll();
  });
}

/** An elector on `store` that counts how often it was told it leads. */
function elector(store: ReturnType<typeof leaseStore>): { el: LeaderElector; started: () => number } {
  let started = 0;
  const el = new LeaderElector(
    store.kube,
    OPTS,
    { onStartedLeading: () => started++, onStoppedLeading: () => undefined },
    silentLogger(),
  );
  return { el, started: () => started };
}

describe('leader election: stopping with a lease round in flight', () => {
  it('a renewal that lands after stop() neither starts the controller again nor keeps the lease', async () => {
    const store = leaseStore();
    const { el, started } = elector(store);
    el.start();
    await until('leading', () => el.isLeader);
    const release = store.holdWrites(); // the next renewal hangs
    await new Promise((r) => setTimeout(r, 3 * OPTS.retryPeriodMs));
    const stopping = el.stop();
    release();
    await stopping;
    expect(started()).to.equal(1);
    expect(el.isLeader).to.equal(false);
    expect(store.lease()?.holder).to.equal(''); // released after the renewal, not overwritten by it
    await new Promise((r) => setTimeout(r, 5 * OPTS.retryPeriodMs));
    expect(started()).to.equal(1);
  });

  it('a first acquire that lands after stop() is released, and never told as leadership', async () => {
    const store = leaseStore();
    const release = store.holdWrites();
    const { el, started } = elector(store);
    el.start();
    await new Promise((r) => setTimeout(r, 10));
    const stopping = el.stop();
    release();
    await stopping;
    expect(started()).to.equal(0);
    expect(store.lease()?.holder).to.equal('');
  });
});
