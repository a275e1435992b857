/**
 * Capacity figures and advice on real etcd (SPEC §10), checked against etcd's own numbers:
 * - a steady writer with a small --quota-backend-bytes: our growth and quota-exhaustion forecast within
 *   ±25% of this test's own least-squares fit of the sizes etcd reports, and QuotaExhaustionSoon raised;
 * - delete + compact: DefragmentRecommended with reclaimable bytes within 10% of dbSize − dbSizeInUse,
 *   cleared after `etcdctl defrag`.
 */
import { expect } from 'chai';
import type { Advice, EtcdMonitorStatus } from '../../src/crd/types.js';
import { parseEndpoint } from '../../src/etcd/endpoints.js';
import { MemberClient } from '../../src/etcd/grpc.js';
import type { StandaloneApp } from '../../src/cli/monitorCommand.js';
import { EtcdCluster, etcdVersions } from '../helpers/etcdCluster.js';
import { getJson, startTestMonitor } from '../helpers/monitor.js';
import { waitFor } from '../helpers/procs.js';

const v35 = (): { binary: string; etcdctl: string } => etcdVersions().find((x) => x.name === 'etcd 3.5')!;

async function statusOf(app: StandaloneApp): Promise<EtcdMonitorStatus> {
  const r = await getJson(`${app.url}/api/v1/cluster/status`);
  expect(r.status).to.equal(200);
  return r.body as EtcdMonitorStatus;
}

function advice(s: EtcdMonitorStatus, code: string): Advice | undefined {
  return (s.advice ?? []).find((a) => a.code === code);
}

/** Ordinary least squares slope of (t ms, v) in v per second. */
function olsSlope(pts: Array<{ t: number; v: number }>): number {
  const n = pts.length;
  const mt = pts.reduce((a, p) => a + p.t, 0) / n;
  const mv = pts.reduce((a, p) => a + p.v, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of pts) {
    num += (p.t - mt) * (p.v - mv);
    den += (p.t - mt) ** 2;
  }
  return (num / den) * 1000;
}

describe('capacity and advice on real etcd 3.5', function () {
  this.timeout(240_000);

  describe('a steady writer against a small quota', () => {
    const QUOTA = 64 * 1024 * 1024;
    let cluster: EtcdCluster;
    let app: StandaloneApp | undefined;
    let writer: MemberClient | undefined;
    let writing = false;
    let loop: Promise<void> | undefined;

    before(async () => {
      cluster = await EtcdCluster.start({ size: 3, ...v35(), quotaBackendBytes: QUOTA });
    });
    after(async () => {
      writing = false;
      await loop?.catch(() => undefined);
      writer?.close();
      await app?.stop();
      await cluster?.stop();
    });

    it('forecasts quota exhaustion within ±25% of a fit of etcd’s own sizes, and advises', async () => {
      app = await startTestMonitor(cluster.endpoints, { intervalMs: 1000 });
      writer = new MemberClient(parseEndpoint(cluster.endpoints[0]!));
      const value = Buffer.alloc(8 * 1024, 7);
      writing = true;
      let i = 0;
      // ~40 puts/s of 8 KiB under new keys: about 1.1 GiB/h, so the 64 MiB quota is hours away at most.
      loop = (async () => {
        while (writing) {
          const t0 = Date.now();
          await writer!.put(Buffer.from(`/capacity/k${i++}`), value, 5000);
          await new Promise((r) => setTimeout(r, Math.max(0, 25 - (Date.now() - t0))));
        }
      })();
      // Our own record of what etcd says its size is, from the member the monitor takes (the largest).
      const clients = cluster.endpoints.map((e) => new MemberClient(parseEndpoint(e)));
      const sizes: Array<{ t: number; v: number }> = [];
      try {
        const early = await waitFor(
          'a first round',
          async () => (await statusOf(app!)).capacity,
          10_000,
          200,
        );
        expect(early.dbGrowthBytesPerHour).to.equal(undefined);
        expect(early.notes!.join('\n')).to.match(/a trend needs 30 rounds over 60 s of history/);
        const until = Date.now() + 75_000;
        while (Date.now() < until) {
          const t = Date.now();
          const all = await Promise.all(clients.map((c) => c.status(2000)));
          sizes.push({ t, v: Math.max(...all.map((s) => s.dbSizeBytes)) });
          await new Promise((r) => setTimeout(r, 1000));
        }
      } finally {
        for (const c of clients) c.close();
      }
      const s = await statusOf(app);
      const cap = s.capacity!;
      const ours = cap.dbGrowthBytesPerHour!;
      const fit = olsSlope(sizes) * 3600;
      expect(fit, 'the writer grew the DB').to.be.above(100 * 1024 * 1024);
      expect(ours, `ours ${ours} B/h vs the fit's ${Math.round(fit)} B/h`).to.be.within(
        fit * 0.75,
        fit * 1.25,
      );
      const last = sizes[sizes.length - 1]!;
      const fitLeft = (QUOTA - last.v) / (fit / 3600);
      const oursLeft = (Date.parse(cap.quotaExhaustionTime!) - last.t) / 1000;
      expect(oursLeft, `exhaustion in ${oursLeft}s vs ${fitLeft}s`).to.be.within(
        fitLeft * 0.75,
        fitLeft * 1.25,
      );
      expect(s.dbQuotaUsedPercent).to.be.above(25);
      const a = advice(s, 'QuotaExhaustionSoon');
      expect(a, JSON.stringify(s.advice)).to.not.equal(undefined);
      expect(a!.severity).to.equal('critical');
      expect(a!.evidence.doc).to.contain('etcd.io/docs');
      expect(s.phase).to.be.oneOf(['Healthy', 'Degraded']);
      const metrics = await (await fetch(`${app.url}/metrics`)).text();
      expect(metrics).to.match(/etcd_cluster_db_quota_exhaustion_timestamp_seconds\{cluster="test"\} \d+/);
      expect(metrics).to.match(
        /etcd_cluster_advice\{cluster="test",code="QuotaExhaustionSoon",severity="critical"\} 1/,
      );
      expect(metrics).to.match(/etcd_cluster_db_growth_bytes_per_second\{cluster="test"\} [\d.e+]+/);
    });
  });

  describe('delete + compact', () => {
    let cluster: EtcdCluster;
    let app: StandaloneApp | undefined;
    let clients: MemberClient[] = [];

    before(async () => {
      cluster = await EtcdCluster.start({ size: 3, ...v35() });
      clients = cluster.endpoints.map((e) => new MemberClient(parseEndpoint(e)));
    });
    after(async () => {
      for (const c of clients) c.close();
      await app?.stop();
      await cluster?.stop();
    });

    it('recommends defragmentation with etcd’s reclaimable bytes, and clears after etcdctl defrag', async () => {
      const value = Buffer.alloc(256 * 1024, 1);
      for (let i = 0; i < 40; i++) await clients[0]!.put(Buffer.from(`/frag/k${i}`), value, 5000);
      await clients[0]!.deletePrefix(Buffer.from('/frag/'), 5000);
      const rev = (await clients[0]!.status(5000)).revision;
      await cluster.etcdctl(['compact', String(rev), '--physical'], [cluster.endpoints[0]!]);
      app = await startTestMonitor(cluster.endpoints, {
        intervalMs: 1000,
        thresholds: { defragReclaimableBytes: 4 * 1024 * 1024, defragFragmentationPercent: 50 },
      });
      const raised = await waitFor(
        'DefragmentRecommended',
        async () => {
          // Freed pages count as free only after a later write transaction.
          await clients[0]!.put(Buffer.from('/frag/tick'), Buffer.from('x'), 5000);
          const s = await statusOf(app!);
          return advice(s, 'DefragmentRecommended') ? s : undefined;
        },
        30_000,
        500,
      );
      const etcdSays = await Promise.all(clients.map((c) => c.status(2000)));
      const reclaimable = Math.max(...etcdSays.map((m) => m.dbSizeBytes - m.dbSizeInUseBytes));
      const ours = raised.capacity!.reclaimableBytes!;
      expect(ours, `ours ${ours} vs etcd ${reclaimable}`).to.be.within(reclaimable * 0.9, reclaimable * 1.1);
      const a = advice(raised, 'DefragmentRecommended')!;
      expect(a.severity).to.equal('info');
      expect(a.evidence.threshold).to.equal(4 * 1024 * 1024);
      expect(raised.phase).to.equal('Healthy');
      for (const ep of cluster.endpoints) await cluster.etcdctl(['defrag'], [ep]);
      await waitFor(
        'DefragmentRecommended cleared',
        async () => !advice(await statusOf(app!), 'DefragmentRecommended'),
        20_000,
        500,
      );
    });
  });
});
