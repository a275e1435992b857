/**
 * Advice from real faults in real etcd (SPEC §10), through the standalone monitor's API:
 * - fsyncs slowed on one member with strace → SlowDisk and SlowBackendCommit naming that member only,
 *   cleared once strace is gone;
 * - peer traffic delayed by a proxy (this kernel has no netem) → SlowPeerNetwork;
 * - 4 members → EvenMemberCount; 3.5 with 3.6 → MixedVersions; a learner left unpromoted → LearnerNotPromoted.
 * Data on tmpfs, so the untouched members' syncs stay far below etcd's 10 ms.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import { main, type Io } from '../../src/cli/main.js';
import type { StandaloneApp } from '../../src/cli/monitorCommand.js';
import type { Advice, EtcdMonitorStatus } from '../../src/crd/types.js';
import type { Thresholds } from '../../src/health/evaluate.js';
import { EtcdCluster, etcdVersions } from '../helpers/etcdCluster.js';
import {
  fastDataRoot,
  slowDisk,
  startSlowPeerCluster,
  startWriter,
  stopAllFaults,
} from '../helpers/faults.js';
import { getJson, startTestMonitor } from '../helpers/monitor.js';
import { waitFor } from '../helpers/procs.js';

const version = (name: string): { binary: string; etcdctl: string } =>
  etcdVersions().find((x) => x.name === name)!;

async function statusOf(app: StandaloneApp): Promise<EtcdMonitorStatus> {
  const r = await getJson(`${app.url}/api/v1/cluster/status`);
  expect(r.status).to.equal(200);
  return r.body as EtcdMonitorStatus;
}

function keys(s: EtcdMonitorStatus): string[] {
  return (s.advice ?? []).map((a) => (a.member ? `${a.code}/${a.member}` : a.code));
}

function find(s: EtcdMonitorStatus, code: string, member?: string): Advice | undefined {
  return (s.advice ?? []).find((a) => a.code === code && (member === undefined || a.member === member));
}

describe('advice from real faults (etcd 3.5/3.6)', function () {
  this.timeout(300_000);
  const apps: StandaloneApp[] = [];
  const clusters: EtcdCluster[] = [];
  const roots: string[] = [];

  async function cluster(opts: Parameters<typeof EtcdCluster.start>[0]): Promise<EtcdCluster> {
    const root = fastDataRoot();
    roots.push(root);
    const c = await EtcdCluster.start({ ...opts, dataRoot: root });
    clusters.push(c);
    return c;
  }
  async function monitor(c: EtcdCluster, thresholds: Partial<Thresholds> = {}): Promise<StandaloneApp> {
    const app = await startTestMonitor(c.endpoints, {
      intervalMs: 1000,
      thresholds: { adviceWindowMs: 20_000, ...thresholds },
    });
    apps.push(app);
    return app;
  }

  afterEach(async () => {
    await stopAllFaults();
    for (const a of apps.splice(0)) await a.stop().catch(() => undefined);
    for (const c of clusters.splice(0)) await c.stop().catch(() => undefined);
    for (const r of roots.splice(0)) fs.rmSync(r, { recursive: true, force: true });
  });

  it('SlowDisk and SlowBackendCommit name the member whose syncs strace slows, and clear when it is gone', async () => {
    const c = await cluster({ size: 3, ...version('etcd 3.5') });
    const leader = await c.leaderIndex();
    const slow = (leader + 1) % 3;
    const name = c.members[slow]!.name;
    const writer = startWriter(c.members[leader]!.clientUrl, { perSecond: 20, maxMs: 150_000 });
    const app = await monitor(c);
    const disk = await slowDisk(c, slow, { delayMs: 30, target: 'both' });
    const raised = await waitFor(
      'SlowDisk and SlowBackendCommit',
      async () => {
        const s = await statusOf(app);
        return find(s, 'SlowDisk', name) && find(s, 'SlowBackendCommit', name) ? s : undefined;
      },
      60_000,
      500,
    );
    expect(
      keys(raised).filter((k) => k.startsWith('SlowDisk/') || k.startsWith('SlowBackendCommit/')),
    ).to.have.members([`SlowDisk/${name}`, `SlowBackendCommit/${name}`]);
    const a = find(raised, 'SlowDisk', name)!;
    expect(a.severity).to.equal('warning');
    expect(a.evidence.value).to.be.above(10);
    expect(a.evidence.threshold).to.equal(10);
    expect(a.evidence.unit).to.equal('ms');
    expect(a.evidence.doc).to.equal('https://etcd.io/docs/v3.5/op-guide/hardware/#disks');
    expect(find(raised, 'SlowBackendCommit', name)!.evidence.value).to.be.above(25);
    expect(raised.phase, 'advice never changes the phase').to.not.equal('Unhealthy');
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metrics).to.contain(
      `etcd_cluster_advice{cluster="test",code="SlowDisk",severity="warning",member="${name}"} 1`,
    );
    await disk.stop();
    await waitFor(
      'SlowDisk cleared',
      async () => {
        const s = await statusOf(app);
        return !find(s, 'SlowDisk', name) && !find(s, 'SlowBackendCommit', name);
      },
      60_000,
      500,
    );
    const w = await writer.stop();
    expect(w.puts).to.be.above(100);
  });

  it('SlowPeerNetwork when the peer round trip reaches the heartbeat interval', async () => {
    const net = await startSlowPeerCluster({
      delayMs: 60,
      size: 3,
      ...version('etcd 3.5'),
      heartbeatMs: 100,
      electionMs: 2000,
    });
    clusters.push(net.cluster);
    const app = await monitor(net.cluster, { adviceWindowMs: 60_000 });
    // etcd observes a smoothed RTT every 30 s per prober: > 100 ms shows about 65 s after start.
    const s = await waitFor(
      'SlowPeerNetwork',
      async () => {
        const st = await statusOf(app);
        return find(st, 'SlowPeerNetwork') ? st : undefined;
      },
      150_000,
      1000,
    );
    const a = find(s, 'SlowPeerNetwork')!;
    expect(a.evidence.value).to.be.at.least(100);
    expect(a.evidence.threshold).to.equal(100);
    expect(a.message).to.match(/--heartbeat-interval/);
    await net.stop();
  });

  it('EvenMemberCount, MixedVersions and LearnerNotPromoted from the shape of the cluster', async () => {
    const v35 = version('etcd 3.5');
    const v36 = version('etcd 3.6');
    const c = await cluster({ size: 4, ...v35, binaries: [v35.binary, v35.binary, v35.binary, v36.binary] });
    const app = await monitor(c, { learnerPromotionTimeoutMs: 5000 });
    const even = await waitFor(
      'EvenMemberCount and MixedVersions',
      async () => {
        const s = await statusOf(app);
        return find(s, 'EvenMemberCount') && find(s, 'MixedVersions') ? s : undefined;
      },
      20_000,
      500,
    );
    expect(find(even, 'MixedVersions')!.severity).to.equal('warning');
    expect(find(even, 'MixedVersions')!.message).to.match(/3\.5\.\d+.*3\.6\.\d+/);
    const idx = await c.addLearner({ binary: v36.binary });
    const learner = c.members[idx]!.name;
    const s = await waitFor(
      'LearnerNotPromoted',
      async () => {
        const st = await statusOf(app);
        return find(st, 'LearnerNotPromoted', learner) ? st : undefined;
      },
      30_000,
      500,
    );
    // 4 voters and a learner: the voters still count even.
    expect(find(s, 'EvenMemberCount')).to.not.equal(undefined);
    // The learner may trail the leader while it catches up (Degraded: lagging); it is healthy all the same.
    expect(s.healthy, JSON.stringify(s.conditions)).to.equal(true);
    await c.promote(idx);
    const after = await waitFor(
      'learner promoted: 5 voters',
      async () => {
        const st = await statusOf(app);
        return !find(st, 'LearnerNotPromoted') && !find(st, 'EvenMemberCount') ? st : undefined;
      },
      30_000,
      500,
    );
    expect(keys(after)).to.include('MixedVersions');
  });

  it('etcd-monitor advise prints the table and exits 1 only on a warning', async () => {
    const run = async (args: string[]): Promise<{ code: number; out: string; err: string }> => {
      let out = '';
      let err = '';
      const io: Io = { out: (x) => (out += x + '\n'), err: (x) => (err += x + '\n'), env: {} };
      return { code: await main(['advise', ...args], io), out, err };
    };
    const even = await cluster({ size: 4, ...version('etcd 3.5') });
    const a = await run([`--endpoints=${even.endpoints.join(',')}`, '--duration=4s']);
    expect(a.code, a.out + a.err).to.equal(0);
    expect(a.out).to.match(/INFO\s+\|\s+EvenMemberCount/);
    expect(a.out).to.match(/note: dbGrowthBytesPerHour: a trend needs 30 rounds/);
    expect(a.out).to.contain('https://etcd.io/docs/v3.5/faq/#why-an-odd-number-of-cluster-members');
    const old = await cluster({ size: 3, ...version('etcd 3.4 (Debian)') });
    const b = await run([`--endpoints=${old.endpoints.join(',')}`, '--duration=3s', '-w', 'json']);
    expect(b.code, b.out + b.err).to.equal(1);
    const j = JSON.parse(b.out) as { advice: Advice[] };
    expect(j.advice.filter((x) => x.code === 'UnsupportedVersion')).to.have.length(3);
    const bad = await run([`--endpoints=${old.endpoints.join(',')}`, '--wal-fsync-p99-ms=fast']);
    expect(bad.code).to.equal(2);
    expect(bad.err).to.match(/--wal-fsync-p99-ms/);
  });
});
