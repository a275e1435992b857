/** The advice checks on the cluster's shape: versions, members, learners, workload tier, backups (see adviceChecks.ts). */
import type { SizeTier } from '../crd/types.js';
import { CLEAR_RATIO, DOCS, ev, windowText, type AdviceCheck, type Verdict } from './adviceChecks.js';
import { SIZE_TIERS } from './capacity.js';
import { humanBytes } from './format.js';

function minorOf(v: string): string {
  return v.split('.').slice(0, 2).join('.');
}

/** [major, minor, patch] of "3.5.17" (missing parts 0). */
function parts(v: string): number[] {
  return v.split('.').map((x) => parseInt(x, 10) || 0);
}

const mixedVersions: AdviceCheck = (i) => {
  const versions = [...new Set(i.members.map((m) => m.version).filter((v): v is string => !!v))].sort();
  if (versions.length === 0) return [];
  const v: Verdict = { code: 'MixedVersions' };
  if (versions.length > 1) {
    const minors = new Set(versions.map(minorOf));
    const who = i.members
      .filter((m) => m.version)
      .map((m) => `${m.name} ${m.version}`)
      .join(', ');
    v.finding = {
      code: 'MixedVersions',
      severity: minors.size > 1 ? 'warning' : 'info',
      message:
        minors.size > 1
          ? `members run different minor versions (${who}): the cluster runs at the lowest one's features until all are upgraded. Finish the rolling upgrade (one member at a time, each healthy before the next) or roll it back`
          : `members run different patch releases (${who}). Upgrade the rest to the newest patch, one member at a time`,
      evidence: ev(versions.length, 1, 'versions', DOCS.upgrades),
    };
  }
  return [v];
};

const unsupported: AdviceCheck = (i) => {
  const out: Verdict[] = [];
  for (const m of i.members) {
    if (!m.version) continue;
    const [maj = 0, min = 0, patch = 0] = parts(m.version);
    const v: Verdict = { code: 'UnsupportedVersion', member: m.name };
    const old = maj < 3 || (maj === 3 && min < 5);
    const early35 = maj === 3 && min === 5 && patch < 3;
    if (old || early35)
      v.finding = {
        code: 'UnsupportedVersion',
        severity: 'warning',
        member: m.name,
        message: old
          ? `member ${m.name} runs etcd ${m.version}: etcd maintains only its two newest minor releases (3.6 and 3.5), so it gets no more fixes. Upgrade to 3.5 (one minor at a time) and then 3.6`
          : `member ${m.name} runs etcd ${m.version}: 3.5.0–3.5.2 can lose data consistency under load (fixed in 3.5.3). Upgrade to the newest 3.5 patch`,
        evidence: ev(min + patch / 100, 5.03, 'version', DOCS.versions),
      };
    out.push(v);
  }
  return out;
};

const learners: AdviceCheck = (i) => {
  const out: Verdict[] = [];
  const limit = i.th.learnerPromotionTimeoutMs;
  for (const m of i.members) {
    const v: Verdict = { code: 'LearnerNotPromoted', member: m.name };
    const since = i.learnerSince[m.key];
    if (m.isLearner && since !== undefined && i.time - since >= limit) {
      const mins = (i.time - since) / 60_000;
      const caught = m.raftIndexLag !== undefined && m.raftIndexLag <= 1000;
      v.finding = {
        code: 'LearnerNotPromoted',
        severity: 'warning',
        member: m.name,
        message: `member ${m.name} has been a learner for ${mins.toFixed(0)} min${caught ? ' and has caught up with the leader' : ''}: it does not vote, so it adds no fault tolerance. Promote it (etcdctl member promote <id>) or remove it`,
        evidence: ev(mins, limit / 60_000, 'minutes', DOCS.learner),
      };
    }
    out.push(v);
  }
  return out;
};

function tierRank(t: SizeTier | 'beyond-xlarge'): number {
  const i = SIZE_TIERS.findIndex((x) => x.tier === t);
  return i < 0 ? SIZE_TIERS.length : i;
}

const workloadTier: AdviceCheck = (i, active) => {
  const s = i.capacity.status;
  if (!s.sizeTier || s.requestsPerSecond === undefined) return [];
  const declared = i.th.hardwareTier;
  const limitRank = declared ? tierRank(declared) : SIZE_TIERS.length - 1;
  const top = SIZE_TIERS[limitRank]!;
  const v: Verdict = { code: 'WorkloadAboveTier' };
  // Once raised, it holds until requests and data are both under CLEAR_RATIO of the tier's limits.
  const holds =
    tierRank(s.sizeTier) > limitRank ||
    (active('WorkloadAboveTier') &&
      (s.requestsPerSecond >= top.requestsPerSecond * CLEAR_RATIO ||
        (i.sizeBytes ?? 0) >= top.dataBytes * CLEAR_RATIO));
  if (holds) {
    v.finding = {
      code: 'WorkloadAboveTier',
      severity: 'warning',
      message: `the workload (${s.requestsPerSecond} requests/s, ${humanBytes(i.sizeBytes)} of data) is beyond etcd's ${top.tier} hardware configuration (up to ${top.requestsPerSecond} requests/s and ${humanBytes(top.dataBytes)})${declared ? `, the tier declared in thresholds.hardwareTier` : ', the largest its guide sizes'}. Give the members more CPU, memory and faster disks, or spread the load over more clusters`,
      evidence: ev(
        s.requestsPerSecond,
        top.requestsPerSecond,
        'requests/s',
        DOCS.hardware,
        windowText(i.th.adviceWindowMs),
      ),
    };
  }
  return [v];
};

const noBackup: AdviceCheck = (i) => {
  if (i.backupConfigured === undefined) return [];
  return [
    {
      code: 'NoBackup',
      finding: i.backupConfigured
        ? undefined
        : {
            code: 'NoBackup',
            severity: 'info',
            message:
              'no scheduled backup: losing quorum for good, or a bad write, can then only be undone by hand. Set spec.backup (standalone: --backup-schedule) to keep verified snapshots',
            evidence: ev(0, 1, 'schedules', DOCS.recovery),
          },
    },
  ];
};

export const SHAPE_CHECKS: readonly AdviceCheck[] = [
  mixedVersions,
  unsupported,
  learners,
  workloadTier,
  noBackup,
];
