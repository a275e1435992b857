/**
 * Defragmentation against a real 3-member etcd: fragment the backend (big values written, deleted,
 * compacted), then defragment followers first and the leader last, each re-checked healthy; the DB
 * shrinks; under the thresholds, or with a member down, nothing runs and the reason says why.
 */
import { expect } from 'chai';
import { MemberClient } from '../../src/etcd/grpc.js';
import { parseEndpoint } from '../../src/etcd/endpoints.js';
import { planDefrag, probeMembers, runDefrag, type DefragIo } from '../../src/maintenance/defrag.js';
import { EtcdCluster, etcdVersions } from '../helpers/etcdCluster.js';
import { waitFor } from '../helpers/procs.js';

describe('defragmentation (real etcd 3.5, 3 members)', function () {
  this.timeout(120_000);
  let cluster: EtcdCluster;
  let clients: MemberClient[];
  const io = (): DefragIo => ({
    client: (ep) => clients.find((c) => c.endpoint.url === ep)!,
    members: () => probeMembers(clients, 2000),
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    now: () => Date.now(),
  });

  before(async () => {
    const v = etcdVersions().find((x) => x.name === 'etcd 3.5')!;
    cluster = await EtcdCluster.start({ size: 3, binary: v.binary, etcdctl: v.etcdctl });
    clients = cluster.endpoints.map((e) => new MemberClient(parseEndpoint(e)));
    const value = Buffer.alloc(256 * 1024, 1);
    for (let i = 0; i < 40; i++) await clients[0]!.put(Buffer.from(`/defrag/k${i}`), value, 5000);
    await clients[0]!.deletePrefix(Buffer.from('/defrag/'), 5000);
    const s = await clients[0]!.status(5000);
    await cluster.etcdctl(['compact', String(s.revision), '--physical'], [cluster.endpoints[0]!]);
    // Each member frees the pages on its own backend commit: wait until all show the space reclaimable.
    await waitFor(
      'every member ≥ 50% fragmented',
      async () => {
        // Freed pages become free only on a later write transaction with no older reader open.
        await clients[0]!.put(Buffer.from('/defrag/tick'), Buffer.from('x'), 5000);
        return (await probeMembers(clients, 2000)).every((m) => m.dbSizeInUseBytes < m.dbSizeBytes / 2);
      },
      20_000,
      200,
    );
  });
  after(async () => {
    for (const c of clients ?? []) c.close();
    await cluster?.stop();
  });

  it('skips below the thresholds and says by how much', async () => {
    const plan = planDefrag(
      await probeMembers(clients, 2000),
      { minFragmentationPercent: 50, minReclaimableBytes: 1 << 30 },
      false,
    );
    expect(plan).to.deep.include({ run: false, reason: 'BelowThreshold' });
    expect(plan.message).to.match(/most is \d+% \/ [\d.]+MiB/);
  });

  it('defragments followers first and the leader last, and the database shrinks', async () => {
    const before = await probeMembers(clients, 2000);
    const plan = planDefrag(before, { minFragmentationPercent: 50, minReclaimableBytes: 1 << 20 }, false);
    if (!plan.run) expect.fail(plan.message);
    expect(plan.order).to.have.length(3);
    expect(plan.order[2]!.leader).to.equal(true);
    const res = await runDefrag(plan.order, io(), { timeoutMs: 10_000, disarmNoSpace: false });
    expect(res.error).to.equal(undefined);
    expect(res.steps.map((s) => s.endpoint)).to.deep.equal(plan.order.map((m) => m.endpoint));
    expect(res.reclaimedBytes).to.be.greaterThan(5 << 20);
    for (const s of res.steps) expect(s.afterBytes).to.be.lessThan(s.beforeBytes);
    const after = await probeMembers(clients, 2000);
    expect(after.every((m) => m.healthy)).to.equal(true);
  });

  it('does nothing while a voting member is down', async () => {
    await cluster.kill(1);
    try {
      const plan = planDefrag(
        await probeMembers(clients, 1000),
        { minFragmentationPercent: 0, minReclaimableBytes: 0 },
        false,
      );
      expect(plan).to.deep.include({ run: false, reason: 'MemberUnhealthy' });
    } finally {
      cluster.restart(1);
      await cluster.waitHealthy(30_000);
    }
  });
});
