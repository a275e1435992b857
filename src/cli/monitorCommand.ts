/** `etcd-monitor monitor` (standalone mode): one cluster, the HTTP API and /metrics. */
import { ApiServer } from '../api/server.js';
import { EtcdProber } from '../etcd/probe.js';
import type { Thresholds } from '../health/evaluate.js';
import { createLogger, type LogFormat, type Logger } from '../log.js';
import { MetricsExporter } from '../metrics/exporter.js';
import { ClusterMonitor } from '../monitor/clusterMonitor.js';
import { MonitorRegistry } from '../monitor/registry.js';
import {
  CONNECTION_FLAGS,
  UsageError,
  choiceFlag,
  connectionConfig,
  durationFlag,
  type ConnectionConfig,
  numberFlag,
  str,
  type Values,
} from './args.js';
import { runCommand, startServing, waitForStop } from './command.js';
import type { Io } from './io.js';
import { MONITOR_USAGE } from './usage.js';
import { MAINTENANCE_FLAGS, maintenanceConfig } from './maintenanceFlags.js';
import { THRESHOLD_FLAGS, thresholdsFromFlags } from './thresholdFlags.js';
import { MaintenanceScheduler, type MaintenanceConfig } from '../maintenance/scheduler.js';

export const MONITOR_FLAGS = {
  ...CONNECTION_FLAGS,
  interval: { type: 'string' },
  'health-check-interval': { type: 'string' },
  'api-host': { type: 'string' },
  'api-port': { type: 'string' },
  'api-token': { type: 'string' },
  'no-member-metrics': { type: 'boolean' },
  'metrics-urls': { type: 'string' },
  'write-probe': { type: 'boolean' },
  ...THRESHOLD_FLAGS,
  'run-benchmark': { type: 'boolean' },
  'benchmark-type': { type: 'string' },
  'benchmark-ops': { type: 'string' },
  ...MAINTENANCE_FLAGS,
} as const;

export interface StandaloneConfig {
  interval: number;
  apiHost: string;
  apiPort: number;
  apiToken?: string;
  thresholds: Thresholds;
  logLevel: string;
  logFormat?: LogFormat;
  /** Scheduled backups / defragmentation (--backup-*, --defrag-*). */
  maintenance?: MaintenanceConfig;
}

export function standaloneConfig(v: Values, env: NodeJS.ProcessEnv): StandaloneConfig {
  if (v.interval !== undefined && v['health-check-interval'] !== undefined)
    throw new UsageError('give --interval or --health-check-interval, not both');
  const interval = durationFlag(v, v.interval !== undefined ? 'interval' : 'health-check-interval', 10_000);
  if (interval < 1000) throw new UsageError('--interval must be at least 1s');
  const logFormat =
    str(v, 'log-format') !== undefined
      ? choiceFlag(v, 'log-format', ['json', 'text'] as const, 'text')
      : undefined;
  const logLevel = choiceFlag(v, 'log-level', ['error', 'warn', 'info', 'debug'] as const, 'info');
  return {
    interval,
    apiHost: str(v, 'api-host') ?? '0.0.0.0',
    apiPort: numberFlag(v, 'api-port', 8080, 0, 65535),
    apiToken: str(v, 'api-token') ?? env.ETCD_MONITOR_API_TOKEN,
    thresholds: thresholdsFromFlags(v),
    logLevel,
    logFormat,
  };
}

/** The default per-call deadline: 5s, or half the interval when that is shorter (so `--interval=1s` alone works). */
export function defaultTimeoutMs(intervalMs: number): number {
  return Math.min(5000, Math.floor(intervalMs / 2));
}

/** The connection and the monitor settings from the flags, the timeout checked against the interval. */
export function monitorConfig(
  v: Values,
  env: NodeJS.ProcessEnv,
): { conn: ConnectionConfig; cfg: StandaloneConfig } {
  const cfg = standaloneConfig(v, env);
  const conn = connectionConfig(v, env, defaultTimeoutMs(cfg.interval));
  if (conn.timeoutMs >= cfg.interval)
    throw new UsageError(
      `--timeout (${conn.timeoutMs}ms) must be shorter than --interval (${cfg.interval}ms)`,
    );
  cfg.maintenance = maintenanceConfig(v, env, conn.clusterName, conn.timeoutMs);
  return { conn, cfg };
}

export function runMonitor(argv: string[], io: Io, signal?: AbortSignal): Promise<number> {
  return runCommand(
    argv,
    io,
    { name: 'etcd-monitor monitor', usage: MONITOR_USAGE, flags: MONITOR_FLAGS },
    async (v) => {
      if (v['run-benchmark'] || v['benchmark-type'] !== undefined || v['benchmark-ops'] !== undefined)
        // The guide's `--run-benchmark` mode: the load tool, loaded only then.
        return (await import('./benchmarkCommand.js')).runGuideBenchmark(v, io, signal);
      const { conn, cfg } = monitorConfig(v, io.env);
      const metricsUrls = str(v, 'metrics-urls')
        ?.split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      if (metricsUrls && metricsUrls.length !== conn.endpoints.length)
        throw new UsageError(`--metrics-urls needs one URL per endpoint (${conn.endpoints.length})`);
      const log = createLogger(cfg.logLevel, cfg.logFormat);
      const app = await startStandalone(
        conn,
        cfg,
        { metrics: v['no-member-metrics'] !== true, metricsUrls, writeProbe: v['write-probe'] === true },
        log,
      );
      await waitForStop(signal);
      log.info('stopping');
      await app.stop();
      return 0;
    },
  );
}

export interface StandaloneApp {
  registry: MonitorRegistry;
  monitor: ClusterMonitor;
  exporter: MetricsExporter;
  api: ApiServer;
  /** The address the API listens on. */
  url: string;
  stop(): Promise<void>;
}

/** Wire one cluster's monitor, the metrics exporter and the API, and start probing. */
export async function startStandalone(
  conn: ConnectionConfig,
  cfg: StandaloneConfig,
  probe: { metrics: boolean; metricsUrls?: string[]; writeProbe: boolean },
  log: Logger,
): Promise<StandaloneApp> {
  const registry = new MonitorRegistry();
  const exporter = new MetricsExporter(registry);
  const prober = new EtcdProber(conn.endpoints, conn.conn, {
    timeoutMs: conn.timeoutMs,
    metrics: probe.metrics,
    metricsUrls: probe.metricsUrls,
    writeProbePrefix: probe.writeProbe ? '/etcd-monitor/probe/' : undefined,
  });
  const monitor = new ClusterMonitor(
    {
      name: conn.clusterName,
      intervalMs: cfg.interval,
      timeoutMs: conn.timeoutMs,
      thresholds: cfg.thresholds,
      backupConfigured: cfg.maintenance?.backup !== undefined,
    },
    prober,
    log,
  );
  registry.add(monitor);
  if (cfg.maintenance) {
    const sched = new MaintenanceScheduler(
      cfg.maintenance,
      {
        connect: async () => {
          const { MemberClient } = await import('../etcd/grpc.js');
          return conn.endpoints.map((e) => new MemberClient(e, conn.conn));
        },
        onEvent: (ev) => monitor.maintenanceEvent(ev),
      },
      new Date(),
    );
    await sched.resume();
    monitor.setMaintenance(sched);
  }
  let lastPhase: string | undefined;
  monitor.on('round', (r) => {
    const s = r.evaluation.status;
    if (s.phase !== lastPhase) {
      log.info(`cluster phase ${lastPhase ?? '(none)'} -> ${s.phase}`, {
        cluster: r.cluster,
        leader: s.leader?.name,
        members: s.summary.members,
      });
      lastPhase = s.phase;
    }
  });
  const serving = await startServing(
    registry,
    exporter,
    { host: cfg.apiHost, port: cfg.apiPort, token: cfg.apiToken, ready: () => monitor.rounds > 0 },
    log,
  );
  log.info('etcd-monitor started', {
    cluster: conn.clusterName,
    endpoints: conn.endpoints.map((e) => e.url),
    api: serving.listenUrl,
    interval: `${cfg.interval}ms`,
    timeout: `${conn.timeoutMs}ms`,
    tls: Boolean(conn.conn.tls),
    auth: conn.conn.auth ? conn.conn.auth.username : false,
  });
  monitor.start(0);
  return {
    registry,
    monitor,
    exporter,
    api: serving.api,
    url: serving.url,
    async stop() {
      serving.dashboard.close();
      await registry.stopAll();
      await serving.api.close();
    },
  };
}
