/**
 * Recent history per monitored cluster, for the live dashboard and `GET /api/v1/history`:
 * one point per probe round in a fixed-size ring buffer (default 360 rounds), fed from the
 * registry's 'round' events and dropped with the cluster. In memory only: a restart starts empty.
 */
import { EventEmitter } from 'node:events';
import type { HistoryPoint } from '../api/dashboard/wire.js';
import type { RoundResult } from './clusterMonitor.js';
import type { MonitorRegistry } from './registry.js';

export type { HistoryPoint };

export const DEFAULT_HISTORY_CAPACITY = 360;

/** A fixed-capacity FIFO: pushing onto a full buffer drops the oldest item. O(1) push. */
export class RingBuffer<T> {
  private readonly items: Array<T | undefined>;
  private start = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`ring buffer capacity must be a positive integer, got ${capacity}`);
    this.items = new Array<T | undefined>(capacity);
  }

  get length(): number {
    return this.count;
  }

  push(item: T): void {
    if (this.count < this.capacity) {
      this.items[(this.start + this.count) % this.capacity] = item;
      this.count++;
    } else {
      this.items[this.start] = item;
      this.start = (this.start + 1) % this.capacity;
    }
  }

  /** Oldest first. */
  toArray(): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.count; i++) out.push(this.items[(this.start + i) % this.capacity] as T);
    return out;
  }

  /** The newest item. */
  last(): T | undefined {
    return this.count === 0 ? undefined : this.items[(this.start + this.count - 1) % this.capacity];
  }

  clear(): void {
    this.items.fill(undefined);
    this.start = 0;
    this.count = 0;
  }
}

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

/** The history of every cluster in a registry. Call close() to stop listening. */
export class HistoryStore extends EventEmitter<HistoryEvents> {
  private readonly buffers = new Map<string, RingBuffer<HistoryPoint>>();
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
      buf = new RingBuffer<HistoryPoint>(this.capacity);
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
