/**
 * Maintenance when it is needed most: a real 3-member etcd 3.5 whose backend hit its quota (NOSPACE
 * raised, writes refused). A backup still runs (reads and snapshots are allowed); after the keys are
 * deleted and compacted, defragmentation runs (followers first, the leader last) and, when asked,
 * disarms the alarm, after which writes are accepted again. A CORRUPT alarm would still stop both.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MemberClient } from '../../src/etcd/grpc.js';
import { parseEndpoint } from '../../src/etcd/endpoints.js';
import { runBackup } from '../../src/maintenance/backup.js';
import { planDefrag, probeMembers, runDefrag } from '../../src/maintenance/defrag.js';
import { verifySnapshotFile } from '../../src/maintenance/snapshot.js';
import { blockingErrors } from '../../src/maintenance/statusErrors.js';
import { LocalStore } from '../../src/maintenance/stores.js';
import { EtcdCluster, etcdVersions } from '../helpers/etcdCluster.js';
import { waitFor } from '../helpers/procs.js';

describe('backup and defragmentation under a NOSPACE alarm (real etcd 3.5, 3 members)', function () {
  this.timeout(120_000);
  let cluster: EtcdCluster;
  let clients: MemberClient[];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'etcd-monitor-nospace-'));

  before(async () => {
    const v = etcdVersions().find((x) => x.name === 'etcd 3.5')!;
    cluster = await EtcdCluster.start({
      size: 3,
      binary: v.binary,
      etcdctl: v.etcdctl,
      quotaBackendBytes: 8 << 20,
    });
    clients = cluster.endpoints.map((e) => new MemberClient(parseEndpoint(e)));
    // Small keys to delete one at a time later: under NOSPACE a delete is the write that makes a member
    // commit its backend, and bbolt frees compacted pages only on a later commit.
    for (let i = 0; i < 100; i++) await clients[0]!.put(Buffer.from(`/tick/${i}`), Buffer.from('t'), 5000);
    const value = Buffer.alloc(256 * 1024, 3);
    let full = false;
    for (let i = 0; i < 200 && !full; i++) {
      await clients[0]!.put(Buffer.from(`/nospace/k${i}`), value, 5000).catch((e: Error) => {
        if (!/database space exceeded/.test(e.message)) throw e;
        full = true;
      });
    }
    expect(full, 'the quota was reached').to.equal(true);
    await waitFor(
      'every member lists the NOSPACE alarm in its Status',
      async () =>
        (await Promise.all(clients.map((c) => c.status(2000)))).every((s) =>
          s.errors.some((e) => /alarm:NOSPACE/.test(e)),
        ),
      10_000,
      100,
    );
  });
  after(async () => {
    for (const c of clients ?? []) c.close();
    await cluster?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('etcd names the alarm in Status.errors, and only that is set aside', async () => {
    const s = await clients[0]!.status(2000);
    expect(s.errors.join('; ')).to.match(/memberID:\d+ alarm:NOSPACE/);
    expect(blockingErrors(s.errors)).to.deep.equal([]);
    expect(blockingErrors([...s.errors, 'memberID:1 alarm:CORRUPT'])).to.deep.equal([
      'memberID:1 alarm:CORRUPT',
    ]);
  });

  it('a backup still runs: a verified snapshot of the full backend from a follower', async () => {
    const out = await runBackup({
      cluster: 'prod/full',
      clients,
      member: 'follower',
      store: new LocalStore(dir),
      retention: { keep: 3 },
      timeoutMs: 2000,
      stream: { idleTimeoutMs: 10_000, overallTimeoutMs: 60_000 },
      now: () => new Date(),
    });
    expect(out.role).to.equal('follower');
    const v = await verifySnapshotFile(path.join(dir, out.name));
    expect(v.problem).to.equal(undefined);
    expect(v.summary?.liveKeys).to.be.above(20);
  });

  it('after delete + compact, defragmentation runs leader last and disarms NOSPACE when asked; writes work again', async () => {
    await clients[0]!.deletePrefix(Buffer.from('/nospace/'), 5000);
    const rev = (await clients[0]!.status(2000)).revision;
    await cluster.etcdctl(['compact', String(rev), '--physical'], [cluster.endpoints[0]!]);
    const thresholds = { minFragmentationPercent: 50, minReclaimableBytes: 1 << 20 };
    let tick = 0;
    await waitFor(
      'every member over both thresholds',
      async () => {
        await clients[0]!.deletePrefix(Buffer.from(`/tick/${tick++}`), 5000);
        const plan = planDefrag(await probeMembers(clients, 2000), thresholds, false);
        return plan.run && plan.order.length === 3;
      },
      20_000,
      200,
    );
    const plan = planDefrag(await probeMembers(clients, 2000), thresholds, false);
    if (!plan.run) throw new Error(plan.message);
    expect(plan.order.map((m) => m.leader)).to.deep.equal([false, false, true]);
    const res = await runDefrag(
      plan.order,
      {
        client: (ep) => clients.find((c) => c.endpoint.url === ep)!,
        members: () => probeMembers(clients, 2000),
        sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
        now: () => Date.now(),
      },
      { timeoutMs: 10_000, disarmNoSpace: true },
    );
    expect(res.error).to.equal(undefined);
    expect(res.steps).to.have.length(3);
    expect(res.disarmedNoSpace).to.equal(true);
    expect(await clients[0]!.alarms(2000)).to.deep.equal([]);
    await clients[1]!.put(Buffer.from('/nospace/after'), Buffer.from('ok'), 5000);
  });
});
