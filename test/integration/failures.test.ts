/** Failure modes against real etcd members: a killed leader, a frozen member, NOSPACE, TLS. */
import { expect } from 'chai';
import fs from 'node:fs';
import type { StandaloneApp } from '../../src/cli/monitorCommand.js';
import type { EtcdMonitorStatus } from '../../src/crd/types.js';
import { makePki, type Pki } from '../helpers/certs.js';
import { EtcdCluster } from '../helpers/etcdCluster.js';
import { getJson, startTestMonitor } from '../helpers/monitor.js';
import { waitFor } from '../helpers/procs.js';

const INTERVAL = 1000;
const TIMEOUT = 700;

function metric(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{') && !line.startsWith(name + ' ')) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
      return Number(line.split(' ').pop());
  }
  return undefined;
}

async function scrape(app: StandaloneApp): Promise<string> {
  return (await fetch(`${app.url}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
}

describe('failure modes against a real 3-member etcd', function () {
  this.timeout(120_000);
  let cluster: EtcdCluster;
  let app: StandaloneApp;

  before(async () => {
    cluster = await EtcdCluster.start({ size: 3 });
    app = await startTestMonitor(cluster.endpoints, { intervalMs: INTERVAL, timeoutMs: TIMEOUT });
    await waitFor('Healthy', async () => app.monitor.status?.phase === 'Healthy', 15_000);
  });
  after(async () => {
    await app?.stop();
    await cluster?.stop();
  });

  it('turns Degraded within two intervals plus the timeout when the leader is killed, and counts one leader change', async () => {
    const leader = await cluster.leaderIndex();
    const oldLeaderName = cluster.members[leader]!.name;
    const before = metric(await scrape(app), 'etcd_cluster_leader_changes_total', { cluster: 'test' });
    expect(before).to.equal(0);
    const t0 = Date.now();
    await cluster.kill(leader);
    await waitFor(
      'Degraded',
      async () => app.monitor.status?.phase === 'Degraded',
      2 * INTERVAL + TIMEOUT + 500,
      20,
    );
    const degradedAfter = Date.now() - t0;
    expect(degradedAfter).to.be.at.most(2 * INTERVAL + TIMEOUT + 500);
    const s = await waitFor(
      'a new leader',
      async () => {
        const st = app.monitor.status;
        return st?.hasLeader && st.leader?.name !== oldLeaderName ? st : undefined;
      },
      10_000,
    );
    expect(s.healthy).to.equal(true);
    expect(s.healthyMembers).to.equal(2);
    expect(s.members.find((m) => m.name === oldLeaderName)!.healthy).to.equal(false);
    expect(s.conditions.find((c) => c.type === 'Degraded')).to.include({
      status: 'True',
      reason: 'MemberUnhealthy',
    });
    // A few more rounds: the change stays counted once.
    const rounds = app.monitor.rounds;
    await waitFor('three more rounds', async () => app.monitor.rounds >= rounds + 3, 10_000);
    expect(app.monitor.status!.leaderChanges).to.equal(1);
    expect(metric(await scrape(app), 'etcd_cluster_leader_changes_total', { cluster: 'test' })).to.equal(1);
  });

  it('reports Unhealthy with no quorum when a second member is frozen, and the API still answers within the timeout', async () => {
    const running = cluster.members.map((_, i) => i).filter((i) => cluster.isRunning(i));
    const victim = running[0]!;
    cluster.freeze(victim);
    try {
      const s = await waitFor(
        'Unhealthy',
        async () => (app.monitor.status?.phase === 'Unhealthy' ? app.monitor.status : undefined),
        3 * INTERVAL + 2 * TIMEOUT + 2000,
        20,
      );
      expect(s.healthy).to.equal(false);
      expect(s.conditions.find((c) => c.type === 'QuorumAvailable')!.status).to.equal('False');
      const t0 = Date.now();
      const r = await getJson(`${app.url}/api/v1/cluster/status`);
      expect(Date.now() - t0).to.be.below(TIMEOUT);
      expect(r.status).to.equal(200);
      expect((r.body as EtcdMonitorStatus).phase).to.equal('Unhealthy');
      // A round with a hung member never takes much longer than the timeout.
      const round = await app.monitor.runOnce();
      expect(round.durationMs).to.be.below(TIMEOUT + 300);
      expect(metric(await scrape(app), 'etcd_cluster_healthy', { cluster: 'test' })).to.equal(0);
    } finally {
      cluster.thaw(victim);
    }
  });
});

describe('NOSPACE alarm on a real etcd with a tiny quota', function () {
  this.timeout(120_000);
  let cluster: EtcdCluster;
  let app: StandaloneApp;

  before(async () => {
    cluster = await EtcdCluster.start({ size: 3, quotaBackendBytes: 2 * 1024 * 1024 });
    app = await startTestMonitor(cluster.endpoints, { intervalMs: INTERVAL, timeoutMs: TIMEOUT });
  });
  after(async () => {
    await app?.stop();
    await cluster?.stop();
  });

  it('shows the alarm in status and metrics, and clears it after disarm', async () => {
    const value = 'x'.repeat(100 * 1024);
    let full = false;
    for (let i = 0; i < 200 && !full; i++) {
      try {
        await cluster.etcdctl(['put', `/fill/${i}`, value]);
      } catch (e) {
        full = /database space exceeded/.test(String((e as { stderr?: string }).stderr ?? e));
        if (!full) throw e;
      }
    }
    expect(full, 'etcd never reported NOSPACE').to.equal(true);
    const s = await waitFor(
      'AlarmActive',
      async () => (app.monitor.status?.alarms.length ? app.monitor.status : undefined),
      5000,
      50,
    );
    expect(s.alarms.map((a) => a.type)).to.include('NOSPACE');
    expect(s.phase).to.equal('Unhealthy');
    expect(s.conditions.find((c) => c.type === 'AlarmActive')).to.include({
      status: 'True',
      reason: 'NOSPACE',
    });
    const text = await scrape(app);
    const members = cluster.members.map((m) =>
      metric(text, 'etcd_member_alarm', { member: m.name, alarm: 'NOSPACE' }),
    );
    expect(members.some((v) => v === 1)).to.equal(true);
    expect(metric(text, 'etcd_cluster_healthy', { cluster: 'test' })).to.equal(0);

    // The operator's recovery: free space, compact, defragment, disarm.
    await cluster.etcdctl(['del', '--prefix', '/fill/']);
    const rev = /"revision":(\d+)/.exec(await cluster.etcdctl(['get', '/none', '-w', 'json']))![1]!;
    await cluster.etcdctl(['compact', String(rev)]);
    await cluster.etcdctl(['defrag']);
    await cluster.etcdctl(['alarm', 'disarm']);
    const cleared = await waitFor(
      'alarm cleared',
      async () =>
        app.monitor.status?.alarms.length === 0 && app.monitor.status.healthy
          ? app.monitor.status
          : undefined,
      5000,
      50,
    );
    expect(cleared.conditions.find((c) => c.type === 'AlarmActive')!.status).to.equal('False');
    expect(metric(await scrape(app), 'etcd_member_alarm', { alarm: 'NOSPACE', member: 'etcd1' })).to.equal(0);
  });
});

describe('mutual TLS against a real etcd', function () {
  this.timeout(120_000);
  let pki: Pki;
  let cluster: EtcdCluster;
  const apps: StandaloneApp[] = [];

  before(async () => {
    pki = makePki();
    cluster = await EtcdCluster.start({
      size: 3,
      tls: {
        certFile: pki.serverCertFile,
        keyFile: pki.serverKeyFile,
        caFile: pki.caFile,
        clientCertAuth: true,
      },
    });
  });
  after(async () => {
    for (const a of apps) await a.stop();
    await cluster?.stop();
    pki?.cleanup();
  });

  it('probes every member over TLS with a client certificate', async () => {
    const app = await startTestMonitor(cluster.endpoints, {
      conn: {
        tls: {
          ca: fs.readFileSync(pki.caFile),
          cert: fs.readFileSync(pki.clientCertFile),
          key: fs.readFileSync(pki.clientKeyFile),
        },
      },
    });
    apps.push(app);
    const r = await app.monitor.runOnce();
    expect(
      r.evaluation.status.phase,
      JSON.stringify(r.evaluation.status.members.map((m) => m.errors)),
    ).to.equal('Healthy');
    expect(r.evaluation.status.members.every((m) => m.endpoint.startsWith('https://'))).to.equal(true);
    // The members' /metrics are scraped over the same mutual TLS.
    expect(r.observation.members.every((m) => m.metrics?.proposalsCommitted !== undefined)).to.equal(true);
  });

  it('reports a wrong CA as a clear probe error, not a crash', async () => {
    const app = await startTestMonitor(cluster.endpoints, {
      conn: {
        tls: {
          ca: fs.readFileSync(pki.otherCaFile),
          cert: fs.readFileSync(pki.clientCertFile),
          key: fs.readFileSync(pki.clientKeyFile),
        },
      },
    });
    apps.push(app);
    const r = await app.monitor.runOnce();
    const s = r.evaluation.status;
    expect(s.phase).to.equal('Unreachable');
    const err = s.members[0]!.errors.join('\n');
    expect(err).to.match(/UNAVAILABLE/);
    expect(err.toLowerCase()).to.match(/certificate|self.signed|verify|issuer/);
    const api = await getJson(`${app.url}/api/v1/cluster/status`);
    expect(api.status).to.equal(200);
  });

  it('reports a missing client certificate as a probe error', async () => {
    const app = await startTestMonitor(cluster.endpoints, {
      conn: { tls: { ca: fs.readFileSync(pki.caFile) } },
    });
    apps.push(app);
    const r = await app.monitor.runOnce();
    expect(r.evaluation.status.phase).to.equal('Unreachable');
    expect(r.evaluation.status.members[0]!.errors.join('\n')).to.match(/UNAVAILABLE|handshake|certificate/i);
  });
});
