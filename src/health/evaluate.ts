/**
 * The verdict: one probe round (plus what earlier rounds left in memory) → the cluster status,
 * the Events worth telling a human, and the per-member figures the metrics exporter publishes.
 * Pure: no I/O and no clock; time comes in with the observation.
 */
import type { AlarmType, Condition, EtcdMonitorStatus, MemberStatus, Phase } from '../crd/types.js';
import type { Histogram, MemberMetricsSnapshot } from '../etcd/memberMetrics.js';
import { buildConditions, type ConditionCheck } from './conditions.js';
import { humanBytes, humanMs, round } from './format.js';
import { histogramDelta, histogramQuantile, sampleQuantile, sumHistograms } from './histogram.js';
import type { ClusterObservation, MemberObservation } from './observation.js';

export interface Thresholds {
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
};

export interface EvalConfig {
  thresholds: Thresholds;
  generation?: number;
  /** Result of validating the configuration (TLS material, secrets, …); absent means valid. */
  configError?: { reason: string; message: string };
}

export interface ClusterEvent {
  type: 'Normal' | 'Warning';
  reason:
    | 'LeaderChanged'
    | 'MemberUnhealthy'
    | 'MemberRecovered'
    | 'QuorumLost'
    | 'QuorumRestored'
    | 'AlarmRaised'
    | 'AlarmCleared'
    | 'SplitBrainSuspected'
    | 'ConfigInvalid';
  message: string;
}

/** State carried between rounds that is not part of the user-visible status. */
export interface Memory {
  lastLeaderId?: string;
  leaderChanges: number;
  leaderChangeTimes: number[];
  lastLeaderChangeTime?: string;
  /** Previous metrics snapshot per member endpoint, for interval deltas. */
  prevMetrics: Record<string, { time: number; snapshot: MemberMetricsSnapshot }>;
  /** Recent health-read latencies (ms), newest last. */
  probeLatencies: number[];
  writeLatencies: number[];
  memberHealthy: Record<string, boolean>;
  alarmKeys: string[];
  quorate?: boolean;
  splitBrain: boolean;
  lastErrors: Record<string, string>;
  /** The latency threshold was crossed and p99 has not yet fallen back below LATENCY_CLEAR_RATIO of it. */
  latencyHigh?: boolean;
}

/**
 * Hysteresis for the latency threshold: p99 above the threshold marks the cluster Degraded, and only p99
 * below this share of the threshold clears it, so a p99 hovering around the line does not flip the
 * phase (and rewrite the status, and emit events) every round.
 */
export const LATENCY_CLEAR_RATIO = 0.8;

export function emptyMemory(): Memory {
  return {
    leaderChanges: 0,
    leaderChangeTimes: [],
    prevMetrics: {},
    probeLatencies: [],
    writeLatencies: [],
    memberHealthy: {},
    alarmKeys: [],
    splitBrain: false,
    lastErrors: {},
  };
}

/** Figures per member for the metrics exporter (keyed by member name in the result). */
export interface MemberFigures {
  name: string;
  id: string;
  endpoint: string;
  healthy: boolean;
  isLeader: boolean;
  isLearner: boolean;
  alarms: AlarmType[];
  raftIndexLag?: number;
  probeSeconds?: number;
  dbSizeBytes?: number;
  metrics?: MemberMetricsSnapshot;
}

export interface Evaluation {
  status: EtcdMonitorStatus;
  memory: Memory;
  events: ClusterEvent[];
  members: MemberFigures[];
  /** Number of leader changes this round (0 or 1), for the counter metric. */
  leaderChangedThisRound: boolean;
}

const PROBE_WINDOW = 120;
const HOUR_MS = 3_600_000;

/**
 * A member's probe errors, one line per distinct cause: when several calls fail the same way (a member
 * that is down refuses every call) they share one line, "status, health, alarms: connect ECONNREFUSED …".
 */
export function errorsOf(m: MemberObservation): string[] {
  const calls: Array<[string, string | undefined]> = [
    ['status', m.statusError],
    ['health', m.healthError],
    ['alarms', m.alarmsError],
    ['metrics', m.metricsError],
    ['write probe', m.writeError],
  ];
  const byCause = new Map<string, string[]>();
  for (const [what, err] of calls) {
    if (!err) continue;
    // "maintenance.status http://host:2379: UNAVAILABLE: …" → the cause without the call and endpoint.
    let cause = err.replace(/^[\w.]+ \S+: /, '');
    if (cause.startsWith(`${what}: `)) cause = cause.slice(what.length + 2);
    const whats = byCause.get(cause);
    if (whats) whats.push(what);
    else byCause.set(cause, [what]);
  }
  return [...byCause].map(([cause, whats]) => `${whats.join(', ')}: ${cause}`);
}

interface ResolvedMember {
  obs?: MemberObservation;
  id: string;
  name: string;
  endpoint: string;
  isLearner: boolean;
}

/** Pair configured endpoints with the member list: by member ID from Status, else by client URL. */
function resolveMembers(obs: ClusterObservation): ResolvedMember[] {
  const list = obs.memberList ?? [];
  const byId = new Map(list.map((m) => [m.id, m]));
  const out: ResolvedMember[] = [];
  const covered = new Set<string>();
  for (const m of obs.members) {
    let id = m.status?.memberId;
    if (!id) {
      const host = new URL(m.endpoint).host;
      const match = list.find((e) => e.clientURLs.some((u) => u === m.endpoint || safeHost(u) === host));
      id = match?.id;
    }
    const entry = id ? byId.get(id) : undefined;
    if (id) covered.add(id);
    out.push({
      obs: m,
      id: id ?? '',
      name: entry?.name || new URL(m.endpoint).host,
      endpoint: m.endpoint,
      isLearner: m.status?.isLearner ?? entry?.isLearner ?? false,
    });
  }
  for (const e of list) {
    if (covered.has(e.id)) continue;
    out.push({ id: e.id, name: e.name || e.id, endpoint: e.clientURLs[0] ?? '', isLearner: e.isLearner });
  }
  return out;
}

function safeHost(u: string): string {
  try {
    return new URL(u).host;
  } catch {
    return u;
  }
}

function pushWindow(win: number[], v: number | undefined): number[] {
  if (v === undefined) return win;
  const next = [...win, v];
  return next.length > PROBE_WINDOW ? next.slice(next.length - PROBE_WINDOW) : next;
}

interface LatencyResult {
  p99Ms?: number;
  note?: string;
}

function intervalP99(
  label: string,
  pick: (s: MemberMetricsSnapshot) => Histogram | undefined,
  obs: ClusterObservation,
  memory: Memory,
): LatencyResult | undefined {
  const deltas: Histogram[] = [];
  let anyHist = false;
  let anyPrev = false;
  for (const m of obs.members) {
    const curr = m.metrics ? pick(m.metrics) : undefined;
    if (!curr) continue;
    anyHist = true;
    const prevSnap = memory.prevMetrics[m.endpoint]?.snapshot;
    const prev = prevSnap ? pick(prevSnap) : undefined;
    if (!prev) continue;
    anyPrev = true;
    deltas.push(histogramDelta(prev, curr));
  }
  if (!anyHist) return undefined;
  if (!anyPrev) return { note: `${label}: waiting for a second scrape of the members' gRPC histograms` };
  const total = sumHistograms(deltas);
  const q = total ? histogramQuantile(0.99, total) : undefined;
  if (q === undefined) return { note: `${label}: no such requests in the last interval` };
  return { p99Ms: round(q * 1000) };
}

export function evaluate(obs: ClusterObservation, prevStatus: EtcdMonitorStatus | undefined, memoryIn: Memory, cfg: EvalConfig): Evaluation {
  const nowIso = new Date(obs.time).toISOString();
  const th = cfg.thresholds;
  const events: ClusterEvent[] = [];
  const memory: Memory = {
    ...memoryIn,
    prevMetrics: { ...memoryIn.prevMetrics },
    memberHealthy: { ...memoryIn.memberHealthy },
    lastErrors: { ...memoryIn.lastErrors },
  };
  const resolved = resolveMembers(obs);

  // --- Leader agreement -------------------------------------------------------------------------
  const responders = obs.members.filter((m) => m.status);
  const leadersByTerm = new Map<number, Set<string>>();
  for (const m of responders) {
    const s = m.status!;
    if (s.leaderId === '0') continue;
    const set = leadersByTerm.get(s.raftTerm) ?? new Set<string>();
    set.add(s.leaderId);
    leadersByTerm.set(s.raftTerm, set);
  }
  const splitTerms = [...leadersByTerm.entries()].filter(([, s]) => s.size > 1);
  const splitBrain = splitTerms.length > 0;
  const maxTerm = responders.reduce((t, m) => Math.max(t, m.status!.raftTerm), 0);
  const atMax = leadersByTerm.get(maxTerm);
  const agreedLeader = atMax && atMax.size === 1 ? [...atMax][0]! : undefined;

  // --- Per-member health --------------------------------------------------------------------------
  const leaderStatus = responders.find((m) => m.status!.memberId === agreedLeader)?.status;
  const memberStatuses: MemberStatus[] = [];
  const figures: MemberFigures[] = [];
  let healthyVoters = 0;
  let voters = 0;

  const laggards: string[] = [];
  for (const r of resolved) {
    const o = r.obs;
    const errors = o ? errorsOf(o) : ['not probed: no configured endpoint reaches this member'];

    const statusOk = Boolean(o?.status);
    // A learner refuses linearizable reads by design; its Status answer is its health.
    const healthOk = Boolean(o && o.healthChecked && !o.healthError);
    // Status errors (e.g. an alarm's text) are shown with the member; alarms are judged cluster-wide.
    const healthy = statusOk && (r.isLearner ? true : healthOk);
    if (!r.isLearner) {
      voters++;
      if (healthy) healthyVoters++;
    }
    const key = r.id || r.endpoint;
    if (errors.length > 0) memory.lastErrors[key] = errors[errors.length - 1]!;
    const role: MemberStatus['role'] = !o?.status
      ? r.isLearner
        ? 'Learner'
        : 'Unknown'
      : r.isLearner
        ? 'Learner'
        : r.id === agreedLeader
          ? 'Leader'
          : 'Follower';
    const ms: MemberStatus = {
      name: r.name,
      id: r.id,
      endpoint: r.endpoint,
      role,
      healthy,
      errors: [...errors, ...(o?.status?.errors ?? [])],
      lastError: memory.lastErrors[key] ?? '',
    };
    let lag: number | undefined;
    if (o?.status) {
      const s = o.status;
      ms.version = s.version;
      ms.dbSizeBytes = s.dbSizeBytes;
      ms.dbSizeInUseBytes = s.dbSizeInUseBytes;
      ms.raftTerm = s.raftTerm;
      ms.raftIndex = s.raftIndex;
      ms.raftAppliedIndex = s.raftAppliedIndex;
      if (leaderStatus) {
        lag = Math.max(0, leaderStatus.raftIndex - s.raftIndex);
        if (lag > th.raftIndexLagWarning) laggards.push(r.name);
      }
    }
    if (o?.healthLatencyMs !== undefined) ms.probeLatencyMs = round(o.healthLatencyMs);
    memberStatuses.push(ms);

    const alarmTypes = new Set<AlarmType>();
    for (const m of obs.members) for (const a of m.alarms ?? []) if (a.memberId === r.id) alarmTypes.add(a.type);
    figures.push({
      name: r.name,
      id: r.id,
      endpoint: r.endpoint,
      healthy,
      isLeader: role === 'Leader',
      isLearner: r.isLearner,
      alarms: [...alarmTypes],
      raftIndexLag: lag,
      probeSeconds: o?.healthLatencyMs !== undefined ? o.healthLatencyMs / 1000 : undefined,
      dbSizeBytes: o?.status?.dbSizeBytes,
      metrics: o?.metrics,
    });

    // Member transitions, told once.
    const was = memory.memberHealthy[key];
    if (was === undefined && !healthy) {
      events.push({ type: 'Warning', reason: 'MemberUnhealthy', message: `member ${r.name} (${r.endpoint}) is unhealthy: ${errors.join('; ') || 'not healthy'}` });
    } else if (was === true && !healthy) {
      events.push({ type: 'Warning', reason: 'MemberUnhealthy', message: `member ${r.name} (${r.endpoint}) became unhealthy: ${errors.join('; ') || 'not healthy'}` });
    } else if (was === false && healthy) {
      events.push({ type: 'Normal', reason: 'MemberRecovered', message: `member ${r.name} (${r.endpoint}) is healthy again` });
    }
    memory.memberHealthy[key] = healthy;
  }

  const memberCount = resolved.length;
  const quorumSize = Math.floor(voters / 2) + 1;
  const quorate = healthyVoters >= quorumSize;
  const hasLeader = agreedLeader !== undefined && !splitBrain && healthyVoters > 0;
  const leaderMember = resolved.find((r) => r.id === agreedLeader);

  // --- Alarms -------------------------------------------------------------------------------------
  const alarmMap = new Map<string, { memberID: string; type: AlarmType }>();
  for (const m of obs.members) for (const a of m.alarms ?? []) alarmMap.set(`${a.memberId}/${a.type}`, { memberID: a.memberId, type: a.type });
  const alarms = [...alarmMap.values()].sort((a, b) => (a.memberID + a.type).localeCompare(b.memberID + b.type));
  const alarmsKnown = obs.members.some((m) => m.alarms !== undefined);
  if (alarmsKnown) {
    const nameOf = (id: string): string => resolved.find((r) => r.id === id)?.name ?? id;
    for (const [k, a] of alarmMap) {
      if (!memory.alarmKeys.includes(k)) events.push({ type: 'Warning', reason: 'AlarmRaised', message: `alarm ${a.type} raised on member ${nameOf(a.memberID)}` });
    }
    for (const k of memory.alarmKeys) {
      if (!alarmMap.has(k)) {
        const [id, type] = k.split('/');
        events.push({ type: 'Normal', reason: 'AlarmCleared', message: `alarm ${type} cleared on member ${nameOf(id ?? '')}` });
      }
    }
    memory.alarmKeys = [...alarmMap.keys()];
  }

  // --- Leader changes -----------------------------------------------------------------------------
  let leaderChangedThisRound = false;
  if (hasLeader && agreedLeader) {
    if (memory.lastLeaderId && memory.lastLeaderId !== agreedLeader) {
      leaderChangedThisRound = true;
      memory.leaderChanges += 1;
      memory.lastLeaderChangeTime = nowIso;
      memory.leaderChangeTimes = [...memory.leaderChangeTimes, obs.time];
      const oldName = resolved.find((r) => r.id === memory.lastLeaderId)?.name ?? memory.lastLeaderId;
      events.push({ type: 'Normal', reason: 'LeaderChanged', message: `leader changed from ${oldName} (${memory.lastLeaderId}) to ${leaderMember?.name ?? agreedLeader} (${agreedLeader})` });
    }
    memory.lastLeaderId = agreedLeader;
  }
  memory.leaderChangeTimes = memory.leaderChangeTimes.filter((t) => obs.time - t <= HOUR_MS);

  // --- Quorum and split brain transitions ----------------------------------------------------------
  const anyAnswer = responders.length > 0 || obs.members.some((m) => m.healthChecked && !m.healthError);
  if (memory.quorate === true && !quorate) {
    events.push({ type: 'Warning', reason: 'QuorumLost', message: `quorum lost: ${healthyVoters}/${voters} voting members healthy, ${quorumSize} needed` });
  } else if (memory.quorate === undefined && !quorate) {
    events.push({ type: 'Warning', reason: 'QuorumLost', message: `no quorum: ${healthyVoters}/${voters} voting members healthy, ${quorumSize} needed` });
  } else if (memory.quorate === false && quorate) {
    events.push({ type: 'Normal', reason: 'QuorumRestored', message: `quorum restored: ${healthyVoters}/${voters} voting members healthy` });
  }
  memory.quorate = quorate;
  if (splitBrain && !memory.splitBrain) {
    const detail = splitTerms.map(([t, s]) => `term ${t}: leaders ${[...s].join(', ')}`).join('; ');
    events.push({ type: 'Warning', reason: 'SplitBrainSuspected', message: `members disagree on the leader within one term (${detail})` });
  }
  memory.splitBrain = splitBrain;

  // --- Latency, rate, DB -------------------------------------------------------------------------
  const notes: string[] = [];
  memory.probeLatencies = obs.members.reduce((w, m) => pushWindow(w, m.healthLatencyMs), memory.probeLatencies);
  memory.writeLatencies = obs.members.reduce((w, m) => pushWindow(w, m.writeLatencyMs), memory.writeLatencies);
  const probeP99 = sampleQuantile(0.99, memory.probeLatencies);
  const readH = intervalP99('readP99Ms', (s) => s.readHistogram, obs, memory);
  const writeH = intervalP99('writeP99Ms', (s) => s.writeHistogram, obs, memory);
  let readP99: number | undefined;
  if (readH) {
    readP99 = readH.p99Ms;
    if (readH.note) notes.push(readH.note);
  } else if (probeP99 !== undefined) {
    readP99 = round(probeP99);
    notes.push("readP99Ms: from the monitor's own health reads (members export no grpc_server_handling_seconds; run etcd with --metrics=extensive)");
  } else {
    notes.push('readP99Ms: no measurement (no member answered a read)');
  }
  let writeP99: number | undefined;
  if (writeH) {
    writeP99 = writeH.p99Ms;
    if (writeH.note) notes.push(writeH.note);
  } else if (memory.writeLatencies.length > 0) {
    writeP99 = round(sampleQuantile(0.99, memory.writeLatencies)!);
    notes.push("writeP99Ms: from the monitor's write probe (members export no grpc_server_handling_seconds)");
  } else {
    notes.push('writeP99Ms: no measurement (members export no grpc_server_handling_seconds and the write probe is off)');
  }

  let rate: number | undefined;
  for (const m of obs.members) {
    const curr = m.metrics?.grpcHandledTotal;
    const prev = memory.prevMetrics[m.endpoint];
    if (curr === undefined || !prev || prev.snapshot.grpcHandledTotal === undefined) continue;
    const dt = (obs.time - prev.time) / 1000;
    if (dt <= 0) continue;
    const d = curr >= prev.snapshot.grpcHandledTotal ? curr - prev.snapshot.grpcHandledTotal : curr;
    rate = (rate ?? 0) + d / dt;
  }
  for (const m of obs.members) {
    if (m.metrics) memory.prevMetrics[m.endpoint] = { time: obs.time, snapshot: m.metrics };
  }

  const maxOf = (vals: Array<number | undefined>): number | undefined => {
    const v = vals.filter((x): x is number => x !== undefined);
    return v.length ? Math.max(...v) : undefined;
  };
  const dbSize = maxOf(responders.map((m) => m.status!.dbSizeBytes));
  const dbInUse = maxOf(responders.map((m) => m.status!.dbSizeInUseBytes));
  const quota = maxOf(obs.members.map((m) => m.metrics?.quotaBackendBytes));
  const quotaPct = dbSize !== undefined && quota ? round((dbSize / quota) * 100, 4) : undefined;

  // --- Verdict ------------------------------------------------------------------------------------
  const unhealthyMembers = memberStatuses.filter((m) => !m.healthy).map((m) => m.name);
  const degradedReasons: string[] = [];
  if (unhealthyMembers.length > 0) degradedReasons.push(`unhealthy members: ${unhealthyMembers.join(', ')}`);
  if (laggards.length > 0) degradedReasons.push(`lagging behind the leader by more than ${th.raftIndexLagWarning} entries: ${laggards.join(', ')}`);
  const worstLatency = maxOf([readP99, writeP99]);
  const clearBelow = th.latencyWarningMs * LATENCY_CLEAR_RATIO;
  if (worstLatency === undefined || worstLatency < clearBelow) memory.latencyHigh = false;
  else if (worstLatency > th.latencyWarningMs) memory.latencyHigh = true;
  if (memory.latencyHigh && worstLatency !== undefined) {
    degradedReasons.push(
      worstLatency > th.latencyWarningMs
        ? `p99 latency ${humanMs(worstLatency)} above ${th.latencyWarningMs}ms`
        : `p99 latency ${humanMs(worstLatency)}, above ${th.latencyWarningMs}ms until it falls below ${humanMs(clearBelow)}`,
    );
  }
  if (quotaPct !== undefined && quotaPct >= th.dbQuotaWarningPercent) degradedReasons.push(`database at ${quotaPct}% of its quota (warning at ${th.dbQuotaWarningPercent}%)`);
  if (memory.leaderChangeTimes.length > th.leaderChangesWarningPerHour) degradedReasons.push(`${memory.leaderChangeTimes.length} leader changes in the last hour (warning above ${th.leaderChangesWarningPerHour})`);

  const healthy = quorate && hasLeader && alarms.length === 0 && !splitBrain;
  let phase: Phase;
  if (!anyAnswer) phase = 'Unreachable';
  else if (!healthy) phase = 'Unhealthy';
  else if (degradedReasons.length > 0) phase = 'Degraded';
  else phase = 'Healthy';

  const unhealthyReasons: string[] = [];
  if (!anyAnswer) {
    const first = obs.members.find((m) => m.statusError)?.statusError;
    unhealthyReasons.push(first ? `no member answered (first error: ${first})` : 'no member answered');
  }
  if (!quorate) unhealthyReasons.push(`no quorum (${healthyVoters}/${voters} voting members healthy, ${quorumSize} needed)`);
  if (splitBrain) unhealthyReasons.push('members disagree on the leader within one term');
  else if (!hasLeader) unhealthyReasons.push('no leader');
  if (alarms.length > 0) unhealthyReasons.push(`alarms active: ${alarms.map((a) => a.type).join(', ')}`);

  const checks: ConditionCheck[] = [
    healthy
      ? { type: 'Healthy', status: 'True', reason: 'ClusterHealthy', message: `${healthyVoters}/${voters} voting members healthy, leader ${leaderMember?.name ?? agreedLeader}` }
      : { type: 'Healthy', status: 'False', reason: !anyAnswer ? 'Unreachable' : !quorate ? 'QuorumLost' : splitBrain ? 'SplitBrainSuspected' : !hasLeader ? 'NoLeader' : 'AlarmActive', message: unhealthyReasons.join('; ') },
    quorate
      ? { type: 'QuorumAvailable', status: 'True', reason: 'QuorumAvailable', message: `${healthyVoters} of ${voters} voting members healthy, quorum ${quorumSize}` }
      : { type: 'QuorumAvailable', status: 'False', reason: 'QuorumLost', message: `${healthyVoters} of ${voters} voting members healthy, quorum ${quorumSize}` },
    splitBrain
      ? { type: 'LeaderElected', status: 'False', reason: 'SplitBrainSuspected', message: splitTerms.map(([t, s]) => `term ${t}: ${[...s].join(', ')}`).join('; ') }
      : hasLeader
        ? { type: 'LeaderElected', status: 'True', reason: 'LeaderElected', message: `leader ${leaderMember?.name ?? agreedLeader} (${agreedLeader}) in term ${maxTerm}` }
        : { type: 'LeaderElected', status: 'False', reason: 'NoLeader', message: anyAnswer ? 'no leader agreed by the responding members' : 'no member answered' },
    healthy && degradedReasons.length > 0
      ? { type: 'Degraded', status: 'True', reason: unhealthyMembers.length > 0 ? 'MemberUnhealthy' : laggards.length > 0 ? 'MemberLagging' : 'ThresholdExceeded', message: degradedReasons.join('; ') }
      : { type: 'Degraded', status: 'False', reason: healthy ? 'AllMembersHealthy' : 'ClusterUnhealthy', message: healthy ? 'no member down, lagging or over a threshold' : 'the cluster is unhealthy, not degraded' },
    alarms.length > 0
      ? { type: 'AlarmActive', status: 'True', reason: alarms[0]!.type, message: alarms.map((a) => `${a.type} on ${resolved.find((r) => r.id === a.memberID)?.name ?? a.memberID}`).join(', ') }
      : { type: 'AlarmActive', status: alarmsKnown ? 'False' : 'Unknown', reason: alarmsKnown ? 'NoAlarm' : 'AlarmsUnknown', message: alarmsKnown ? 'no active alarm' : 'no member answered the alarm list' },
    cfg.configError
      ? { type: 'ConfigValid', status: 'False', reason: cfg.configError.reason, message: cfg.configError.message }
      : { type: 'ConfigValid', status: 'True', reason: 'Valid', message: 'configuration accepted' },
  ];
  const conditions: Condition[] = buildConditions(checks, prevStatus?.conditions, nowIso, cfg.generation);

  const versions = [...new Set(responders.map((m) => m.status!.version))].sort();
  const clusterID = responders.find((m) => m.status!.clusterId !== '0')?.status!.clusterId;
  const latencyShown = writeP99 ?? readP99 ?? probeP99;

  const status: EtcdMonitorStatus = {
    phase,
    healthy,
    hasLeader,
    memberCount,
    healthyMembers: memberStatuses.filter((m) => m.healthy).length,
    quorumSize,
    versions,
    alarms,
    latency: {},
    leaderChanges: memory.leaderChanges,
    lastProbeTime: nowIso,
    summary: {
      members: `${memberStatuses.filter((m) => m.healthy).length}/${memberCount}`,
      dbSize: humanBytes(dbSize),
      latency: humanMs(latencyShown),
    },
    members: memberStatuses,
    conditions,
  };
  if (cfg.generation !== undefined) status.observedGeneration = cfg.generation;
  if (hasLeader && agreedLeader) status.leader = { name: leaderMember?.name ?? agreedLeader, id: agreedLeader, endpoint: leaderMember?.endpoint ?? '' };
  if (clusterID) status.clusterID = clusterID;
  if (dbSize !== undefined) status.dbSizeBytes = dbSize;
  if (dbInUse !== undefined) status.dbSizeInUseBytes = dbInUse;
  if (quota !== undefined) status.dbQuotaBytes = quota;
  if (quotaPct !== undefined) status.dbQuotaUsedPercent = quotaPct;
  if (readP99 !== undefined) status.latency.readP99Ms = readP99;
  if (writeP99 !== undefined) status.latency.writeP99Ms = writeP99;
  if (probeP99 !== undefined) status.latency.probeP99Ms = round(probeP99);
  if (notes.length > 0) status.latency.notes = notes;
  if (rate !== undefined) status.requestRatePerSecond = round(rate, 2);
  if (memory.lastLeaderChangeTime) status.lastLeaderChangeTime = memory.lastLeaderChangeTime;

  return { status, memory, events, members: figures, leaderChangedThisRound };
}
