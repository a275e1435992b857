/**
 * The verdict: one probe round (plus what earlier rounds left in memory and the previous status) → the
 * cluster status, the Events worth telling a human, and the per-member figures the metrics exporter
 * publishes. Pure: no I/O and no clock; time comes in with the observation.
 *
 *   analyse()        observation + memory → facts (members, voters, leader, alarms, latency, rate, quota)
 *   CONDITION_CHECKS facts → one condition each (checks.ts), through buildConditions
 *   assembleStatus() facts + conditions → status; phase and `healthy` are read off the conditions
 *   transitions()    previous status + facts → Events, and the next memory
 */
import type { AlarmType, EtcdMonitorStatus } from '../crd/types.js';
import type { MemberMetricsSnapshot } from '../etcd/memberMetrics.js';
import type { ClusterObservation } from '../etcd/observation.js';
import { analyse, type EvalConfig, type Facts, type Memory } from './analyse.js';
import { assembleStatus } from './assemble.js';
import { runChecks } from './checks.js';
import { adviceSummary } from './advice.js';
import type { CapacityFigures } from './capacity.js';
import { buildConditions } from './conditions.js';
import { plan } from './planning.js';
import { transitions, type ClusterEvent } from './transitions.js';

export { DEFAULT_THRESHOLDS, emptyMemory, type EvalConfig, type Memory, type Thresholds } from './analyse.js';
export { errorsOf } from './members.js';
export { memoryFromStatus, type ClusterEvent } from './transitions.js';

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
  /** The health read's duration when it was a latency sample (not connection set-up, not an event-loop stall). */
  probeSeconds?: number;
  dbSizeBytes?: number;
  dbSizeInUseBytes?: number;
  metrics?: MemberMetricsSnapshot;
}

export interface Evaluation {
  status: EtcdMonitorStatus;
  memory: Memory;
  events: ClusterEvent[];
  members: MemberFigures[];
  /** Number of leader changes this round (0 or 1), for the counter metric. */
  leaderChangedThisRound: boolean;
  /** The capacity figures behind status.capacity, for the gauges. */
  capacity: CapacityFigures;
}

function memberFigures(f: Facts): MemberFigures[] {
  return f.members.map((m) => {
    const o = m.obs;
    const sample =
      o?.healthLatencyMs !== undefined && !o.healthError && f.latency.acceptedReads.has(o.endpoint);
    return {
      name: m.name,
      id: m.id,
      endpoint: m.endpoint,
      healthy: m.healthy,
      isLeader: m.role === 'Leader',
      isLearner: m.isLearner,
      alarms: m.alarms,
      raftIndexLag: m.raftIndexLag,
      probeSeconds: sample ? o.healthLatencyMs! / 1000 : undefined,
      dbSizeBytes: o?.status?.dbSizeBytes,
      dbSizeInUseBytes: o?.status?.dbSizeInUseBytes,
      metrics: o?.metrics,
    };
  });
}

export function evaluate(
  obs: ClusterObservation,
  prevStatus: EtcdMonitorStatus | undefined,
  memory: Memory,
  cfg: EvalConfig,
): Evaluation {
  const facts = analyse(obs, memory, cfg);
  const conditions = buildConditions(runChecks(facts), prevStatus?.conditions, facts.nowIso, cfg.generation);
  const status = assembleStatus(facts, conditions, prevStatus, cfg.generation);
  const next = transitions(prevStatus, facts, memory);
  const planning = plan(obs, facts, memory.planning, cfg, prevStatus?.advice);
  status.capacity = planning.capacity.status;
  status.advice = planning.advice;
  status.summary.advice = adviceSummary(planning.advice);
  return {
    status,
    memory: { ...next.memory, planning: planning.memory },
    events: [...next.events, ...planning.events],
    capacity: planning.capacity,
    members: memberFigures(facts),
    leaderChangedThisRound: facts.leaderChange.changed,
  };
}
