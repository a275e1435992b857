/**
 * Leader election on a coordination.k8s.io Lease, like client-go's: the holder renews every retry
 * period; a standby takes over once the record it last saw has not changed for the lease duration
 * (measured on its own clock, so clock skew between nodes does not matter).
 */
import type { Logger } from '../log.js';
import type { KubeClient, LeaseRecord } from './kube.js';

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

export const DEFAULT_LEASE = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

export class LeaderElector {
  private leading = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  /** The lease round in flight: stop() waits for it, so none lands (or starts a controller) after stop. */
  private ticking: Promise<void> | undefined;
  private wonWhileStopping = false;
  private observed: { key: string; at: number } | undefined;
  private lastRenew = 0;
  private lastContact = 0;

  constructor(
    private readonly kube: KubeClient,
    private readonly opts: LeaderElectionOptions,
    private readonly callbacks: { onStartedLeading: () => void; onStoppedLeading: () => void },
    private readonly log: Logger,
  ) {}

  get isLeader(): boolean {
    return this.leading;
  }

  /** Whether the last lease round reached the API server within the lease duration: a standby that can take over. */
  get inContact(): boolean {
    return !this.stopped && Date.now() - this.lastContact < this.opts.leaseDurationMs;
  }

  start(): void {
    this.stopped = false;
    this.ticking = this.tick();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.ticking = this.tick();
    }, this.opts.retryPeriodMs);
  }

  private async tick(): Promise<void> {
    try {
      const ok = await this.tryAcquireOrRenew();
      // Stopped while the round was in flight: it must not make us leader (stop releases what it won).
      if (this.stopped) {
        this.wonWhileStopping = ok;
        return;
      }
      const now = Date.now();
      this.lastContact = now;
      if (ok) {
        this.lastRenew = now;
        if (!this.leading) {
          this.leading = true;
          this.log.info('became leader', {
            lease: `${this.opts.namespace}/${this.opts.name}`,
            identity: this.opts.identity,
          });
          this.callbacks.onStartedLeading();
        }
      } else if (this.leading && now - this.lastRenew > this.opts.renewDeadlineMs) {
        this.loseLeadership('could not renew the lease');
      }
    } catch (e) {
      if (this.stopped) return;
      this.log.warn('leader election: lease update failed', { error: String(e) });
      if (this.leading && Date.now() - this.lastRenew > this.opts.renewDeadlineMs)
        this.loseLeadership('lease renew deadline passed');
    }
    this.schedule();
  }

  private loseLeadership(why: string): void {
    this.leading = false;
    this.log.warn('lost leadership', { reason: why });
    this.callbacks.onStoppedLeading();
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity } = this.opts;
    const now = new Date();
    const durationSeconds = Math.ceil(this.opts.leaseDurationMs / 1000);
    const current = await this.kube.getLease(namespace, name);
    if (!current) {
      return this.write({
        holder: identity,
        acquireTime: now,
        renewTime: now,
        durationSeconds,
        transitions: 0,
      });
    }
    const key = `${current.holder ?? ''}|${current.renewTime?.getTime() ?? ''}`;
    if (!this.observed || this.observed.key !== key) this.observed = { key, at: now.getTime() };
    if (current.holder === identity) {
      return this.write({ ...current, renewTime: now, durationSeconds });
    }
    const held = Boolean(current.holder);
    const leaseMs = (current.durationSeconds ?? durationSeconds) * 1000;
    if (held && now.getTime() - this.observed.at < leaseMs) return false;
    return this.write({
      holder: identity,
      acquireTime: now,
      renewTime: now,
      durationSeconds,
      transitions: (current.transitions ?? 0) + 1,
      resourceVersion: current.resourceVersion,
    });
  }

  private async write(rec: LeaseRecord): Promise<boolean> {
    return this.kube.writeLease(this.opts.namespace, this.opts.name, rec);
  }

  /**
   * Stop, after the lease round in flight (if any) has ended; a leader releases the lease (unless `release`
   * is false) so a standby can take over at once. Never calls onStartedLeading afterwards.
   */
  async stop(release = true): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    // (Bounded: a round stuck on an unreachable API server does not hold up a shutdown; it is ignored when it ends.)
    let bound: NodeJS.Timeout | undefined;
    await Promise.race([
      this.ticking,
      new Promise<void>((r) => {
        bound = setTimeout(r, this.opts.renewDeadlineMs);
      }),
    ]);
    clearTimeout(bound);
    const holds = this.leading || this.wonWhileStopping;
    this.leading = false;
    this.wonWhileStopping = false;
    if (holds && release) {
      try {
        const cur = await this.kube.getLease(this.opts.namespace, this.opts.name);
        if (cur && cur.holder === this.opts.identity) {
          await this.kube.writeLease(this.opts.namespace, this.opts.name, {
            ...cur,
            holder: '',
            durationSeconds: 1,
            renewTime: new Date(),
          });
        }
      } catch (e) {
        this.log.warn('could not release the lease', { error: String(e) });
      }
    }
  }
}
