/**
 * Scheduled maintenance of one cluster: backups and defragmentation, driven by the cluster's probe loop
 * (each round calls `tick(now)`, so a slot is honoured within one interval and no timer of its own runs).
 * A run goes on in the background; one at a time per cluster, and defragmentation never during a backup.
 * What happened is kept as plain status (the shape of `status.backup` / `status.maintenance`), Events
 * and counters, for the controller, the API and the metrics to read. No Kubernetes in here.
 */
import type { BackupStatusFields, MaintenanceStatusFields } from '../crd/types.js';
import type { MemberClient } from '../etcd/grpc.js';
import { runBackup, type BackupOutcome, type MemberPreference } from './backup.js';
import { planDefrag, probeMembers, runDefrag, type DefragThresholds } from './defrag.js';
import type { Retention } from './retention.js';
import { dueRun, parseSchedule, periodAt, type Schedule } from './schedule.js';
import type { RestoreTester } from './restoreTest.js';
import { SnapshotError } from './snapshot.js';
import type { SnapshotStore } from './stores.js';

export interface BackupConfig {
  schedule: string;
  member: MemberPreference;
  retention: Retention;
  store: SnapshotStore;
  /** verify.restoreTest: restore each stored snapshot into a scratch etcd with this and count its keys. */
  restoreTest?: RestoreTester;
}

export interface DefragConfig extends DefragThresholds {
  schedule: string;
  disarmNoSpace: boolean;
}

export interface MaintenanceConfig {
  /** The cluster's name (`namespace/name` or --cluster-name): backups are filed under it. */
  cluster: string;
  backup?: BackupConfig;
  defragmentation?: DefragConfig;
  /** Per-call deadline (Status, health reads) and per-member defragmentation bound. */
  timeoutMs: number;
  /** Snapshot stream bounds. */
  idleTimeoutMs: number;
  overallTimeoutMs: number;
}

export type BackupStatus = BackupStatusFields;
export type MaintenanceStatus = MaintenanceStatusFields;

export type MaintenanceEventReason =
  | 'BackupSucceeded'
  | 'BackupFailed'
  | 'DefragmentationCompleted'
  | 'DefragmentationSkipped'
  | 'DefragmentationFailed';

export interface MaintenanceEvent {
  type: 'Normal' | 'Warning';
  reason: MaintenanceEventReason;
  message: string;
}

/** The BackupReady condition (metav1.Condition fields but the transition time, which the builder keeps). */
export interface BackupReadyCheck {
  type: 'BackupReady';
  status: 'True' | 'False' | 'Unknown';
  reason: 'BackupSucceeded' | 'BackupFailing' | 'BackupStale' | 'NoBackupYet';
  message: string;
}

/** Why a backup failed, as the etcd_backup_failures_total{reason} label (SnapshotError reasons + Store). */
export const BACKUP_FAILURE_REASONS = [
  'Unavailable',
  'Stalled',
  'HashMismatch',
  'Truncated',
  'Write',
  'Corrupt',
  'Store',
  'RestoreTest',
] as const;

export interface MaintenanceCounters {
  backupFailures: Map<string, number>;
  backupDurations: number[];
  defragReclaimedBytes: number;
}

export interface MaintenanceDeps {
  /**
   * Fresh member connections for one run (closed when it ends): snapshots stream on their own channels.
   * Asynchronous so that grpc-js is imported only when a run starts.
   */
  connect: () => Promise<MemberClient[]>;
  onEvent: (e: MaintenanceEvent) => void;
  /** Called after every change of status (a run started or ended), e.g. to write the status now. */
  onChange?: () => void;
  /** The clock for recorded times (default: the real one); tests drive it with tick's `now`. */
  now?: () => Date;
}

function iso(t: Date): string {
  return t.toISOString();
}

function human(bytes: number): string {
  return bytes >= 1048576 ? `${(bytes / 1048576).toFixed(1)}MiB` : `${(bytes / 1024).toFixed(1)}KiB`;
}

export class MaintenanceScheduler {
  backup: BackupStatus;
  maintenance: MaintenanceStatus;
  readonly counters: MaintenanceCounters = {
    backupFailures: new Map(),
    backupDurations: [],
    defragReclaimedBytes: 0,
  };
  private running: 'backup' | 'defragmentation' | undefined;
  private current: Promise<void> | undefined;
  private readonly backupSchedule?: Schedule;
  private readonly defragSchedule?: Schedule;
  private lastDefragRun?: Date;

  /**
   * `previous` is what the last status said (operator restarts resume from it); `anchor` is when the
   * schedule was first seen (a never-run schedule is due at its first slot after it).
   */
  constructor(
    private readonly cfg: MaintenanceConfig,
    private readonly deps: MaintenanceDeps,
    private readonly anchor: Date,
    previous: { backup?: BackupStatus; maintenance?: MaintenanceStatus } = {},
  ) {
    if (cfg.backup) this.backupSchedule = parseSchedule(cfg.backup.schedule);
    if (cfg.defragmentation) this.defragSchedule = parseSchedule(cfg.defragmentation.schedule);
    this.backup = { ...(previous.backup ?? {}) };
    this.maintenance = { ...(previous.maintenance ?? {}) };
    if (this.maintenance.lastDefragmentationResult)
      this.lastDefragRun = new Date(this.maintenance.lastDefragmentationResult.time);
  }

  get hasBackup(): boolean {
    return this.backupSchedule !== undefined;
  }

  get hasDefragmentation(): boolean {
    return this.defragSchedule !== undefined;
  }

  get anchorTime(): Date {
    return this.anchor;
  }

  /** One backup period at `t` in seconds (undefined without a backup schedule). */
  backupPeriodSeconds(t: Date): number | undefined {
    return this.backupSchedule ? periodAt(this.backupSchedule, t) / 1000 : undefined;
  }

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  private stopped = false;
  private readonly abort = new AbortController();

  /**
   * No new runs (the cluster is no longer monitored here: deleted, its spec changed, leadership or the
   * shard lost). A backup in flight is stopped (nothing stored, no retention), a defragmentation before its
   * next member; neither tells an Event, the new owner runs at its slot.
   */
  stop(): void {
    this.stopped = true;
    this.abort.abort();
  }

  /** Start what is due (at most one run); returns at once, the run goes on in the background. */
  tick(now: Date): void {
    if (this.stopped) return;
    if (this.backupSchedule) {
      const last = this.backup.lastScheduleTime ? new Date(this.backup.lastScheduleTime) : undefined;
      const d = dueRun(this.backupSchedule, last, this.anchor, now);
      this.backup.nextScheduleTime = iso(d.due ? d.following : d.slot);
      if (d.due && !this.running) {
        this.backup.lastScheduleTime = iso(now);
        this.start('backup', (clients) => this.runBackupNow(clients));
        return;
      }
    }
    if (this.defragSchedule) {
      const d = dueRun(this.defragSchedule, this.lastDefragRun, this.anchor, now);
      this.maintenance.nextDefragmentationTime = iso(d.due ? d.following : d.slot);
      if (d.due && !this.running) {
        this.lastDefragRun = now;
        this.start('defragmentation', (clients) => this.runDefragNow(now, clients));
      }
    }
  }

  /**
   * With no earlier status to go on (standalone start, a new operator), pick up the newest verified
   * backup already in the store, so a run missed while nobody watched runs once now, not a period later.
   */
  async resume(): Promise<void> {
    const b = this.cfg.backup;
    if (!b || this.backup.lastScheduleTime) return;
    try {
      const all = await b.store.list(this.cfg.cluster);
      const newest = all.filter((o) => o.verified).sort((x, y) => y.time.getTime() - x.time.getTime())[0];
      if (!newest || this.backup.lastScheduleTime) return;
      const t = newest.time.toISOString();
      Object.assign(this.backup, {
        lastScheduleTime: t,
        lastSuccessTime: t,
        location: b.store.url(newest.name),
        sizeBytes: newest.sizeBytes,
        revision: newest.revision,
        verified: true,
        retained: all.length,
      });
    } catch {
      /* the first run will say what is wrong with the store */
    }
  }

  /** Wait for the run in progress (tests, shutdown). */
  async idle(): Promise<void> {
    await this.current;
  }

  get busy(): 'backup' | 'defragmentation' | undefined {
    return this.running;
  }

  private start(kind: 'backup' | 'defragmentation', run: (clients: MemberClient[]) => Promise<void>): void {
    this.running = kind;
    this.deps.onChange?.();
    let clients: MemberClient[] = [];
    this.current = this.deps
      .connect()
      .then((c) => run((clients = c)))
      .catch((e: unknown) => {
        // Not expected (runs report their own failures); never let one escape as an unhandled rejection.
        this.deps.onEvent({
          type: 'Warning',
          reason: kind === 'backup' ? 'BackupFailed' : 'DefragmentationFailed',
          message: String(e),
        });
      })
      .finally(() => {
        for (const c of clients) c.close();
        this.running = undefined;
        this.deps.onChange?.();
      });
  }

  private async runBackupNow(clients: MemberClient[]): Promise<void> {
    const b = this.cfg.backup!;
    let out: BackupOutcome;
    try {
      out = await runBackup({
        cluster: this.cfg.cluster,
        clients,
        member: b.member,
        store: b.store,
        retention: b.retention,
        timeoutMs: this.cfg.timeoutMs,
        stream: { idleTimeoutMs: this.cfg.idleTimeoutMs, overallTimeoutMs: this.cfg.overallTimeoutMs },
        now: () => this.now(),
        signal: this.abort.signal,
      });
    } catch (e) {
      if (this.stopped) return;
      const reason = e instanceof SnapshotError ? e.reason : 'Store';
      this.counters.backupFailures.set(reason, (this.counters.backupFailures.get(reason) ?? 0) + 1);
      this.backup.lastError = (e as Error).message;
      this.deps.onEvent({
        type: 'Warning',
        reason: 'BackupFailed',
        message: `backup failed (retried at the next slot, ${this.backup.nextScheduleTime ?? 'unknown'}): ${(e as Error).message}`,
      });
      return;
    }
    let restored: { time: string; keys: number } | undefined;
    if (b.restoreTest) {
      try {
        const r = await b.restoreTest.test({
          name: out.name,
          location: out.location,
          sizeBytes: out.sizeBytes,
          store: b.store,
        });
        restored = { time: iso(this.now()), keys: r.keys };
      } catch (e) {
        this.counters.backupFailures.set(
          'RestoreTest',
          (this.counters.backupFailures.get('RestoreTest') ?? 0) + 1,
        );
        this.backup.lastError = `${out.location} was stored but its restore test failed: ${(e as Error).message}`;
        this.deps.onEvent({ type: 'Warning', reason: 'BackupFailed', message: this.backup.lastError });
        return;
      }
    }
    this.counters.backupDurations.push(out.durationSeconds);
    const t = iso(this.now());
    Object.assign(this.backup, {
      lastSuccessTime: t,
      lastError: undefined,
      location: out.location,
      sizeBytes: out.sizeBytes,
      revision: out.revision,
      sha256: out.sha256,
      durationSeconds: Math.round(out.durationSeconds * 1000) / 1000,
      verified: true,
      retained: out.retained,
      ...(restored ? { restoreTest: restored } : {}),
    } satisfies BackupStatus);
    delete this.backup.lastError;
    this.deps.onEvent({
      type: 'Normal',
      reason: 'BackupSucceeded',
      message: `snapshot of revision ${out.revision} from ${out.endpoint} (${out.role}), ${human(out.sizeBytes)} in ${out.durationSeconds.toFixed(1)}s, sha256 ${out.sha256.slice(0, 12)}…, at ${out.location}${restored ? `, restore-tested: ${restored.keys} keys` : ''}; ${out.retained} kept${out.removed.length ? `, ${out.removed.length} removed by retention` : ''}`,
    });
  }

  private async runDefragNow(now: Date, clients: MemberClient[]): Promise<void> {
    const d = this.cfg.defragmentation!;
    const members = await probeMembers(clients, this.cfg.timeoutMs);
    // Runs are one at a time per cluster (start()), so no backup of this cluster is running now.
    const plan = planDefrag(members, d, false);
    const time = iso(now);
    if (!plan.run) {
      this.maintenance.lastDefragmentationResult = {
        time,
        outcome: 'Skipped',
        reason: plan.reason,
        message: plan.message,
      };
      this.deps.onEvent({
        type: 'Normal',
        reason: 'DefragmentationSkipped',
        message: `${plan.reason}: ${plan.message}`,
      });
      return;
    }
    const res = await runDefrag(
      plan.order,
      {
        client: (ep) => clients.find((c) => c.endpoint.url === ep)!,
        members: () => probeMembers(clients, this.cfg.timeoutMs),
        sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
        now: () => Date.now(),
        stopped: () => this.stopped,
      },
      { timeoutMs: this.cfg.timeoutMs * 6, disarmNoSpace: d.disarmNoSpace },
    );
    if (this.stopped) return;
    this.counters.defragReclaimedBytes += res.reclaimedBytes;
    const names = res.steps.map((s) => s.name || s.endpoint);
    if (res.steps.length > 0)
      this.maintenance.lastDefragmentation = { time, members: names, reclaimedBytes: res.reclaimedBytes };
    if (res.error) {
      this.maintenance.lastDefragmentationResult = {
        time,
        outcome: 'Failed',
        reason: 'DefragmentationFailed',
        message: res.error,
      };
      this.deps.onEvent({
        type: 'Warning',
        reason: 'DefragmentationFailed',
        message: `${res.error}${names.length ? ` (done before: ${names.join(', ')})` : ''}`,
      });
      return;
    }
    const msg = `defragmented ${names.join(', ')} one at a time (leader last), reclaimed ${human(res.reclaimedBytes)}${res.disarmedNoSpace ? '; NOSPACE alarm disarmed' : ''}`;
    this.maintenance.lastDefragmentationResult = {
      time,
      outcome: 'Completed',
      reason: 'DefragmentationCompleted',
      message: msg,
    };
    this.deps.onEvent({ type: 'Normal', reason: 'DefragmentationCompleted', message: msg });
  }

  /** BackupReady: True after a success; False when the last run failed, or the last success is older than two periods. */
  backupReady(now: Date): BackupReadyCheck | undefined {
    if (!this.backupSchedule) return undefined;
    const period = periodAt(this.backupSchedule, now);
    const last = this.backup.lastSuccessTime ? new Date(this.backup.lastSuccessTime) : undefined;
    const failedAfter = this.backup.lastError !== undefined;
    if (failedAfter) {
      return {
        type: 'BackupReady',
        status: 'False',
        reason: 'BackupFailing',
        message: `the last backup failed: ${this.backup.lastError}`,
      };
    }
    const since = now.getTime() - (last ?? this.anchor).getTime();
    if (since > 2 * period) {
      return {
        type: 'BackupReady',
        status: 'False',
        reason: 'BackupStale',
        message: last
          ? `the last successful backup (${this.backup.lastSuccessTime}) is older than two schedule periods`
          : `no successful backup in two schedule periods since ${iso(this.anchor)}`,
      };
    }
    if (!last)
      return {
        type: 'BackupReady',
        status: 'Unknown',
        reason: 'NoBackupYet',
        message: `the first backup is due at ${this.backup.nextScheduleTime ?? 'the next slot'}`,
      };
    return {
      type: 'BackupReady',
      status: 'True',
      reason: 'BackupSucceeded',
      message: `last backup ${this.backup.lastSuccessTime} at ${this.backup.location}`,
    };
  }
}
