/**
 * The EtcdMonitor resource (etcdmonitor.dev/v1alpha1): spec and status types.
 * The status shape is also what the HTTP API returns for a cluster (SPEC §2), in both modes.
 */

export const GROUP = 'etcdmonitor.dev';
export const VERSION = 'v1alpha1';
export const KIND = 'EtcdMonitor';
export const PLURAL = 'etcdmonitors';

export interface EtcdMonitorSpec {
  endpoints: string[];
  interval?: string;
  timeout?: string;
  tls?: {
    secretName: string;
    serverName?: string;
    insecureSkipVerify?: boolean;
    caKey?: string;
    certKey?: string;
    keyKey?: string;
  };
  auth?: { secretName: string; usernameKey?: string; passwordKey?: string };
  metrics?: { enabled?: boolean; urls?: string[] };
  probes?: { writeLatency?: boolean };
  thresholds?: {
    latencyWarningMs?: number;
    dbQuotaWarningPercent?: number;
    leaderChangesWarningPerHour?: number;
  };
  paused?: boolean;
  backup?: BackupSpec;
  maintenance?: { defragmentation?: DefragmentationSpec };
}

/** spec.backup (SPEC §9): scheduled snapshots of the monitored cluster, opt-in. */
export interface BackupSpec {
  schedule: string;
  member?: 'follower' | 'leader' | 'any';
  retention?: { keep?: number; maxAge?: string };
  destination: {
    local?: { path: string };
    s3?: {
      endpoint?: string;
      bucket: string;
      prefix?: string;
      region?: string;
      forcePathStyle?: boolean;
      secretName: string;
      accessKeyIdKey?: string;
      secretAccessKeyKey?: string;
    };
  };
  verify?: { restoreTest?: boolean };
}

/** spec.maintenance.defragmentation (SPEC §9), opt-in. */
export interface DefragmentationSpec {
  schedule: string;
  minFragmentationPercent?: number;
  minReclaimableBytes?: number;
  disarmNoSpaceAlarm?: boolean;
}

/** status.backup and status.maintenance (SPEC §9). */
export interface BackupStatusFields {
  lastScheduleTime?: string;
  lastSuccessTime?: string;
  lastError?: string;
  location?: string;
  sizeBytes?: number;
  revision?: number;
  sha256?: string;
  durationSeconds?: number;
  verified?: boolean;
  retained?: number;
  nextScheduleTime?: string;
  /** verify.restoreTest: when the last stored snapshot was restored into a scratch etcd, and its key count. */
  restoreTest?: { time: string; keys: number };
}

export interface MaintenanceStatusFields {
  lastDefragmentation?: { time: string; members: string[]; reclaimedBytes: number };
  lastDefragmentationResult?: {
    time: string;
    outcome: 'Completed' | 'Skipped' | 'Failed';
    reason: string;
    message: string;
  };
  nextDefragmentationTime?: string;
}

export type Phase = 'Pending' | 'Healthy' | 'Degraded' | 'Unhealthy' | 'Unreachable' | 'Paused';
export type MemberRole = 'Leader' | 'Follower' | 'Learner' | 'Unknown';
export type AlarmType = 'NOSPACE' | 'CORRUPT';

export interface MemberStatus {
  name: string;
  id: string;
  endpoint: string;
  role: MemberRole;
  healthy: boolean;
  version?: string;
  dbSizeBytes?: number;
  dbSizeInUseBytes?: number;
  raftTerm?: number;
  raftIndex?: number;
  raftAppliedIndex?: number;
  probeLatencyMs?: number;
  errors: string[];
  lastError: string;
}

export type ConditionType =
  | 'Healthy'
  | 'QuorumAvailable'
  | 'LeaderElected'
  | 'Degraded'
  | 'AlarmActive'
  | 'ConfigValid'
  | 'BackupReady';

export interface Condition {
  type: ConditionType;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export interface LatencyStatus {
  readP99Ms?: number;
  /** `p99`, or `max` when the figure comes from too few samples (requests) for a p99: then it is their maximum. */
  readP99Kind?: 'p99' | 'max';
  /** How many samples (health reads, or requests in the interval's histograms) readP99Ms is from. */
  readSamples?: number;
  writeP99Ms?: number;
  writeP99Kind?: 'p99' | 'max';
  writeSamples?: number;
  probeP99Ms?: number;
  /** Why a figure is absent, e.g. "writeP99Ms: no write requests in the last interval". */
  notes?: string[];
}

export interface EtcdMonitorStatus {
  observedGeneration?: number;
  phase: Phase;
  healthy: boolean;
  hasLeader: boolean;
  leader?: { name: string; id: string; endpoint: string };
  clusterID?: string;
  memberCount: number;
  healthyMembers: number;
  quorumSize: number;
  versions: string[];
  dbSizeBytes?: number;
  dbSizeInUseBytes?: number;
  dbQuotaBytes?: number;
  dbQuotaUsedPercent?: number;
  alarms: Array<{ memberID: string; type: AlarmType }>;
  latency: LatencyStatus;
  requestRatePerSecond?: number;
  leaderChanges: number;
  lastLeaderChangeTime?: string;
  lastProbeTime?: string;
  summary: { members: string; dbSize: string; latency: string };
  members: MemberStatus[];
  conditions: Condition[];
  backup?: BackupStatusFields;
  maintenance?: MaintenanceStatusFields;
}
