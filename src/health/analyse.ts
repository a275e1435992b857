/**
 * analyse(): one probe round (plus what earlier rounds left in memory) → the plain facts every condition
 * check, the status and the transitions are computed from. Pure: no I/O, no clock.
 */
import type { AlarmType } from '../crd/types.js';
import type { ClusterObservation } from '../etcd/observation.js';
import { DEFAULT_ADVICE_THRESHOLDS, type AdviceThresholds } from './adviceChecks.js';
import { emptyAdviceMemory, type AdviceMemory } from './advice.js';
import { emptyHistory, type CapacityHistory } from './capacityHistory.js';
import type { MemberWindows } from './memberWindows.js';
import { round } from './format.js';
import {
  analyseLatency,
  emptyLatencyMemory,
  type LatencyFacts,
  type LatencyMemory,
  type PrevMetrics,
} from './latency.js';
import { leaderAgreement, leaderChange, type LeaderChange } from './leader.js';
import { memberFacts, type MemberFacts } from './members.js';

export interface Thresholds extends AdviceThresholds {
  latencyWarningMs: number;
  dbQuotaWarningPercent: number;
  leaderChangesWarningPerHour: number;
  /** A follower whose raft index trails the leader's by more than this is lagging. */
  raftIndexLagWarning: number;
}

export const DEFAULT_THRESHOLDS: Thresholds = {
  latencyWarningMs: 100,
  dbQuotaWarningPercent: 80,
  leaderChangesWarningPerHour: 3,
  raftIndexLagWarning: 1000,
  ...DEFAULT_ADVICE_THRESHOLDS,
};

export interface EvalConfig {
  thresholds: Thresholds;
  generation?: number;
  /** Result of validating the configuration (TLS material, secrets, …); absent means valid. */
  configError?: { reason: string; message: string };
  /** Scheduled backups are configured (spec.backup, --backup-schedule); absent: NoBackup is not judged. */
  backupConfigured?: boolean;
}

/**
 * What carries over between rounds and is not in the status (everything that is — member health, quorum,
 * alarms, leader-change count — is read back from the previous status instead).
 */
export interface Memory {
  /** The last agreed leader, kept across rounds without one, so a change through a leaderless round counts. */
  lastLeaderId?: string;
  /** Times of the leader changes of the last hour. */
  leaderChangeTimes: number[];
  /** Previous metrics snapshot per member endpoint, for interval deltas (histograms, request rate). */
  prevMetrics: PrevMetrics;
  latency: LatencyMemory;
  /** The capacity history, the members' histogram windows and the advice not raised yet (planning.ts). */
  planning: PlanningMemory;
}

export interface PlanningMemory {
  history: CapacityHistory;
  windows: MemberWindows;
  advice: AdviceMemory;
}

export function emptyMemory(): Memory {
  return {
    leaderChangeTimes: [],
    prevMetrics: {},
    latency: emptyLatencyMemory(),
    planning: { history: emptyHistory(), windows: {}, advice: emptyAdviceMemory() },
  };
}

export interface Alarm {
  memberID: string;
  type: AlarmType;
}

export interface Facts {
  time: number;
  nowIso: string;
  thresholds: Thresholds;
  configError?: { reason: string; message: string };
  members: MemberFacts[];
  voters: number;
  healthyVoters: number;
  quorumSize: number;
  quorate: boolean;
  /** Some member answered Status or the health read. */
  anyAnswer: boolean;
  firstStatusError?: string;
  leader: {
    agreed?: string;
    name?: string;
    endpoint?: string;
    maxTerm: number;
    splitTerms: Array<[term: number, leaders: string[]]>;
    splitBrain: boolean;
    /** One leader agreed by the healthy members (and no split brain). */
    hasLeader: boolean;
  };
  leaderChange: LeaderChange;
  /** `known`: some member answered the alarm list this round. */
  alarms: { known: boolean; list: Alarm[] };
  latency: LatencyFacts;
  requestRatePerSecond?: number;
  db: { sizeBytes?: number; inUseBytes?: number; quotaBytes?: number; quotaUsedPercent?: number };
  versions: string[];
  clusterID?: string;
  /** Memory for the next round's interval deltas. */
  nextPrevMetrics: PrevMetrics;
}

function maxOf(vals: ReadonlyArray<number | undefined>): number | undefined {
  const v = vals.filter((x): x is number => x !== undefined);
  return v.length ? Math.max(...v) : undefined;
}

function alarmsOf(obs: ClusterObservation): Facts['alarms'] {
  const map = new Map<string, Alarm>();
  for (const m of obs.members)
    for (const a of m.alarms ?? [])
      map.set(`${a.memberId}/${a.type}`, { memberID: a.memberId, type: a.type });
  const list = [...map.values()].sort((a, b) => (a.memberID + a.type).localeCompare(b.memberID + b.type));
  return { known: obs.members.some((m) => m.alarms !== undefined), list };
}

/** gRPC requests per second across members since the previous scrape (a counter reset counts from 0). */
function requestRate(obs: ClusterObservation, prev: PrevMetrics): number | undefined {
  let rate: number | undefined;
  for (const m of obs.members) {
    const curr = m.metrics?.grpcHandledTotal;
    const before = prev[m.endpoint];
    if (curr === undefined || !before || before.snapshot.grpcHandledTotal === undefined) continue;
    const dt = (obs.time - before.time) / 1000;
    if (dt <= 0) continue;
    const d = curr >= before.snapshot.grpcHandledTotal ? curr - before.snapshot.grpcHandledTotal : curr;
    rate = (rate ?? 0) + d / dt;
  }
  return rate === undefined ? undefined : round(rate, 2);
}

function dbFacts(obs: ClusterObservation): Facts['db'] {
  const sizeBytes = maxOf(obs.members.map((m) => m.status?.dbSizeBytes));
  const inUseBytes = maxOf(obs.members.map((m) => m.status?.dbSizeInUseBytes));
  const quotaBytes = maxOf(obs.members.map((m) => m.metrics?.quotaBackendBytes));
  const db: Facts['db'] = {};
  if (sizeBytes !== undefined) db.sizeBytes = sizeBytes;
  if (inUseBytes !== undefined) db.inUseBytes = inUseBytes;
  if (quotaBytes !== undefined) db.quotaBytes = quotaBytes;
  if (sizeBytes !== undefined && quotaBytes) db.quotaUsedPercent = round((sizeBytes / quotaBytes) * 100, 4);
  return db;
}

export function analyse(obs: ClusterObservation, memory: Memory, cfg: EvalConfig): Facts {
  const th = cfg.thresholds;
  const agreement = leaderAgreement(obs);
  const members = memberFacts(obs, agreement.agreed, th.raftIndexLagWarning);
  const voting = members.filter((m) => !m.isLearner);
  const healthyVoters = voting.filter((m) => m.healthy).length;
  const quorumSize = Math.floor(voting.length / 2) + 1;
  const splitBrain = agreement.splitTerms.length > 0;
  const hasLeader = agreement.agreed !== undefined && !splitBrain && healthyVoters > 0;
  const leaderMember = members.find((m) => m.id === agreement.agreed);
  const nextPrevMetrics = { ...memory.prevMetrics };
  for (const m of obs.members)
    if (m.metrics) nextPrevMetrics[m.endpoint] = { time: obs.time, snapshot: m.metrics };
  const responders = obs.members.filter((m) => m.status);
  const facts: Facts = {
    time: obs.time,
    nowIso: new Date(obs.time).toISOString(),
    thresholds: th,
    members,
    voters: voting.length,
    healthyVoters,
    quorumSize,
    quorate: healthyVoters >= quorumSize,
    anyAnswer: responders.length > 0 || obs.members.some((m) => m.healthChecked && !m.healthError),
    leader: { maxTerm: agreement.maxTerm, splitTerms: agreement.splitTerms, splitBrain, hasLeader },
    leaderChange: leaderChange(
      hasLeader ? agreement.agreed : undefined,
      memory.lastLeaderId,
      memory.leaderChangeTimes,
      obs.time,
    ),
    alarms: alarmsOf(obs),
    latency: analyseLatency({
      obs,
      memory: memory.latency,
      prevMetrics: memory.prevMetrics,
      thresholdMs: th.latencyWarningMs,
    }),
    db: dbFacts(obs),
    versions: [...new Set(responders.map((m) => m.status!.version))].sort(),
    nextPrevMetrics,
  };
  if (agreement.agreed !== undefined) {
    facts.leader.agreed = agreement.agreed;
    facts.leader.name = leaderMember?.name ?? agreement.agreed;
    facts.leader.endpoint = leaderMember?.endpoint ?? '';
  }
  if (cfg.configError) facts.configError = cfg.configError;
  const firstStatusError = obs.members.find((m) => m.statusError)?.statusError;
  if (firstStatusError) facts.firstStatusError = firstStatusError;
  const rate = requestRate(obs, memory.prevMetrics);
  if (rate !== undefined) facts.requestRatePerSecond = rate;
  const clusterID = responders.find((m) => m.status!.clusterId !== '0')?.status!.clusterId;
  if (clusterID) facts.clusterID = clusterID;
  return facts;
}
