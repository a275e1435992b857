/**
 * The per-cluster loop: probe on a schedule (never two rounds at once), judge, keep the latest state,
 * and tell listeners. Used the same way by standalone mode and by the operator.
 */
import { EventEmitter } from 'node:events';
import type { EtcdMonitorStatus } from '../crd/types.js';
import type { ClusterProber } from '../etcd/probe.js';
import { emptyMemory, evaluate, memoryFromStatus, type ClusterEvent, type EvalConfig, type Evaluation, type Memory } from '../health/evaluate.js';
import type { ClusterObservation } from '../etcd/observation.js';
import type { Logger } from '../log.js';

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
}

export interface ClusterMonitorEvents {
  round: [RoundResult];
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

  get status(): EtcdMonitorStatus | undefined {
    return this.last?.evaluation.status;
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
    const evaluation = evaluate(observation, this.last?.evaluation.status ?? this.seeded, this.memory, this.config);
    this.memory = evaluation.memory;
    const result: RoundResult = { cluster: this.name, evaluation, observation, durationMs: this.clock.now() - t0 };
    this.last = result;
    this.rounds++;
    for (const ev of evaluation.events) this.logEvent(ev);
    this.emit('round', result);
    return result;
  }

  private logEvent(ev: ClusterEvent): void {
    const meta = { cluster: this.name, reason: ev.reason };
    if (ev.type === 'Warning') this.log.warn(ev.message, meta);
    else this.log.info(ev.message, meta);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.running) await this.running.catch(() => undefined);
    this.prober.close();
  }
}
