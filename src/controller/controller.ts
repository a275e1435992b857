/**
 * The EtcdMonitor controller: keeps one cluster monitor per resource, and writes what it sees back as
 * status and Events. Every change (watch event, probe round, secret refresh) becomes a key in the
 * work queue; reconciling a key is the only place that touches the API server for that resource.
 */
import type { EtcdMonitorStatus } from '../crd/types.js';
import { EtcdProber, type ClusterProber } from '../etcd/probe.js';
import type { Endpoint } from '../etcd/endpoints.js';
import type { ConnectionOptions } from '../etcd/grpc.js';
import type { ClusterEvent } from '../health/evaluate.js';
import type { Logger } from '../log.js';
import { ClusterMonitor } from '../monitor/clusterMonitor.js';
import type { MonitorRegistry } from '../monitor/registry.js';
import { firstRoundPlan } from '../monitor/schedule.js';
import { resolveSpec, type ResolvedSpec, type SecretLookup, type SecretsForSpec } from './config.js';
import { MonitorInformer } from './informer.js';
import type { EtcdMonitorObject, KubeClient } from './kube.js';
import { mergePatch } from './mergePatch.js';
import { ResourceMaintenance } from './maintenance.js';
import type { RestoreJobSettings } from './restoreJobManifest.js';
import type { OperatorMetrics } from './metrics.js';
import { invalidStatus, pausedStatus, pendingStatus } from './statusShapes.js';
import { DEFAULT_HEARTBEAT_MS, decideWrite } from './statusPolicy.js';
import { DEFAULT_BACKOFF, Limiter, WorkQueue, type BackoffOptions } from './workqueue.js';
import { continuedFirstRoundDelay, fieldManager, owns, type ShardSpec } from './shard.js';

export interface ControllerOptions {
  namespace?: string;
  labelSelector?: string;
  concurrency?: number;
  heartbeatMs?: number;
  secretRefreshMs?: number;
  watchdogMs?: number;
  /**
   * A new or changed resource is probed at once; Pending is written only if its first verdict has not
   * arrived after this long (a slow or unreachable cluster), so the usual case costs one status write.
   */
  pendingGraceMs?: number;
  /** Build the prober for a resource (the real one talks gRPC to the members). */
  proberFactory?: (
    endpoints: Endpoint[],
    conn: ConnectionOptions,
    opts: ConstructorParameters<typeof EtcdProber>[2],
  ) => ClusterProber;
  /** A failed reconcile (e.g. a refused status write) is retried after this per-key backoff. */
  retryBackoff?: BackoffOptions;
  /**
   * verify.restoreTest as a Job: where and how (default: from the operator Pod's environment, which the
   * chart sets). Used when etcd and etcdutl are not on the operator's PATH.
   */
  restoreJob?: RestoreJobSettings | { missing: string };
  /**
   * Run as one shard (shard.ts): probe, write status and emit Events only for the resources it owns, as
   * field manager etcd-monitor-shard-<i>-of-<n>; a resource it takes over continues the old owner's schedule.
   */
  shard?: ShardSpec;
}

interface Managed {
  monitor?: ClusterMonitor;
  connectionKey?: string;
  /** What we last wrote (or found) in the API server. */
  written?: EtcdMonitorStatus;
  lastWriteMs?: number;
  pendingEvents: ClusterEvent[];
  lastProblem?: string;
  secrets: SecretsForSpec;
  secretsReadAt: number;
  secretsGeneration?: number;
  /** A monitor was started for this key by this controller (so any status we find is not inherited). */
  probedBefore: boolean;
  /** Write Pending from this time on unless the first verdict came first (see pendingGraceMs). */
  pendingDueMs?: number;
  pendingTimer?: NodeJS.Timeout;
  /** Scheduled maintenance (spec.backup / spec.maintenance), re-made when its plan changes. */
  maintenance?: ResourceMaintenance;
}

export class Controller {
  readonly informer: MonitorInformer;
  private readonly queue: WorkQueue;
  private readonly firstRounds: Limiter;
  private readonly managed = new Map<string, Managed>();
  private secretTicker: NodeJS.Timeout | undefined;
  private readonly opts: Required<
    Omit<ControllerOptions, 'namespace' | 'labelSelector' | 'restoreJob' | 'shard'>
  > &
    Pick<ControllerOptions, 'namespace' | 'labelSelector' | 'restoreJob' | 'shard'>;

  constructor(
    private readonly kube: KubeClient,
    private readonly registry: MonitorRegistry,
    private readonly log: Logger,
    private readonly metrics: OperatorMetrics | undefined,
    opts: ControllerOptions,
  ) {
    this.opts = {
      concurrency: 8,
      heartbeatMs: DEFAULT_HEARTBEAT_MS,
      secretRefreshMs: 30_000,
      watchdogMs: 120_000,
      pendingGraceMs: 1000,
      proberFactory: (e, c, o) => new EtcdProber(e, c, o),
      retryBackoff: DEFAULT_BACKOFF,
      ...opts,
    };
    this.firstRounds = new Limiter(this.opts.concurrency);
    this.queue = new WorkQueue(
      this.opts.concurrency,
      (k) => this.reconcile(k),
      (k, e, retryInMs, failures) =>
        this.log.error('reconcile failed; retrying', { key: k, error: String(e), retryInMs, failures }),
      { backoff: this.opts.retryBackoff },
    );
    this.informer = new MonitorInformer(
      kube,
      { namespace: opts.namespace, labelSelector: opts.labelSelector, watchdogMs: this.opts.watchdogMs },
      (_ev, key, obj) => {
        if (this.owned(obj) || this.managed.has(key)) this.queue.add(key);
      },
      log,
      (reason) => this.metrics?.watchRestarts.inc({ reason }),
    );
  }

  get queueDepth(): number {
    return this.queue.depth;
  }

  get synced(): boolean {
    return this.informer.hasSynced;
  }

  start(): void {
    this.informer.start();
    this.secretTicker = setInterval(() => {
      for (const [key, obj] of this.informer.cache)
        if ((obj.spec?.tls || obj.spec?.auth) && this.owned(obj)) this.queue.add(key);
    }, this.opts.secretRefreshMs);
    this.secretTicker.unref?.();
  }

  async stop(): Promise<void> {
    this.informer.stop();
    if (this.secretTicker) clearInterval(this.secretTicker);
    await this.queue.stop();
    for (const key of [...this.managed.keys()]) await this.teardown(key);
  }

  private owned(obj: EtcdMonitorObject): boolean {
    return owns(this.opts.shard, obj.metadata.uid);
  }

  /** Resolves once every queued reconcile has run (tests). */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  private async teardown(key: string): Promise<void> {
    const m = this.managed.get(key);
    this.managed.delete(key);
    if (m) {
      this.cancelPending(m);
      m.maintenance?.stop();
    }
    if (m?.monitor) await this.registry.remove(key);
  }

  private cancelPending(m: Managed): void {
    if (m.pendingTimer) clearTimeout(m.pendingTimer);
    m.pendingTimer = undefined;
    m.pendingDueMs = undefined;
  }

  private async stopMonitor(key: string, m: Managed): Promise<void> {
    this.cancelPending(m);
    m.maintenance?.stop();
    if (!m.monitor) return;
    m.monitor = undefined;
    m.connectionKey = undefined;
    await this.registry.remove(key);
  }

  private async readSecrets(obj: EtcdMonitorObject, m: Managed): Promise<void> {
    const ns = obj.metadata.namespace;
    const now = Date.now();
    const fresh =
      now - m.secretsReadAt < this.opts.secretRefreshMs && m.secretsGeneration === obj.metadata.generation;
    if (fresh) return;
    const read = async (name: string | undefined): Promise<SecretLookup | undefined> =>
      name ? this.kube.readSecret(ns, name) : undefined;
    m.secrets = {
      tls: await read(obj.spec.tls?.secretName),
      auth: await read(obj.spec.auth?.secretName),
      backupS3: await read(obj.spec.backup?.destination?.s3?.secretName),
    };
    m.secretsReadAt = now;
    m.secretsGeneration = obj.metadata.generation;
  }

  private async reconcile(key: string): Promise<void> {
    const t0 = performance.now();
    let result = 'ok';
    try {
      await this.reconcileKey(key);
    } catch (e) {
      result = 'error';
      throw e;
    } finally {
      this.metrics?.reconcileDuration.observe({ result }, (performance.now() - t0) / 1000);
    }
  }

  private async reconcileKey(key: string): Promise<void> {
    const obj = this.informer.cache.get(key);
    if (!obj || obj.metadata.deletionTimestamp) {
      if (this.managed.has(key)) this.log.info('EtcdMonitor deleted; probing stopped', { key });
      await this.teardown(key);
      return;
    }
    if (!this.owned(obj)) {
      if (this.managed.has(key))
        this.log.info('EtcdMonitor owned by another shard; probing stopped', { key });
      await this.teardown(key);
      return;
    }
    let m = this.managed.get(key);
    if (!m) {
      m = {
        pendingEvents: [],
        secrets: {},
        secretsReadAt: 0,
        written: obj.status && obj.status.phase ? obj.status : undefined,
        probedBefore: false,
      };
      if (m.written) m.lastWriteMs = Date.now();
      this.managed.set(key, m);
    }
    const generation = obj.metadata.generation;
    const now = new Date();
    const nowIso = now.toISOString();

    if (obj.spec.tls || obj.spec.auth || obj.spec.backup?.destination?.s3) await this.readSecrets(obj, m);
    const resolved = resolveSpec(obj.spec, m.secrets);

    if (!resolved.ok) {
      await this.stopMonitor(key, m);
      const msg = `${resolved.problem.reason}: ${resolved.problem.message}`;
      if (m.lastProblem !== msg) {
        m.lastProblem = msg;
        this.log.warn('EtcdMonitor configuration invalid', {
          key,
          reason: resolved.problem.reason,
          message: resolved.problem.message,
        });
        await this.emit(obj, { type: 'Warning', reason: 'ConfigInvalid', message: resolved.problem.message });
      }
      await this.writeStatus(obj, m, invalidStatus(resolved.problem, m.written, generation, nowIso));
      return;
    }
    const spec = resolved.spec;
    // A backup or maintenance spec that cannot be used stops only that: the cluster is still probed.
    const problem = spec.maintenanceProblem;
    const problemText = problem ? `${problem.reason}: ${problem.message}` : undefined;
    if (problem && m.lastProblem !== problemText) {
      this.log.warn('EtcdMonitor configuration invalid', {
        key,
        reason: problem.reason,
        message: problem.message,
      });
      m.pendingEvents.push({ type: 'Warning', reason: 'ConfigInvalid', message: problem.message });
    }
    m.lastProblem = problemText;

    if (spec.paused) {
      await this.stopMonitor(key, m);
      await this.writeStatus(obj, m, pausedStatus(m.written, generation, nowIso));
      return;
    }

    const { monitor, started } = await this.ensureMonitor(key, obj, m, spec);
    if (started) return; // its first round (or the Pending timer) queues the key again
    // Same connection: thresholds, interval and generation may change in place.
    monitor.config = {
      ...monitor.config,
      intervalMs: spec.intervalMs,
      thresholds: spec.thresholds,
      backupConfigured: spec.backupConfigured,
      configError: spec.maintenanceProblem,
      generation,
    };
    await this.ensureMaintenance(key, obj, m, spec);

    const latest = monitor.latest;
    // Told before the status that shows them (whoever sees the status finds its Events), all at once:
    // a first verdict with its advice waits one round trip for them, not one per Event.
    await Promise.all(m.pendingEvents.splice(0).map((ev) => this.emit(obj, ev)));
    if (latest) {
      this.cancelPending(m);
      const status: EtcdMonitorStatus = {
        ...(monitor.status ?? latest.evaluation.status),
        observedGeneration: generation,
      };
      await this.writeStatus(obj, m, status);
    } else if (m.pendingDueMs !== undefined && Date.now() >= m.pendingDueMs - 5) {
      this.cancelPending(m);
      await this.writeStatus(obj, m, pendingStatus(generation, nowIso));
    }
  }

  /**
   * The ClusterMonitor for this spec: the running one while its connection (endpoints, TLS, auth) is
   * unchanged; otherwise the old one is stopped and a new one made and started (`started`).
   */
  private async ensureMonitor(
    key: string,
    obj: EtcdMonitorObject,
    m: Managed,
    spec: ResolvedSpec,
  ): Promise<{ monitor: ClusterMonitor; started: boolean }> {
    if (m.monitor && m.connectionKey === spec.connectionKey) return { monitor: m.monitor, started: false };
    const generation = obj.metadata.generation;
    await this.stopMonitor(key, m);
    const prober = this.opts.proberFactory(spec.endpoints, spec.conn, {
      timeoutMs: spec.timeoutMs,
      metrics: spec.metrics,
      metricsUrls: spec.metricsUrls,
      writeProbePrefix: spec.writeProbe ? '/etcd-monitor/probe/' : undefined,
    });
    const monitor = new ClusterMonitor(
      {
        name: key,
        intervalMs: spec.intervalMs,
        timeoutMs: spec.timeoutMs,
        thresholds: spec.thresholds,
        backupConfigured: spec.backupConfigured,
        configError: spec.maintenanceProblem,
        generation,
      },
      prober,
      this.log,
    );
    // Continue from what was written (operator restart, failover, reconnect): the leader-change count
    // goes on, conditions keep their transition times, and Events say only what changed since.
    if (m.written) monitor.seedStatus(m.written);
    monitor.on('round', (r) => {
      const mm = this.managed.get(key);
      if (!mm || mm.monitor !== monitor) return;
      mm.pendingEvents.push(...r.evaluation.events);
      this.queue.add(key);
    });
    monitor.on('maintenance', (ev) => {
      const mm = this.managed.get(key);
      if (!mm || mm.monitor !== monitor) return;
      mm.pendingEvents.push(ev);
      this.queue.add(key);
    });
    this.registry.add(monitor);
    m.monitor = monitor;
    m.connectionKey = spec.connectionKey;
    await this.ensureMaintenance(key, obj, m, spec);
    const w = m.written;
    const verdictCurrent =
      w !== undefined && w.observedGeneration === generation && w.phase !== 'Pending' && w.phase !== 'Paused';
    const plan = firstRoundPlan(key, spec.intervalMs, m.probedBefore || !verdictCurrent);
    // A shard taking a resource over goes on at the old owner's pace: no gap longer than an interval.
    const continued =
      this.opts.shard && !plan.prompt
        ? continuedFirstRoundDelay(w?.lastProbeTime, spec.intervalMs, Date.now())
        : undefined;
    m.probedBefore = true;
    monitor.start(continued ?? plan.periodicDelayMs);
    if (plan.prompt) void this.promptFirstRound(key, monitor);
    this.log.info('monitoring EtcdMonitor', {
      key,
      endpoints: spec.endpoints.map((e) => e.url),
      interval: spec.intervalMs,
      tls: Boolean(spec.conn.tls),
      auth: Boolean(spec.conn.auth),
    });
    if (!m.written || m.written.observedGeneration !== generation || m.written.phase === 'Paused') {
      // Nothing current to show: Pending, unless the prompt first round answers within the grace period.
      m.pendingDueMs = Date.now() + this.opts.pendingGraceMs;
      m.pendingTimer = setTimeout(() => this.queue.add(key), this.opts.pendingGraceMs);
      m.pendingTimer.unref?.();
    }
    return { monitor, started: true };
  }

  /** Scheduled backups/defragmentation of a resource (maintenance.ts). */
  private async ensureMaintenance(
    key: string,
    obj: EtcdMonitorObject,
    m: Managed,
    spec: ResolvedSpec,
  ): Promise<void> {
    const monitor = m.monitor;
    if (!monitor) return;
    if (!spec.maintenance && !m.maintenance) return;
    m.maintenance ??= new ResourceMaintenance(key, {
      kube: this.kube,
      log: this.log,
      restoreJob: this.opts.restoreJob,
      monitorOf: () => this.managed.get(key)?.monitor,
      requeue: () => this.queue.add(key),
    });
    await m.maintenance.ensure(obj, monitor, m.written, spec);
  }

  /** The first round of a new or changed resource, now (bounded), so its first verdict does not wait for its spread phase. */
  private async promptFirstRound(key: string, monitor: ClusterMonitor): Promise<void> {
    try {
      await this.firstRounds.run(async () => {
        // Gone, replaced, or already probed by its periodic loop while waiting for a slot: nothing to do.
        if (this.managed.get(key)?.monitor !== monitor || monitor.rounds > 0) return;
        await monitor.runOnce();
      });
    } catch (e) {
      this.log.error('probe round failed', { cluster: key, error: String(e) });
    }
  }

  private async emit(obj: EtcdMonitorObject, ev: ClusterEvent): Promise<void> {
    try {
      await this.kube.createEvent(obj, ev.type, ev.reason, ev.message);
      this.metrics?.events.inc({ reason: ev.reason });
    } catch (e) {
      this.log.warn('could not create Event', {
        key: `${obj.metadata.namespace}/${obj.metadata.name}`,
        reason: ev.reason,
        error: String(e),
      });
    }
  }

  private async writeStatus(obj: EtcdMonitorObject, m: Managed, next: EtcdMonitorStatus): Promise<void> {
    const nowMs = Date.now();
    const d = decideWrite(m.written, next, m.lastWriteMs, nowMs, this.opts.heartbeatMs);
    if (!d.write) return;
    const patch = mergePatch(m.written ?? {}, next);
    if (patch === undefined) {
      m.lastWriteMs = nowMs;
      return;
    }
    try {
      await this.kube.patchStatus(
        obj.metadata.namespace,
        obj.metadata.name,
        { status: patch },
        this.opts.shard ? fieldManager(this.opts.shard) : undefined,
      );
      m.written = next;
      m.lastWriteMs = nowMs;
      this.metrics?.statusPatches.inc({ reason: d.reason, result: 'ok' });
    } catch (e) {
      this.metrics?.statusPatches.inc({ reason: d.reason, result: 'error' });
      const code = (e as { code?: number }).code;
      if (code === 404) return; // deleted meanwhile; the watch will tell us
      // Our copy may be wrong (someone else wrote): forget it so the next write sends everything.
      m.written = undefined;
      throw e;
    }
  }
}
