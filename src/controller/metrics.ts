/** The operator's own metrics, registered next to the cluster metrics. */
import client from 'prom-client';
import type { ShardSpec } from './shard.js';

export class OperatorMetrics {
  readonly reconcileDuration: client.Histogram;
  readonly statusPatches: client.Counter;
  readonly events: client.Counter;
  readonly watchRestarts: client.Counter;
  readonly isLeader: client.Gauge;

  constructor(
    registry: client.Registry,
    queueDepth: () => number,
    monitored: () => number,
    shard?: ShardSpec,
  ) {
    if (shard) {
      new client.Gauge({
        name: 'etcd_monitor_shard_info',
        help: 'The shard this replica belongs to (--shard of --total-shards); 1.',
        labelNames: ['shard', 'total_shards'],
        registers: [registry],
      }).set({ shard: String(shard.index), total_shards: String(shard.total) }, 1);
    }
    this.reconcileDuration = new client.Histogram({
      name: 'etcd_monitor_reconcile_duration_seconds',
      help: 'Time to reconcile one EtcdMonitor (secrets, monitor set-up, status write).',
      labelNames: ['result'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    });
    this.statusPatches = new client.Counter({
      name: 'etcd_monitor_status_patches_total',
      help: 'Status writes to the API server, by why they were made and whether they succeeded.',
      labelNames: ['reason', 'result'],
      registers: [registry],
    });
    this.events = new client.Counter({
      name: 'etcd_monitor_events_total',
      help: 'Kubernetes Events emitted, by reason.',
      labelNames: ['reason'],
      registers: [registry],
    });
    this.watchRestarts = new client.Counter({
      name: 'etcd_monitor_watch_restarts_total',
      help: 'Restarts of the EtcdMonitor watch, by cause.',
      labelNames: ['reason'],
      registers: [registry],
    });
    this.isLeader = new client.Gauge({
      name: 'etcd_monitor_is_leader',
      help: 'Whether this replica holds the leader lease (1 without leader election).',
      registers: [registry],
    });
    new client.Gauge({
      name: 'etcd_monitor_workqueue_depth',
      help: 'EtcdMonitors waiting to be reconciled.',
      registers: [registry],
      collect() {
        this.set(queueDepth());
      },
    });
    new client.Gauge({
      name: 'etcd_monitor_monitored_clusters',
      help: 'Clusters being probed.',
      registers: [registry],
      collect() {
        this.set(monitored());
      },
    });
  }
}
