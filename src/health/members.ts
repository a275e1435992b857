/** Per-member facts of one round (pure): who is who, healthy or not, role, raft lag, errors. */
import type { AlarmType, MemberRole } from '../crd/types.js';
import { MEMBER_PROBE_CALLS, type ClusterObservation, type MemberObservation } from '../etcd/observation.js';

/** A configured endpoint paired with its member-list entry (or a listed member no endpoint reaches). */
export interface ResolvedMember {
  obs?: MemberObservation;
  id: string;
  name: string;
  endpoint: string;
  isLearner: boolean;
}

export interface MemberFacts extends ResolvedMember {
  /** Identity across rounds: the member ID, else the endpoint. */
  key: string;
  healthy: boolean;
  role: MemberRole;
  /** This round's failed probe calls, one line per cause (errorsOf). */
  probeErrors: string[];
  /** The probe errors, then the member's own Status errors. */
  errors: string[];
  /** Followers: how many raft entries the member trails the leader's. */
  raftIndexLag?: number;
  lagging: boolean;
  alarms: AlarmType[];
}

/**
 * A member's probe errors, one line per distinct cause: when several calls fail the same way (a member
 * that is down refuses every call) they share one line, "status, health, alarms: connect ECONNREFUSED …".
 */
export function errorsOf(m: MemberObservation): string[] {
  const byCause = new Map<string, string[]>();
  for (const call of MEMBER_PROBE_CALLS) {
    const err = call.error(m);
    if (!err) continue;
    // "maintenance.status http://host:2379: UNAVAILABLE: …" → the cause without the call and endpoint.
    let cause = err.replace(/^[\w.]+ \S+: /, '');
    if (cause.startsWith(`${call.label}: `)) cause = cause.slice(call.label.length + 2);
    const whats = byCause.get(cause);
    if (whats) whats.push(call.label);
    else byCause.set(cause, [call.label]);
  }
  return [...byCause].map(([cause, whats]) => `${whats.join(', ')}: ${cause}`);
}

function safeHost(u: string): string {
  try {
    return new URL(u).host;
  } catch {
    return u;
  }
}

/** Pair configured endpoints with the member list: by member ID from Status, else by client URL. */
export function resolveMembers(obs: ClusterObservation): ResolvedMember[] {
  const list = obs.memberList ?? [];
  const byId = new Map(list.map((m) => [m.id, m]));
  const out: ResolvedMember[] = [];
  const covered = new Set<string>();
  for (const m of obs.members) {
    let id = m.status?.memberId;
    if (!id) {
      const host = new URL(m.endpoint).host;
      id = list.find((e) => e.clientURLs.some((u) => u === m.endpoint || safeHost(u) === host))?.id;
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

function roleOf(r: ResolvedMember, agreedLeader: string | undefined): MemberRole {
  if (r.isLearner) return 'Learner';
  if (!r.obs?.status) return 'Unknown';
  return r.id === agreedLeader ? 'Leader' : 'Follower';
}

/**
 * Healthy: answered Status and the linearizable health read (a learner refuses linearizable reads by
 * design: its Status answer is its health). Status errors (e.g. an alarm's text) are shown with the
 * member; alarms are judged cluster-wide.
 */
export function memberFacts(
  obs: ClusterObservation,
  agreedLeader: string | undefined,
  raftIndexLagWarning: number,
): MemberFacts[] {
  const leaderIndex = obs.members.find((m) => m.status?.memberId === agreedLeader)?.status?.raftIndex;
  return resolveMembers(obs).map((r) => {
    const o = r.obs;
    const probeErrors = o ? errorsOf(o) : ['not probed: no configured endpoint reaches this member'];
    const healthOk = Boolean(o && o.healthChecked && !o.healthError);
    const healthy = Boolean(o?.status) && (r.isLearner || healthOk);
    const raftIndexLag =
      o?.status && leaderIndex !== undefined ? Math.max(0, leaderIndex - o.status.raftIndex) : undefined;
    const alarms = new Set<AlarmType>();
    for (const m of obs.members) for (const a of m.alarms ?? []) if (a.memberId === r.id) alarms.add(a.type);
    const f: MemberFacts = {
      ...r,
      key: r.id || r.endpoint,
      healthy,
      role: roleOf(r, agreedLeader),
      probeErrors,
      errors: [...probeErrors, ...(o?.status?.errors ?? [])],
      lagging: raftIndexLag !== undefined && raftIndexLag > raftIndexLagWarning,
      alarms: [...alarms],
    };
    if (raftIndexLag !== undefined) f.raftIndexLag = raftIndexLag;
    return f;
  });
}
