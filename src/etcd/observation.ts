/**
 * What one probe round saw: plain data produced here (src/etcd) and judged by src/health, plus the one
 * table of the probe calls and the observation field that holds each one's error.
 */
import type { AlarmEntry, MemberListEntry, MemberStatusResponse } from './grpc.js';
import type { MemberMetricsSnapshot } from './memberMetrics.js';

export interface MemberObservation {
  /** The configured endpoint, normalised (e.g. "http://127.0.0.1:2379"). */
  endpoint: string;
  status?: MemberStatusResponse;
  statusError?: string;
  /** The `etcdctl endpoint health`-style read: ok when healthError is absent and healthChecked is true. */
  healthChecked: boolean;
  healthError?: string;
  /** Duration of the health read's own RPC (an auth token fetched first is not part of it). */
  healthLatencyMs?: number;
  /**
   * The health read had to set up its connection first (the first round after connecting or
   * reconnecting: TCP, TLS handshake, HTTP/2): its time is the set-up's, not etcd's, so it is no
   * latency sample.
   */
  healthSetup?: boolean;
  /** How long this process's event loop was stalled while the health read was in flight (ms). */
  healthStallMs?: number;
  /**
   * The cluster-wide alarm list, on the member that answered it (it is asked of one member per round,
   * like the member list); alarmsError on each member that was asked and failed.
   */
  alarms?: AlarmEntry[];
  alarmsError?: string;
  metrics?: MemberMetricsSnapshot;
  metricsError?: string;
  /** The opt-in write probe's put, with the same set-up and stall qualifiers as the health read. */
  writeLatencyMs?: number;
  writeSetup?: boolean;
  writeStallMs?: number;
  writeError?: string;
}

export interface ClusterObservation {
  /** Epoch milliseconds when the round started. */
  time: number;
  members: MemberObservation[];
  memberList?: MemberListEntry[];
  memberListError?: string;
}

/**
 * The probe calls of a round and where each one's error is kept: `label` is how a member's errors name
 * it ("status, health: connection refused"), `reason` the `etcd_monitor_probe_errors_total` label.
 */
export interface MemberProbeCall {
  label: string;
  reason: string;
  error(m: MemberObservation): string | undefined;
}

export const MEMBER_PROBE_CALLS: readonly MemberProbeCall[] = [
  { label: 'status', reason: 'status', error: (m) => m.statusError },
  { label: 'health', reason: 'health', error: (m) => m.healthError },
  { label: 'alarms', reason: 'alarms', error: (m) => m.alarmsError },
  { label: 'metrics', reason: 'metrics', error: (m) => m.metricsError },
  { label: 'write probe', reason: 'write', error: (m) => m.writeError },
];

/** The cluster-wide call whose error is kept on the observation itself. */
export const MEMBER_LIST_REASON = 'member_list';

/** Every `reason` label of `etcd_monitor_probe_errors_total`, in exposition order. */
export const PROBE_ERROR_REASONS: readonly string[] = [
  ...MEMBER_PROBE_CALLS.map((c) => c.reason),
  MEMBER_LIST_REASON,
];

export interface ProbeError {
  reason: string;
  /** The member's endpoint; absent for the member list. */
  endpoint?: string;
  message: string;
}

/** Every failed call of a round, member calls first (in table order per member), then the member list. */
export function probeErrors(o: ClusterObservation): ProbeError[] {
  const out: ProbeError[] = [];
  for (const m of o.members) {
    for (const c of MEMBER_PROBE_CALLS) {
      const message = c.error(m);
      if (message) out.push({ reason: c.reason, endpoint: m.endpoint, message });
    }
  }
  if (o.memberListError) out.push({ reason: MEMBER_LIST_REASON, message: o.memberListError });
  return out;
}
