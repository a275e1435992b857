/** `etcd-monitor operator`: watch EtcdMonitor resources and monitor every cluster they name. */
import os from 'node:os';
import { ApiServer } from '../api/server.js';
import { Controller } from '../controller/controller.js';
import { createKubeClient, loadKubeConfig, type KubeClient } from '../controller/kube.js';
import { DEFAULT_LEASE, LeaderElector } from '../controller/leader.js';
import { OperatorMetrics } from '../controller/metrics.js';
import { shardFromPodName, shardLeaseName, type ShardSpec } from '../controller/shard.js';
import { createLogger, type Logger } from '../log.js';
import { MetricsExporter } from '../metrics/exporter.js';
import { MonitorRegistry } from '../monitor/registry.js';
import { UsageError, choiceFlag, durationFlag, numberFlag, str, type Values } from './args.js';
import { runCommand, startServing, waitForStop } from './command.js';
import type { Io } from './io.js';
import { OPERATOR_USAGE } from './usage.js';

export const OPERATOR_FLAGS = {
  kubeconfig: { type: 'string' },
  namespace: { type: 'string' },
  'label-selector': { type: 'string' },
  'leader-elect': { type: 'boolean' },
  'leader-elect-namespace': { type: 'string' },
  'leader-elect-lease-duration': { type: 'string' },
  'leader-elect-renew-deadline': { type: 'string' },
  'leader-elect-retry-period': { type: 'string' },
  identity: { type: 'string' },
  shard: { type: 'string' },
  'total-shards': { type: 'string' },
  'shard-from-pod-name': { type: 'boolean' },
  'api-host': { type: 'string' },
  'api-port': { type: 'string' },
  'api-token': { type: 'string' },
  'max-concurrent-reconciles': { type: 'string' },
  'status-heartbeat': { type: 'string' },
  'secret-refresh-interval': { type: 'string' },
  'watch-watchdog': { type: 'string' },
  'log-level': { type: 'string' },
  'log-format': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export interface OperatorConfig {
  kubeconfig?: string;
  namespace?: string;
  labelSelector?: string;
  leaderElect: boolean;
  leaseNamespace: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  identity: string;
  apiHost: string;
  apiPort: number;
  apiToken?: string;
  concurrency: number;
  heartbeatMs: number;
  secretRefreshMs: number;
  watchdogMs: number;
  /** Probe only the EtcdMonitors this shard owns (undefined: all of them, one shard). */
  shard?: ShardSpec;
}

/** --shard/--total-shards, or --shard-from-pod-name: the trailing StatefulSet ordinal of $POD_NAME mod total. */
function shardConfig(v: Values, env: NodeJS.ProcessEnv): ShardSpec | undefined {
  const fromPod = v['shard-from-pod-name'] === true;
  const hasShard = str(v, 'shard') !== undefined;
  const total = numberFlag(v, 'total-shards', 1, 1, 4096);
  if (!Number.isInteger(total)) throw new UsageError(`--total-shards: expected an integer, got "${total}"`);
  if (fromPod && hasShard) throw new UsageError('use either --shard or --shard-from-pod-name, not both');
  if (str(v, 'total-shards') === undefined) {
    if (hasShard || fromPod) throw new UsageError('--shard and --shard-from-pod-name need --total-shards');
    return undefined;
  }
  let index = 0;
  if (fromPod) {
    const pod = env.POD_NAME;
    if (!pod) throw new UsageError('--shard-from-pod-name needs $POD_NAME (the downward API)');
    try {
      index = shardFromPodName(pod, total);
    } catch (e) {
      throw new UsageError(`--shard-from-pod-name: ${(e as Error).message}`);
    }
  } else if (hasShard) {
    index = numberFlag(v, 'shard', 0, 0, total - 1);
    if (!Number.isInteger(index))
      throw new UsageError(`--shard: expected an integer, got "${str(v, 'shard')}"`);
  } else if (total > 1) {
    throw new UsageError('--total-shards needs --shard or --shard-from-pod-name');
  }
  return total > 1 ? { index, total } : undefined;
}

export function operatorConfig(v: Values, env: NodeJS.ProcessEnv): OperatorConfig {
  const cfg: OperatorConfig = {
    kubeconfig: str(v, 'kubeconfig') ?? env.KUBECONFIG,
    namespace: str(v, 'namespace') || undefined,
    labelSelector: str(v, 'label-selector') || undefined,
    leaderElect: v['leader-elect'] === true,
    leaseNamespace: str(v, 'leader-elect-namespace') ?? env.POD_NAMESPACE ?? str(v, 'namespace') ?? 'default',
    leaseDurationMs: durationFlag(v, 'leader-elect-lease-duration', DEFAULT_LEASE.leaseDurationMs),
    renewDeadlineMs: durationFlag(v, 'leader-elect-renew-deadline', DEFAULT_LEASE.renewDeadlineMs),
    retryPeriodMs: durationFlag(v, 'leader-elect-retry-period', DEFAULT_LEASE.retryPeriodMs),
    identity: str(v, 'identity') ?? env.POD_NAME ?? `${os.hostname()}_${process.pid}`,
    apiHost: str(v, 'api-host') ?? '0.0.0.0',
    apiPort: numberFlag(v, 'api-port', 8080, 0, 65535),
    apiToken: str(v, 'api-token') ?? env.ETCD_MONITOR_API_TOKEN,
    concurrency: numberFlag(v, 'max-concurrent-reconciles', 8, 1, 256),
    heartbeatMs: durationFlag(v, 'status-heartbeat', 5 * 60_000),
    secretRefreshMs: durationFlag(v, 'secret-refresh-interval', 30_000),
    watchdogMs: durationFlag(v, 'watch-watchdog', 120_000),
    shard: shardConfig(v, env),
  };
  if (cfg.renewDeadlineMs >= cfg.leaseDurationMs)
    throw new UsageError('--leader-elect-renew-deadline must be shorter than --leader-elect-lease-duration');
  if (cfg.retryPeriodMs >= cfg.renewDeadlineMs)
    throw new UsageError('--leader-elect-retry-period must be shorter than --leader-elect-renew-deadline');
  return cfg;
}

export interface OperatorApp {
  registry: MonitorRegistry;
  api: ApiServer;
  url: string;
  controller: () => Controller | undefined;
  elector?: LeaderElector;
  stop(): Promise<void>;
}

/** Wire the operator; with leader election the controller runs only while this replica leads. */
export async function startOperator(
  cfg: OperatorConfig,
  kube: KubeClient,
  log: Logger,
): Promise<OperatorApp> {
  const registry = new MonitorRegistry();
  const exporter = new MetricsExporter(registry);
  let controller: Controller | undefined;
  const metrics = new OperatorMetrics(
    exporter.registry,
    () => controller?.queueDepth ?? 0,
    () => registry.size,
    cfg.shard,
  );
  const newController = (): Controller =>
    new Controller(kube, registry, log, metrics, {
      namespace: cfg.namespace,
      labelSelector: cfg.labelSelector,
      concurrency: cfg.concurrency,
      heartbeatMs: cfg.heartbeatMs,
      secretRefreshMs: cfg.secretRefreshMs,
      watchdogMs: cfg.watchdogMs,
      shard: cfg.shard,
    });
  let elector: LeaderElector | undefined;
  const startController = (): void => {
    controller = newController();
    controller.start();
    metrics.isLeader.set(1);
  };
  const stopController = async (): Promise<void> => {
    const c = controller;
    controller = undefined;
    metrics.isLeader.set(0);
    await c?.stop();
  };
  // Ready: the leader (or the only replica) once its informer has synced; a standby while it reaches the
  // API server, i.e. can take over. (A standby that is never Ready deadlocks Deployment rollouts and
  // `helm --wait`: the new Pods cannot become leader while the old leader runs, and it is not removed
  // until they are Ready.)
  const serving = await startServing(
    registry,
    exporter,
    {
      host: cfg.apiHost,
      port: cfg.apiPort,
      token: cfg.apiToken,
      ready: () => (controller ? controller.synced : Boolean(elector?.inContact)),
    },
    log,
  );
  if (cfg.leaderElect) {
    metrics.isLeader.set(0);
    elector = new LeaderElector(
      kube,
      {
        namespace: cfg.leaseNamespace,
        name: shardLeaseName('etcd-monitor-operator', cfg.shard),
        identity: cfg.identity,
        leaseDurationMs: cfg.leaseDurationMs,
        renewDeadlineMs: cfg.renewDeadlineMs,
        retryPeriodMs: cfg.retryPeriodMs,
      },
      { onStartedLeading: startController, onStoppedLeading: () => void stopController() },
      log,
    );
    elector.start();
  } else {
    startController();
  }
  log.info('operator started', {
    namespace: cfg.namespace ?? '(all)',
    labelSelector: cfg.labelSelector,
    leaderElect: cfg.leaderElect,
    identity: cfg.identity,
    shard: cfg.shard ? `${cfg.shard.index}/${cfg.shard.total}` : undefined,
    api: serving.listenUrl,
  });
  return {
    registry,
    api: serving.api,
    url: serving.url,
    controller: () => controller,
    elector,
    async stop() {
      serving.dashboard.close();
      await elector?.stop();
      await stopController();
      await registry.stopAll();
      await serving.api.close();
    },
  };
}

export function runOperator(argv: string[], io: Io): Promise<number> {
  return runCommand(
    argv,
    io,
    { name: 'etcd-monitor operator', usage: OPERATOR_USAGE, flags: OPERATOR_FLAGS },
    async (v) => {
      const cfg = operatorConfig(v, io.env);
      const logFormat =
        str(v, 'log-format') !== undefined
          ? choiceFlag(v, 'log-format', ['json', 'text'] as const, 'json')
          : undefined;
      const log = createLogger(
        choiceFlag(v, 'log-level', ['error', 'warn', 'info', 'debug'] as const, 'info'),
        logFormat,
      );
      let kube: KubeClient;
      try {
        kube = createKubeClient(loadKubeConfig(cfg.kubeconfig));
      } catch (e) {
        io.err(`etcd-monitor operator: cannot load the Kubernetes configuration: ${(e as Error).message}`);
        return 1;
      }
      const app = await startOperator(cfg, kube, log);
      await waitForStop();
      log.info('stopping');
      await app.stop();
      return 0;
    },
  );
}
