/**
 * The per-cluster loop: probe on a schedule (never two rounds at once), judge, keep the latest state,
 * and tell listeners. Used the same way by standalone mode and by the operator.
 */
import { EventEmitter } from 'node:events';
import type { EtcdMonitorStatus } from '../crd/types.js';
import type { ClusterProber } from '../etcd/probe.js';
import {
  emptyMemory,
  evaluate,
  memoryFromStatus,
  type ClusterEvent,
  type EvalConfig,
  type Evaluation,
  type Memory,
} from '../health/evaluate.js';
import type { ClusterObservation } from '../etcd/observation.js';
import type { Logger } from '../log.js';
import type { MaintenanceEvent, MaintenanceScheduler } from '../maintenance/scheduler.js';
import { withMaintenance } from '../maintenance/status.js';
import type { Condition } from '../crd/types.js';

export interface MonitorConfig extends EvalConfig {
  /** The `cluster` label: "<namespace>/<name>" in operator mode, --cluster-name standalone. */
  name: string;
  intervalMs: number;
  timeoutMs: number;
}

export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export interface RoundResult {
  cluster: string;
  evaluation: Evaluation;
  observation: ClusterObservation;
  durationMs: number;
  /** Scheduled backups/defragmentation of this cluster, when configured (read by the exporter). */
  maintenance?: MaintenanceScheduler;
}

export interface ClusterMonitorEvents {
  round: [RoundResult];
  /** A backup or defragmentation finished (or was skipped): an Event to tell, a status to write. */
  maintenance: [MaintenanceEvent];
}

export class ClusterMonitor extends EventEmitter<ClusterMonitorEvents> {
  private memory: Memory = emptyMemory();
  /** The status the first round is judged against (one an earlier operator wrote), until there is a round. */
  private seeded: EtcdMonitorStatus | undefined;
  private last: RoundResult | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<RoundResult> | undefined;
  private stopped = true;
  rounds = 0;
  /** Scheduled maintenance, ticked after every round; set by the owner (standalone flags or spec). */
  private sched: MaintenanceScheduler | undefined;
  private backupReady: Condition | undefined;

  constructor(
    public config: MonitorConfig,
    private readonly prober: ClusterProber,
    private readonly log: Logger,
    private readonly clock: Clock = systemClock,
  ) {
    super();
  }

  get name(): string {
    return this.config.name;
  }

  /** The last verdict, with the maintenance status (backup, defragmentation, BackupReady) laid over it. */
  get status(): EtcdMonitorStatus | undefined {
    const s = this.last?.evaluation.status;
    if (!s || !this.sched) return s;
    const o = withMaintenance(s, this.sched, this.backupReady, new Date(this.clock.now()));
    this.backupReady = o.ready;
    return o.status;
  }

  get maintenance(): MaintenanceScheduler | undefined {
    return this.sched;
  }

  /** Attach (or replace, or remove) scheduled maintenance; it is ticked after each round. */
  setMaintenance(s: MaintenanceScheduler | undefined, previousReady?: Condition): void {
    this.sched = s;
    this.backupReady = previousReady ?? this.backupReady;
    if (this.last) this.last = { ...this.last, maintenance: s };
  }

  /** A maintenance Event (the scheduler's onEvent): logged here, passed on to listeners. */
  maintenanceEvent(ev: MaintenanceEvent): void {
    this.logEvent(ev);
    this.emit('maintenance', ev);
  }

  get latest(): RoundResult | undefined {
    return this.last;
  }

  /**
   * Continue from a status written before (an operator restart or a failover): the first round is judged
   * against it, so its conditions keep their transition times, the leader-change count goes on, and only
   * what changed since it becomes an Event.
   */
  seedStatus(status: EtcdMonitorStatus): void {
    if (this.rounds > 0) return;
    this.seeded = status;
    this.memory = memoryFromStatus(status, this.clock.now());
  }

  /** Start probing; the first round runs after `initialDelayMs` (used to spread many clusters). */
  start(initialDelayMs = 0): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(initialDelayMs);
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      const began = this.clock.now();
      this.runOnce()
        .catch((e: unknown) => this.log.error('probe round failed', { cluster: this.name, error: String(e) }))
        .finally(() => {
          const spent = this.clock.now() - began;
          this.schedule(Math.max(0, this.config.intervalMs - spent));
        });
    }, delay);
    this.timer.unref?.();
  }

  /** Run one round now (or join the one in flight). */
  runOnce(): Promise<RoundResult> {
    if (this.running) return this.running;
    this.running = this.round().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async round(): Promise<RoundResult> {
    const t0 = this.clock.now();
    const observation = await this.prober.probe(t0);
    const evaluation = evaluate(
      observation,
      this.last?.evaluation.status ?? this.seeded,
      this.memory,
      this.config,
    );
    this.memory = evaluation.memory;
    const result: RoundResult = {
      cluster: this.name,
      evaluation,
      observation,
      durationMs: this.clock.now() - t0,
      maintenance: this.sched,
    };
    this.last = result;
    this.rounds++;
    this.sched?.tick(new Date(t0));
    for (const ev of evaluation.events) this.logEvent(ev);
    this.emit('round', result);
    return result;
  }

  private logEvent(ev: ClusterEvent | MaintenanceEvent): void {
    const meta = { cluster: this.name, reason: ev.reason };
    if (ev.type === 'Warning') this.log.warn(ev.message, meta);
    else this.log.info(ev.message, meta);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.running) await this.running.catch(() => undefined);
    // A backup in flight finishes on its own connections; no new run starts.
    this.sched?.stop();
    this.prober.close();
  }
}
