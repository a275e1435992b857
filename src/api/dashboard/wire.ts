/**
 * The dashboard's wire format: what `/events` and `/api/v1/history` send. Pure types with no
 * runtime imports, shared by the server and the browser code in web/dashboard (type-checked against both).
 */
import type { EtcdMonitorStatus, Phase } from '../../crd/types.js';

/** One probe round, as charted. Figures that could not be measured are null, never a made-up 0. */
export interface HistoryPoint {
  /** When the round's probe began (ISO 8601). */
  time: string;
  phase: Phase;
  healthy: boolean;
  leader: string | null;
  memberCount: number;
  healthyMembers: number;
  readP99Ms: number | null;
  writeP99Ms: number | null;
  probeP99Ms: number | null;
  requestRatePerSecond: number | null;
  dbSizeBytes: number | null;
  dbSizeInUseBytes: number | null;
  dbQuotaUsedPercent: number | null;
  /** Leader changes this monitor observed so far (a counter: the chart shows its per-round increase). */
  leaderChanges: number;
  probeRoundMs: number;
}

/** The one-line summary of a cluster (as in `GET /api/v1/clusters`). */
export interface ClusterSummary {
  name: string;
  phase: Phase;
  healthy: boolean;
  leader: string | null;
  members: string | null;
  dbSize: string | null;
  latency: string | null;
  lastProbeTime: string | null;
  /** status.summary.advice: "0", or "3 (1 warning)"; null before the first round. */
  advice: string | null;
}

export type ClusterStatus = EtcdMonitorStatus & { cluster: string };

/** `event: hello`: sent once on every (re)connect. */
export interface HelloEvent {
  serverTime: string;
  heartbeatMs: number;
  historyCapacity: number;
  clusters: Array<{ name: string; intervalMs: number; summary: ClusterSummary }>;
  /** The cluster this stream carries full status for (?cluster=, else the first); null when none is monitored. */
  selected: string | null;
  status: ClusterStatus | null;
  /** The selected cluster's history, oldest first. */
  points: HistoryPoint[];
}

/** `event: round`: one probe round of one cluster. `status` only for the stream's selected cluster. */
export interface RoundEvent {
  cluster: string;
  intervalMs: number;
  probeRoundMs: number;
  summary: ClusterSummary;
  point: HistoryPoint;
  status?: ClusterStatus;
}

/** `event: removed`: a cluster is no longer monitored. */
export interface RemovedEvent {
  cluster: string;
}

/** `GET /api/v1/history` */
export interface HistoryResponse {
  cluster: string;
  intervalMs: number;
  capacity: number;
  points: HistoryPoint[];
}
