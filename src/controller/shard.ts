/**
 * Sharding (pure): which replica group owns which EtcdMonitor, like kube-state-metrics' --shard and
 * --total-shards. A resource belongs to shard FNV-1a(metadata.uid) mod total: the same answer in every
 * process and after every restart, and the UID (unlike the name) is never reused by a re-created object.
 */

export interface ShardSpec {
  /** This shard, 0 ≤ index < total. */
  index: number;
  total: number;
}

/** 32-bit FNV-1a of the UTF-8 bytes of `s`. */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(s, 'utf8')) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** The shard that owns the resource with this UID among `total` shards. */
export function shardOf(uid: string, total: number): number {
  if (!Number.isInteger(total) || total < 1) throw new RangeError(`total shards must be ≥ 1, got ${total}`);
  return fnv1a32(uid) % total;
}

/** Whether this shard owns the resource (always, when not sharded). */
export function owns(shard: ShardSpec | undefined, uid: string): boolean {
  return !shard || shardOf(uid, shard.total) === shard.index;
}

/** The shard of a StatefulSet Pod: its trailing ordinal mod total ("etcd-monitor-4" of 3 shards → 1). */
export function shardFromPodName(podName: string, total: number): number {
  const m = /-(\d+)$/.exec(podName);
  if (!m) throw new Error(`pod name "${podName}" does not end in a StatefulSet ordinal (-<n>)`);
  return Number(m[1]) % total;
}

/** The Lease the replicas of one shard elect their leader on: `<base>-shard-<i>-of-<n>`. */
export function shardLeaseName(base: string, shard: ShardSpec | undefined): string {
  return shard ? `${base}-shard-${shard.index}-of-${shard.total}` : base;
}

/** The field manager of status writes: one per shard, so managedFields tell which shard wrote a status. */
export function fieldManager(shard: ShardSpec | undefined): string {
  return shard ? `etcd-monitor-shard-${shard.index}-of-${shard.total}` : 'etcd-monitor';
}

/**
 * The first round of a resource taken over from another owner (resharding, failover), continuing that
 * owner's schedule so the gap between two probes stays within one interval: the delay until
 * lastProbeTime + interval, 0 when overdue by less than an interval; undefined (the usual spread phase,
 * so an operator down for long does not probe everything at once) without a usable lastProbeTime, long
 * overdue, or a lastProbeTime in the future (clocks disagree).
 */
export function continuedFirstRoundDelay(
  lastProbeTime: string | undefined,
  intervalMs: number,
  nowMs: number,
): number | undefined {
  const last = lastProbeTime ? Date.parse(lastProbeTime) : NaN;
  if (!Number.isFinite(last) || last > nowMs) return undefined;
  const due = last + intervalMs - nowMs;
  if (due > 0) return due;
  return -due < intervalMs ? 0 : undefined;
}
