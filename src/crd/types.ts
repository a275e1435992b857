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
    /** SPEC §10: capacity and advice thresholds. */
    defragFragmentationPercent?: number;
    defragReclaimableBytes?: number;
    quotaExhaustionWarning?: string;
    quotaExhaustionCritical?: string;
    quotaExhaustionMinPercent?: number;
    walFsyncP99Ms?: number;
    backendCommitP99Ms?: number;
    heartbeatIntervalMs?: number;
    learnerPromotionTimeout?: string;
    hardwareTier?: SizeTier;
    adviceWindow?: string;
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
  /** restoreImage: the etcd image of the operator's restore-test Job (etcd and etcdutl in it). */
  verify?: { restoreTest?: boolean; restoreImage?: string };
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

/** etcd's hardware guide (op-guide/hardware.md, "Example hardware configurations"): the smallest that fits. */
export type SizeTier = 'small' | 'medium' | 'large' | 'xlarge';

/** status.capacity (SPEC §10): trends from the observed history; a figure is absent (with a note) until known. */
export interface CapacityStatus {
  /** Growth of the backend size (etcd's dbSize), from a robust fit; compaction and defragmentation drops are not negative growth. */
  dbGrowthBytesPerHour?: number;
  /** When the backend size reaches the quota at that growth (RFC 3339); absent when not growing. */
  quotaExhaustionTime?: string;
  /** The most fragmented member: 1 − inUse/size, in %. */
  fragmentationPercent?: number;
  /** That member's dbSize − dbSizeInUse: what a defragmentation would give back. */
  reclaimableBytes?: number;
  /** Revisions per second over the advice window (each write transaction is one revision). */
  writeRevisionsPerSecond?: number;
  /** gRPC requests per second over the advice window, all members (from their /metrics). */
  requestsPerSecond?: number;
  /** The smallest tier of etcd's hardware guide that covers this data size and request rate; `beyond-xlarge` past its largest. */
  sizeTier?: SizeTier | 'beyond-xlarge';
  /** What the trend is fitted over: how long and how many rounds of history are kept. */
  historySeconds: number;
  historyRounds: number;
  notes?: string[];
}

export type AdviceCode =
  | 'SlowDisk'
  | 'SlowBackendCommit'
  | 'SlowPeerNetwork'
  | 'FrequentLeaderChanges'
  | 'DefragmentRecommended'
  | 'QuotaExhaustionSoon'
  | 'QuotaTooLarge'
  | 'EvenMemberCount'
  | 'MixedVersions'
  | 'UnsupportedVersion'
  | 'LearnerNotPromoted'
  | 'WorkloadAboveTier'
  | 'NoBackup';

export type AdviceSeverity = 'info' | 'warning' | 'critical';

/** What an advice is based on: the figure, the threshold it crossed, over which window, and etcd's doc that sets it. */
export interface AdviceEvidence {
  value: number;
  threshold: number;
  unit: string;
  window?: string;
  doc: string;
}

/** One status.advice[] entry (SPEC §10). Advice never changes the phase. */
export interface Advice {
  code: AdviceCode;
  severity: AdviceSeverity;
  /** The member it is about, when it is about one. */
  member?: string;
  message: string;
  evidence: AdviceEvidence;
  /** When it was raised (kept while it stays). */
  since: string;
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
  /** Printer-column texts; `advice`: "0" or "3 (1 warning)". */
  summary: { members: string; dbSize: string; latency: string; advice?: string };
  members: MemberStatus[];
  conditions: Condition[];
  capacity?: CapacityStatus;
  advice?: Advice[];
  backup?: BackupStatusFields;
  maintenance?: MaintenanceStatusFields;
}
