/**
 * Safe defragmentation: decide (pure) whether and which members, then run them one at a time —
 * followers first, the leader last — re-checking each member healthy (and the whole cluster quorate
 * with one leader) before the next. Nothing runs unless every voting member is healthy.
 */
import type { MemberClient } from '../etcd/grpc.js';
import { blockingErrors } from './statusErrors.js';

export interface DefragMember {
  name: string;
  endpoint: string;
  healthy: boolean;
  leader: boolean;
  learner: boolean;
  dbSizeBytes: number;
  dbSizeInUseBytes: number;
}

export interface DefragThresholds {
  /** 1 − inUse/total, in percent. */
  minFragmentationPercent: number;
  minReclaimableBytes: number;
}

export type SkipReason = 'MemberUnhealthy' | 'NoLeader' | 'BelowThreshold' | 'BackupRunning';

export type DefragPlan =
  { run: false; reason: SkipReason; message: string } | { run: true; order: DefragMember[]; message: string };

export function fragmentation(m: Pick<DefragMember, 'dbSizeBytes' | 'dbSizeInUseBytes'>): {
  percent: number;
  reclaimableBytes: number;
} {
  if (m.dbSizeBytes <= 0) return { percent: 0, reclaimableBytes: 0 };
  const reclaimableBytes = Math.max(0, m.dbSizeBytes - m.dbSizeInUseBytes);
  return { percent: (reclaimableBytes / m.dbSizeBytes) * 100, reclaimableBytes };
}

function mib(n: number): string {
  return `${(n / 1048576).toFixed(1)}MiB`;
}

/** Which members to defragment and in what order, or why not now. */
export function planDefrag(members: DefragMember[], t: DefragThresholds, backupRunning: boolean): DefragPlan {
  if (backupRunning)
    return { run: false, reason: 'BackupRunning', message: 'a backup of this cluster is running' };
  const voters = members.filter((m) => !m.learner);
  const down = voters.filter((m) => !m.healthy);
  if (down.length > 0) {
    return {
      run: false,
      reason: 'MemberUnhealthy',
      message: `not every voting member is healthy (${down.map((m) => m.name || m.endpoint).join(', ')})`,
    };
  }
  if (!voters.some((m) => m.leader))
    return { run: false, reason: 'NoLeader', message: 'the cluster has no leader' };
  const due = members.filter((m) => {
    const f = fragmentation(m);
    return m.healthy && f.percent >= t.minFragmentationPercent && f.reclaimableBytes >= t.minReclaimableBytes;
  });
  if (due.length === 0) {
    const worst = [...members].sort(
      (a, b) => fragmentation(b).reclaimableBytes - fragmentation(a).reclaimableBytes,
    )[0];
    const f = worst ? fragmentation(worst) : { percent: 0, reclaimableBytes: 0 };
    return {
      run: false,
      reason: 'BelowThreshold',
      message: `no member is over both thresholds (fragmentation ≥ ${t.minFragmentationPercent}% and ≥ ${mib(t.minReclaimableBytes)} reclaimable); the most is ${f.percent.toFixed(0)}% / ${mib(f.reclaimableBytes)}${worst ? ` on ${worst.name || worst.endpoint}` : ''}`,
    };
  }
  // Learners and followers first (a follower defragmenting only slows itself), the leader last.
  const order = [...due].sort(
    (a, b) => Number(a.leader) - Number(b.leader) || Number(b.learner) - Number(a.learner),
  );
  return {
    run: true,
    order,
    message: `defragmenting ${order.map((m) => `${m.name || m.endpoint}${m.leader ? ' (leader)' : ''}`).join(', ')}`,
  };
}

export interface DefragStep {
  name: string;
  endpoint: string;
  beforeBytes: number;
  afterBytes: number;
  durationSeconds: number;
}

export interface DefragResult {
  steps: DefragStep[];
  reclaimedBytes: number;
  /** Set when a step failed or the cluster did not come back healthy: later members were not touched. */
  error?: string;
  disarmedNoSpace: boolean;
}

export interface DefragIo {
  client(endpoint: string): MemberClient;
  /** The cluster as it is now (one probe), for the re-check between members. */
  members(): Promise<DefragMember[]>;
  sleep(ms: number): Promise<void>;
  now(): number;
  /** True once the run must stop (this replica no longer owns the cluster): no further member is started. */
  stopped?(): boolean;
}

/**
 * Run the plan: one member at a time; after each, wait (bounded by `timeoutMs`) until that member is
 * healthy again and every voting member is healthy with a leader, before touching the next.
 */
export async function runDefrag(
  order: DefragMember[],
  io: DefragIo,
  opts: { timeoutMs: number; disarmNoSpace: boolean },
): Promise<DefragResult> {
  const steps: DefragStep[] = [];
  const reclaimed = (): number => steps.reduce((a, s) => a + Math.max(0, s.beforeBytes - s.afterBytes), 0);
  for (const m of order) {
    const started = io.now();
    const who = m.name || m.endpoint;
    if (io.stopped?.()) {
      return {
        steps,
        reclaimedBytes: reclaimed(),
        error: `stopped before ${who}: this replica no longer runs this cluster's maintenance`,
        disarmedNoSpace: false,
      };
    }
    try {
      await io.client(m.endpoint).defragment(opts.timeoutMs);
    } catch (e) {
      return {
        steps,
        reclaimedBytes: reclaimed(),
        error: `defragmenting ${who} failed: ${(e as Error).message}`,
        disarmedNoSpace: false,
      };
    }
    const deadline = io.now() + opts.timeoutMs;
    let after: DefragMember | undefined;
    let problem = '';
    for (;;) {
      const now = await io.members().catch((e: unknown) => {
        problem = (e as Error).message;
        return [] as DefragMember[];
      });
      after = now.find((x) => x.endpoint === m.endpoint);
      const voters = now.filter((x) => !x.learner);
      if (
        after?.healthy &&
        voters.length > 0 &&
        voters.every((x) => x.healthy) &&
        voters.some((x) => x.leader)
      )
        break;
      problem ||= after?.healthy ? 'not every voting member is healthy' : `${who} is not healthy`;
      if (io.now() >= deadline) {
        return {
          steps,
          reclaimedBytes: reclaimed(),
          error: `after defragmenting ${who}: ${problem} within ${opts.timeoutMs / 1000}s; stopped before the next member`,
          disarmedNoSpace: false,
        };
      }
      await io.sleep(200);
    }
    steps.push({
      name: m.name,
      endpoint: m.endpoint,
      beforeBytes: m.dbSizeBytes,
      afterBytes: after.dbSizeBytes,
      durationSeconds: (io.now() - started) / 1000,
    });
  }
  let disarmedNoSpace = false;
  if (opts.disarmNoSpace && order.length > 0) {
    const c = io.client(order[0]!.endpoint);
    const alarms = await c.alarms(opts.timeoutMs).catch(() => []);
    // Only NOSPACE: a CORRUPT alarm needs a person, never an automatic disarm.
    for (const a of alarms.filter((x) => x.type === 'NOSPACE')) {
      await c.call(
        'maintenance',
        'alarm',
        { action: 'Deactivate', memberID: BigInt('0x' + a.memberId).toString(), alarm: 'Nospace' },
        opts.timeoutMs,
      );
      disarmedNoSpace = true;
    }
  }
  return { steps, reclaimedBytes: reclaimed(), disarmedNoSpace };
}

/** One look at every member (Status + the health read), as defragmentation needs it. */
export async function probeMembers(clients: MemberClient[], timeoutMs: number): Promise<DefragMember[]> {
  return Promise.all(
    clients.map(async (c): Promise<DefragMember> => {
      try {
        const [s] = await Promise.all([c.status(timeoutMs), c.healthRead(timeoutMs)]);
        return {
          name: s.memberId,
          endpoint: c.endpoint.url,
          healthy: blockingErrors(s.errors).length === 0 && s.leaderId !== '0',
          leader: s.leaderId === s.memberId,
          learner: s.isLearner,
          dbSizeBytes: s.dbSizeBytes,
          dbSizeInUseBytes: s.dbSizeInUseBytes,
        };
      } catch {
        return {
          name: '',
          endpoint: c.endpoint.url,
          healthy: false,
          leader: false,
          learner: false,
          dbSizeBytes: 0,
          dbSizeInUseBytes: 0,
        };
      }
    }),
  );
}
