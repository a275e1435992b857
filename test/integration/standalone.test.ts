/** The core engine against a real 3-member etcd on loopback. */
import { expect } from 'chai';
import type { StandaloneApp } from '../../src/cli/monitorCommand.js';
import type { EtcdMonitorStatus } from '../../src/crd/types.js';
import { EtcdCluster, etcdVersions } from '../helpers/etcdCluster.js';
import { getJson, startTestMonitor } from '../helpers/monitor.js';
import { waitFor } from '../helpers/procs.js';

interface EtcdctlStatus {
  Endpoint: string;
  Status: {
    header: { cluster_id: number | string; member_id: number | string; raft_term: number };
    leader: number | string;
    dbSize: number;
    raftTerm: number;
    version: string;
  };
}

type StatusBody = EtcdMonitorStatus & { cluster: string };

const hex = (v: number | string): string => BigInt(v).toString(16);

async function status(app: StandaloneApp): Promise<StatusBody> {
  const r = await getJson(`${app.url}/api/v1/cluster/status`);
  expect(r.status, JSON.stringify(r.body)).to.equal(200);
  return r.body as StatusBody;
}

function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{') && !line.startsWith(name + ' ')) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    return Number(line.split(' ').pop());
  }
  return undefined;
}

for (const version of etcdVersions())
  describe(`standalone monitor against a real 3-member ${version.name}`, function () {
    this.timeout(120_000);
    let cluster: EtcdCluster;
    let app: StandaloneApp | undefined;

    before(async () => {
      cluster = await EtcdCluster.start({ size: 3, binary: version.binary, etcdctl: version.etcdctl });
    });
    after(async () => {
      await app?.stop();
      await cluster?.stop();
    });

    it('reports the leader, member IDs, raft terms and DB sizes that etcdctl reports', async () => {
      // Rounds are driven by runOnce(); a long interval keeps scheduled rounds from splitting the traffic window.
      app = await startTestMonitor(cluster.endpoints, { intervalMs: 60_000, timeoutMs: 800 });
      await waitFor('first round', async () => app!.monitor.rounds > 0, 10_000);
      // Read both views back to back; raft index moves, term and leader must not on a quiet cluster.
      await app.monitor.runOnce();
      const ours = await status(app);
      // etcdctl prints uint64 IDs as JSON numbers: read them as strings so no precision is lost.
      const raw = (await cluster.etcdctl(['endpoint', 'status', '-w', 'json'])).replace(
        /:\s*(\d{16,})/g,
        ':"$1"',
      );
      const theirs = JSON.parse(raw) as EtcdctlStatus[];
      expect(ours.phase).to.equal('Healthy');
      expect(ours.healthy).to.equal(true);
      expect(ours.memberCount).to.equal(3);
      expect(ours.healthyMembers).to.equal(3);
      expect(ours.quorumSize).to.equal(2);
      expect(ours.clusterID).to.equal(hex(theirs[0]!.Status.header.cluster_id));
      expect(ours.leader?.id).to.equal(hex(theirs[0]!.Status.leader));
      for (const t of theirs) {
        const m = ours.members.find((x) => x.endpoint === t.Endpoint);
        expect(m, t.Endpoint).to.not.equal(undefined);
        expect(m!.id).to.equal(hex(t.Status.header.member_id));
        expect(m!.raftTerm).to.equal(t.Status.raftTerm);
        expect(m!.version).to.equal(t.Status.version);
        expect(m!.role).to.equal(
          hex(t.Status.header.member_id) === hex(t.Status.leader) ? 'Leader' : 'Follower',
        );
        // DB size only grows on a quiet cluster by compaction-free writes; allow one page of drift.
        expect(Math.abs(m!.dbSizeBytes! - t.Status.dbSize)).to.be.at.most(8192);
      }
      expect(ours.conditions.map((c) => c.type)).to.include.members([
        'Healthy',
        'QuorumAvailable',
        'LeaderElected',
        'Degraded',
        'AlarmActive',
        'ConfigValid',
      ]);
      expect(ours.members.map((m) => m.name).sort()).to.deep.equal(['etcd1', 'etcd2', 'etcd3']);
    });

    it('exports real figures on /metrics and /api/v1/metrics/current', async () => {
      // Traffic between two rounds, so the interval histograms and the request rate have something to measure.
      await app!.monitor.runOnce();
      for (let i = 0; i < 10; i++) {
        await cluster.etcdctl(['put', `/metrics-test/k${i}`, 'v']);
        await cluster.etcdctl(['get', `/metrics-test/k${i}`]);
      }
      await app!.monitor.runOnce();
      const res = await fetch(`${app!.url}/metrics`);
      const text = await res.text();
      expect(res.headers.get('content-type')).to.match(/text\/plain/);
      expect(metricValue(text, 'etcd_cluster_healthy', { cluster: 'test' })).to.equal(1);
      expect(metricValue(text, 'etcd_cluster_has_leader', { cluster: 'test' })).to.equal(1);
      expect(metricValue(text, 'etcd_cluster_member_count', { cluster: 'test' })).to.equal(3);
      expect(metricValue(text, 'etcd_cluster_leader_changes_total', { cluster: 'test' })).to.equal(0);
      expect(metricValue(text, 'etcd_request_read_latency_p99_milliseconds')).to.be.greaterThan(0);
      expect(metricValue(text, 'etcd_request_write_latency_p99_milliseconds')).to.be.greaterThan(0);
      expect(metricValue(text, 'etcd_request_rate_per_second')).to.be.greaterThan(0);
      for (const member of ['etcd1', 'etcd2', 'etcd3']) {
        expect(metricValue(text, 'etcd_mvcc_db_total_size_bytes', { member })).to.be.greaterThan(0);
        expect(metricValue(text, 'etcd_server_proposals_committed_total', { member })).to.be.greaterThan(0);
        expect(metricValue(text, 'etcd_server_proposals_pending', { member })).to.be.at.least(0);
        expect(metricValue(text, 'etcd_server_memory_usage_bytes', { member })).to.be.greaterThan(1_000_000);
        expect(metricValue(text, 'etcd_server_watchers', { member })).to.be.at.least(0);
        expect(metricValue(text, 'etcd_member_healthy', { member })).to.equal(1);
        expect(metricValue(text, 'etcd_member_alarm', { member, alarm: 'NOSPACE' })).to.equal(0);
      }
      const current = await getJson(`${app!.url}/api/v1/metrics/current`);
      expect(current.status).to.equal(200);
      expect((current.body as { members: unknown[] }).members).to.have.length(3);
      const om = await fetch(`${app!.url}/metrics`, {
        headers: { accept: 'application/openmetrics-text; version=1.0.0' },
      });
      expect(om.headers.get('content-type')).to.match(/openmetrics/);
      expect(await om.text()).to.match(/# EOF\s*$/);
    });
  });
