/** Status shapes the controller writes outside of probe rounds (pure). */
import type { Condition, EtcdMonitorStatus, Phase } from '../crd/types.js';
import { buildConditions, type ConditionCheck } from '../health/conditions.js';
import type { ConfigProblem } from './config.js';

function baseStatus(phase: Phase, prev: EtcdMonitorStatus | undefined): EtcdMonitorStatus {
  return {
    phase,
    healthy: false,
    hasLeader: false,
    memberCount: prev?.memberCount ?? 0,
    healthyMembers: 0,
    quorumSize: prev?.quorumSize ?? 0,
    versions: prev?.versions ?? [],
    alarms: [],
    latency: {},
    leaderChanges: prev?.leaderChanges ?? 0,
    summary: { members: prev?.summary.members ?? '-', dbSize: prev?.summary.dbSize ?? '-', latency: '-' },
    members: [],
    conditions: [],
  };
}

function keepOthers(prev: readonly Condition[] | undefined, checks: ConditionCheck[]): ConditionCheck[] {
  const types = new Set(checks.map((c) => c.type));
  return [
    ...(prev ?? [])
      .filter((c) => !types.has(c.type))
      .map(({ type, status, reason, message }) => ({ type, status, reason, message })),
    ...checks,
  ];
}

/** Before the first probe round of a (new or changed) resource. */
export function pendingStatus(generation: number | undefined, now: string): EtcdMonitorStatus {
  const s = baseStatus('Pending', undefined);
  s.conditions = buildConditions(
    [
      {
        type: 'ConfigValid',
        status: 'True',
        reason: 'Valid',
        message: 'configuration accepted; waiting for the first probe round',
      },
    ],
    undefined,
    now,
    generation,
  );
  if (generation !== undefined) s.observedGeneration = generation;
  return s;
}

/** The spec or its Secrets cannot be used: nothing is probed, ConfigValid=False says why. */
export function invalidStatus(
  problem: ConfigProblem,
  prev: EtcdMonitorStatus | undefined,
  generation: number | undefined,
  now: string,
): EtcdMonitorStatus {
  const s = baseStatus('Pending', prev);
  const checks: ConditionCheck[] = [
    { type: 'ConfigValid', status: 'False', reason: problem.reason, message: problem.message },
    {
      type: 'Healthy',
      status: 'Unknown',
      reason: 'ConfigInvalid',
      message: 'not probed: the configuration is invalid',
    },
  ];
  s.conditions = buildConditions(checks, prev?.conditions, now, generation);
  if (generation !== undefined) s.observedGeneration = generation;
  return s;
}

/** spec.paused: probing stops; the last figures stay, phase Paused. */
export function pausedStatus(
  prev: EtcdMonitorStatus | undefined,
  generation: number | undefined,
  now: string,
): EtcdMonitorStatus {
  const s: EtcdMonitorStatus = prev ? { ...prev, phase: 'Paused' } : baseStatus('Paused', undefined);
  s.conditions = buildConditions(
    keepOthers(prev?.conditions, [
      { type: 'ConfigValid', status: 'True', reason: 'Paused', message: 'probing is paused (spec.paused)' },
    ]),
    prev?.conditions,
    now,
    generation,
  );
  if (generation !== undefined) s.observedGeneration = generation;
  return s;
}
