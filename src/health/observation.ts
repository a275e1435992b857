/** What one probe round saw: plain data produced by src/etcd and judged by src/health. */
import type { AlarmEntry, MemberListEntry, MemberStatusResponse } from '../etcd/grpc.js';
import type { MemberMetricsSnapshot } from '../etcd/memberMetrics.js';

export interface MemberObservation {
  /** The configured endpoint, normalised (e.g. "http://127.0.0.1:2379"). */
  endpoint: string;
  status?: MemberStatusResponse;
  statusError?: string;
  /** The `etcdctl endpoint health`-style read: ok when healthError is absent and healthChecked is true. */
  healthChecked: boolean;
  healthError?: string;
  healthLatencyMs?: number;
  /**
   * The cluster-wide alarm list, on the member that answered it (it is asked of one member per round,
   * like the member list); alarmsError on each member that was asked and failed.
   */
  alarms?: AlarmEntry[];
  alarmsError?: string;
  metrics?: MemberMetricsSnapshot;
  metricsError?: string;
  writeLatencyMs?: number;
  writeError?: string;
}

export interface ClusterObservation {
  /** Epoch milliseconds when the round started. */
  time: number;
  members: MemberObservation[];
  memberList?: MemberListEntry[];
  memberListError?: string;
}
