import { expect } from 'chai';
import type { ClusterProber } from '../../src/etcd/probe.js';
import { DEFAULT_THRESHOLDS } from '../../src/health/evaluate.js';
import type { ClusterObservation } from '../../src/etcd/observation.js';
import { silentLogger } from '../../src/log.js';
import { MetricsExporter } from '../../src/metrics/exporter.js';
import { ClusterMonitor } from '../../src/monitor/clusterMonitor.js';
import { MonitorRegistry } from '../../src/monitor/registry.js';
import { observe, type MemberSpec } from './fixtures.js';

const OPENMETRICS = 'application/openmetrics-text; version=1.0.0';

function monitor(
  registry: MonitorRegistry,
  name: string,
  specs: () => MemberSpec[],
  extra: (o: ClusterObservation) => void = () => undefined,
): ClusterMonitor {
  const prober: ClusterProber = {
    probe: (now) => {
      const o = observe(specs(), now);
      extra(o);
      return Promise.resolve(o);
    },
    close: () => undefined,
  };
  const m = new ClusterMonitor(
    { name, intervalMs: 10_000, timeoutMs: 1000, thresholds: DEFAULT_THRESHOLDS },
    prober,
    silentLogger(),
  );
  registry.add(m);
  return m;
}

function family(text: string, name: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
}

describe('metrics exporter', () => {
  it('writes every cluster and member series in the Prometheus text format', async () => {
    const registry = new MonitorRegistry();
    const exporter = new MetricsExporter(registry);
    const a = monitor(
      registry,
      'ns/a',
      () => [{ latencyMs: 2 }, { latencyMs: 30 }, {}],
      (o) => {
        o.members[0]!.metrics = {
          proposalsCommitted: 42,
          proposalsPending: 1,
          residentMemoryBytes: 3.3e7,
          openGrpcCalls: 2,
          watchers: 5,
        };
        o.members[1]!.metricsError = 'GET http://x/metrics: HTTP 500';
      },
    );
    const b = monitor(registry, 'ns/b"q', () => [{ alarms: ['NOSPACE'] }, {}, {}]);
    await a.runOnce();
    await a.runOnce();
    await b.runOnce();
    const { contentType, body } = await exporter.render();
    expect(contentType).to.match(/^text\/plain; version=0\.0\.4/);
    expect(body).to.include('# HELP etcd_cluster_healthy Whether the cluster is healthy');
    expect(body).to.include(
      '# TYPE etcd_cluster_healthy gauge\netcd_cluster_healthy{cluster="ns/a"} 1\netcd_cluster_healthy{cluster="ns/b\\"q"} 0',
    );
    expect(family(body, 'etcd_cluster_member_count')).to.deep.equal([
      'etcd_cluster_member_count{cluster="ns/a"} 3',
      'etcd_cluster_member_count{cluster="ns/b\\"q"} 3',
    ]);
    expect(family(body, 'etcd_server_proposals_committed_total')).to.deep.equal([
      'etcd_server_proposals_committed_total{cluster="ns/a",member="etcd1"} 42',
    ]);
    expect(family(body, 'etcd_server_memory_usage_bytes')).to.deep.equal([
      'etcd_server_memory_usage_bytes{cluster="ns/a",member="etcd1"} 33000000',
    ]);
    expect(family(body, 'etcd_member_alarm')).to.include(
      'etcd_member_alarm{cluster="ns/b\\"q",member="etcd1",alarm="NOSPACE"} 1',
    );
    expect(family(body, 'etcd_member_alarm')).to.include(
      'etcd_member_alarm{cluster="ns/b\\"q",member="etcd2",alarm="NOSPACE"} 0',
    );
    expect(family(body, 'etcd_cluster_leader_changes_total')).to.deep.equal([
      'etcd_cluster_leader_changes_total{cluster="ns/a"} 0',
      'etcd_cluster_leader_changes_total{cluster="ns/b\\"q"} 0',
    ]);
    expect(family(body, 'etcd_monitor_probe_errors_total')).to.deep.equal([
      'etcd_monitor_probe_errors_total{cluster="ns/a",reason="metrics"} 2',
    ]);
    // The histogram: cumulative buckets, le first, then sum and count, for each member of each cluster.
    const h = body
      .split('\n')
      .filter(
        (l) =>
          l.startsWith('etcd_member_probe_duration_seconds') && l.includes('cluster="ns/a",member="etcd2"'),
      );
    expect(h).to.have.length(16);
    expect(h[0]).to.equal(
      'etcd_member_probe_duration_seconds_bucket{le="0.001",cluster="ns/a",member="etcd2"} 0',
    );
    expect(h[4]).to.equal(
      'etcd_member_probe_duration_seconds_bucket{le="0.025",cluster="ns/a",member="etcd2"} 0',
    );
    expect(h[5]).to.equal(
      'etcd_member_probe_duration_seconds_bucket{le="0.05",cluster="ns/a",member="etcd2"} 2',
    );
    expect(h[13]).to.equal(
      'etcd_member_probe_duration_seconds_bucket{le="+Inf",cluster="ns/a",member="etcd2"} 2',
    );
    expect(h[14]).to.equal('etcd_member_probe_duration_seconds_sum{cluster="ns/a",member="etcd2"} 0.06');
    expect(h[15]).to.equal('etcd_member_probe_duration_seconds_count{cluster="ns/a",member="etcd2"} 2');
    // The monitor's own event-loop lag (process-wide, no cluster label).
    expect(body).to.match(
      /^# TYPE etcd_monitor_event_loop_lag_seconds gauge\netcd_monitor_event_loop_lag_seconds \d+(\.\d+)?(e-\d+)?$/m,
    );
    // Families are separated by a blank line, like prom-client's own; process metrics are there too.
    expect(body).to.match(/\n\n# HELP etcd_cluster_has_leader /);
    expect(body).to.match(/^process_cpu_seconds_total /m);
    expect(body.endsWith('\n')).to.equal(true);
  });

  it('leaves out of the probe-duration histogram a read that set up its connection or was stalled', async () => {
    const registry = new MonitorRegistry();
    const exporter = new MetricsExporter(registry);
    await monitor(
      registry,
      'ns/a',
      () => [{}, {}, {}],
      (o) => {
        o.members[0]!.healthSetup = true;
        o.members[1]!.healthLatencyMs = 20;
        o.members[1]!.healthStallMs = 15;
      },
    ).runOnce();
    const counts = family((await exporter.render()).body, 'etcd_member_probe_duration_seconds_count');
    expect(counts).to.deep.equal([
      'etcd_member_probe_duration_seconds_count{cluster="ns/a",member="etcd3"} 1',
    ]);
  });

  it('writes OpenMetrics when asked, and Prometheus scrapes afterwards keep the _total names', async () => {
    const registry = new MonitorRegistry();
    const exporter = new MetricsExporter(registry);
    await monitor(registry, 'ns/a', () => [{}, {}, {}]).runOnce();
    const om = await exporter.render(OPENMETRICS);
    expect(om.contentType).to.match(/openmetrics/);
    expect(om.body).to.match(/# EOF\n$/);
    expect(om.body.match(/# EOF/g)).to.have.length(1);
    expect(om.body).to.include(
      '# TYPE etcd_cluster_leader_changes counter\netcd_cluster_leader_changes_total{cluster="ns/a"} 0',
    );
    expect(om.body).to.not.match(/\n\n/);
    const prom = (await exporter.render()).body;
    expect(prom).to.include(
      '# TYPE etcd_cluster_leader_changes_total counter\netcd_cluster_leader_changes_total{cluster="ns/a"} 0',
    );
    expect(prom).to.match(/^process_cpu_seconds_total /m);
    // Concurrent scrapes of both kinds do not see each other's names.
    const [p2, o2] = await Promise.all([exporter.render(), exporter.render(OPENMETRICS)]);
    expect(p2.body).to.match(/^process_cpu_seconds_total /m);
    expect(o2.body).to.match(/^# TYPE process_cpu_seconds counter$/m);
  });

  it("drops a removed cluster's series", async () => {
    const registry = new MonitorRegistry();
    const exporter = new MetricsExporter(registry);
    await monitor(registry, 'ns/a', () => [{}, {}, {}]).runOnce();
    await monitor(registry, 'ns/gone', () => [{ up: false }, {}, {}]).runOnce();
    expect((await exporter.render()).body).to.include('cluster="ns/gone"');
    await registry.remove('ns/gone');
    const body = (await exporter.render()).body;
    expect(body).to.not.include('cluster="ns/gone"');
    expect(body).to.include('etcd_cluster_healthy{cluster="ns/a"} 1');
  });
});
