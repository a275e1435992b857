/**
 * Capacity and advice for one round (SPEC §10, pure): the round goes into the capacity history and the
 * members' histogram windows, the capacity figures come out of them, and the advice checks judge those
 * and the round's facts. Read-only: nothing here changes the phase, a condition or the cluster.
 */
import type { Advice } from '../crd/types.js';
import type { ClusterObservation } from '../etcd/observation.js';
import { judgeAdvice, learnerSince, type AdviceEvent } from './advice.js';
import type { AdviceInputs, AdviceMember } from './adviceChecks.js';
import type { EvalConfig, Facts, PlanningMemory } from './analyse.js';
import { capacityOf, type CapacityFigures, type MemberDb } from './capacity.js';
import { record } from './capacityHistory.js';
import { recordWindows } from './memberWindows.js';

export interface Planning {
  capacity: CapacityFigures;
  advice: Advice[];
  events: AdviceEvent[];
  memory: PlanningMemory;
}

function memberDbs(f: Facts): MemberDb[] {
  const out: MemberDb[] = [];
  for (const m of f.members) {
    const s = m.obs?.status;
    if (s && s.dbSizeBytes > 0)
      out.push({ name: m.name, sizeBytes: s.dbSizeBytes, inUseBytes: s.dbSizeInUseBytes });
  }
  return out;
}

function adviceMembers(f: Facts): AdviceMember[] {
  return f.members.map((m) => {
    const a: AdviceMember = { key: m.key, name: m.name, endpoint: m.endpoint, isLearner: m.isLearner };
    if (m.obs?.status?.version) a.version = m.obs.status.version;
    if (m.raftIndexLag !== undefined) a.raftIndexLag = m.raftIndexLag;
    return a;
  });
}

export function plan(
  obs: ClusterObservation,
  f: Facts,
  mem: PlanningMemory,
  cfg: EvalConfig,
  previous: readonly Advice[] | undefined,
): Planning {
  const th = cfg.thresholds;
  const dbs = memberDbs(f);
  const biggest = dbs.reduce<MemberDb | undefined>(
    (b, m) => (!b || m.sizeBytes > b.sizeBytes ? m : b),
    undefined,
  );
  const revision = Math.max(0, ...obs.members.map((m) => m.status?.revision ?? 0));
  const history = biggest
    ? record(mem.history, {
        t: obs.time,
        size: biggest.sizeBytes,
        inUse: biggest.inUseBytes,
        rev: revision,
        ...(f.requestRatePerSecond !== undefined ? { requestsPerSecond: f.requestRatePerSecond } : {}),
      })
    : mem.history;
  const windows = recordWindows(mem.windows, obs.time, obs.members, th.adviceWindowMs);
  const capacity = capacityOf(history, dbs, f.db.quotaBytes, th.adviceWindowMs);
  const members = adviceMembers(f);
  const base = { members, time: obs.time };
  const inputs: AdviceInputs = {
    ...base,
    th,
    voters: f.voters,
    windows,
    capacity,
    leaderChangesLastHour: f.leaderChange.recentTimes.length,
    learnerSince: learnerSince(base, mem.advice),
  };
  if (f.db.quotaBytes !== undefined) inputs.quotaBytes = f.db.quotaBytes;
  if (f.db.sizeBytes !== undefined) inputs.sizeBytes = f.db.sizeBytes;
  if (cfg.backupConfigured !== undefined) inputs.backupConfigured = cfg.backupConfigured;
  // A round where no member answered judges nothing: the advice stays as it was.
  const judged = f.anyAnswer
    ? judgeAdvice(inputs, previous, mem.advice)
    : { advice: [...(previous ?? [])], events: [], memory: mem.advice };
  return {
    capacity,
    advice: judged.advice,
    events: judged.events,
    memory: { history, windows, advice: judged.memory },
  };
}
