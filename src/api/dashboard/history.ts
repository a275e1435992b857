/**
 * Recent history per monitored cluster, for the live dashboard and `GET /api/v1/history`:
 * one point per probe round in a fixed-size ring buffer (default 360 rounds), fed from the
 * registry's 'round' events and dropped with the cluster. In memory only: a restart starts empty.
 * Points are kept column-wise in typed arrays (~110 bytes a point instead of ~240 as objects: with
 * 1000 clusters that is ~40 MiB rather than ~85 MiB) and rebuilt as objects when read.
 */
import { EventEmitter } from 'node:events';
import type { HistoryPoint } from './wire.js';
import type { Phase } from '../../crd/types.js';
import type { RoundResult } from '../../monitor/clusterMonitor.js';
import type { MonitorRegistry } from '../../monitor/registry.js';

export type { HistoryPoint };

export const DEFAULT_HISTORY_CAPACITY = 360;

const orNull = (v: number | undefined): number | null => (v === undefined || !Number.isFinite(v) ? null : v);

export function historyPoint(r: RoundResult): HistoryPoint {
  const s = r.evaluation.status;
  return {
    time: new Date(r.observation.time).toISOString(),
    phase: s.phase,
    healthy: s.healthy,
    leader: s.leader?.name ?? null,
    memberCount: s.memberCount,
    healthyMembers: s.healthyMembers,
    readP99Ms: orNull(s.latency.readP99Ms),
    writeP99Ms: orNull(s.latency.writeP99Ms),
    probeP99Ms: orNull(s.latency.probeP99Ms),
    requestRatePerSecond: orNull(s.requestRatePerSecond),
    dbSizeBytes: orNull(s.dbSizeBytes),
    dbSizeInUseBytes: orNull(s.dbSizeInUseBytes),
    dbQuotaUsedPercent: orNull(s.dbQuotaUsedPercent),
    leaderChanges: s.leaderChanges,
    probeRoundMs: Math.round(r.durationMs),
  };
}

export interface HistoryEvents {
  /** A round was recorded (after the point is in the buffer). */
  point: [RoundResult, HistoryPoint];
  removed: [string];
}

const PHASES: readonly Phase[] = ['Pending', 'Healthy', 'Degraded', 'Unhealthy', 'Unreachable', 'Paused'];

/** The numeric fields of a point, stored as float64 (NaN for null). */
const NUMBERS = [
  'memberCount',
  'healthyMembers',
  'readP99Ms',
  'writeP99Ms',
  'probeP99Ms',
  'requestRatePerSecond',
  'dbSizeBytes',
  'dbSizeInUseBytes',
  'dbQuotaUsedPercent',
  'leaderChanges',
  'probeRoundMs',
] as const satisfies ReadonlyArray<keyof HistoryPoint>;

/** A fixed-capacity FIFO of history points, stored column-wise. */
export class PointRing {
  private readonly times: Float64Array;
  private readonly numbers: Float64Array;
  private readonly flags: Uint8Array;
  private readonly leaders: Array<string | null>;
  private start = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`history capacity must be a positive integer, got ${capacity}`);
    this.times = new Float64Array(capacity);
    this.numbers = new Float64Array(capacity * NUMBERS.length);
    this.flags = new Uint8Array(capacity);
    this.leaders = new Array<string | null>(capacity).fill(null);
  }

  get length(): number {
    return this.count;
  }

  push(p: HistoryPoint): void {
    let slot: number;
    if (this.count < this.capacity) slot = (this.start + this.count++) % this.capacity;
    else {
      slot = this.start;
      this.start = (this.start + 1) % this.capacity;
    }
    this.times[slot] = Date.parse(p.time);
    const base = slot * NUMBERS.length;
    NUMBERS.forEach((k, i) => {
      const v = p[k];
      this.numbers[base + i] = v === null ? NaN : v;
    });
    // Phase index in the low bits, healthy in the top bit.
    this.flags[slot] = Math.max(0, PHASES.indexOf(p.phase)) | (p.healthy ? 0x80 : 0);
    this.leaders[slot] = p.leader;
  }

  private point(slot: number): HistoryPoint {
    const base = slot * NUMBERS.length;
    const n = (i: number): number | null => {
      const v = this.numbers[base + i]!;
      return Number.isNaN(v) ? null : v;
    };
    const f = this.flags[slot]!;
    return {
      time: new Date(this.times[slot]!).toISOString(),
      phase: PHASES[f & 0x7f] ?? 'Pending',
      healthy: (f & 0x80) !== 0,
      leader: this.leaders[slot] ?? null,
      memberCount: n(0) ?? 0,
      healthyMembers: n(1) ?? 0,
      readP99Ms: n(2),
      writeP99Ms: n(3),
      probeP99Ms: n(4),
      requestRatePerSecond: n(5),
      dbSizeBytes: n(6),
      dbSizeInUseBytes: n(7),
      dbQuotaUsedPercent: n(8),
      leaderChanges: n(9) ?? 0,
      probeRoundMs: n(10) ?? 0,
    };
  }

  /** Oldest first. */
  toArray(): HistoryPoint[] {
    const out: HistoryPoint[] = [];
    for (let i = 0; i < this.count; i++) out.push(this.point((this.start + i) % this.capacity));
    return out;
  }
}

/** The history of every cluster in a registry. Call close() to stop listening. */
export class HistoryStore extends EventEmitter<HistoryEvents> {
  private readonly buffers = new Map<string, PointRing>();
  private readonly onRound = (r: RoundResult): void => {
    this.record(r);
  };
  private readonly onRemoved = (name: string): void => {
    this.buffers.delete(name);
    this.emit('removed', name);
  };

  constructor(
    private readonly registry: MonitorRegistry,
    readonly capacity = DEFAULT_HISTORY_CAPACITY,
  ) {
    super();
    this.setMaxListeners(0);
    registry.on('round', this.onRound);
    registry.on('removed', this.onRemoved);
  }

  /** Record a round (normally called from the registry's 'round' event). */
  record(r: RoundResult): HistoryPoint {
    let buf = this.buffers.get(r.cluster);
    if (!buf) {
      buf = new PointRing(this.capacity);
      this.buffers.set(r.cluster, buf);
    }
    const p = historyPoint(r);
    buf.push(p);
    this.emit('point', r, p);
    return p;
  }

  /** Oldest first; empty for a cluster without rounds yet. */
  points(cluster: string): HistoryPoint[] {
    return this.buffers.get(cluster)?.toArray() ?? [];
  }

  close(): void {
    this.registry.off('round', this.onRound);
    this.registry.off('removed', this.onRemoved);
    this.buffers.clear();
    this.removeAllListeners();
  }
}
