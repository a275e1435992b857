/** The capacity and advice parts of the EtcdMonitor schema (SPEC §10): spec.thresholds' planning fields, status.capacity, status.advice. */
import { duration, int, num, str, type Schema } from './schemaBuild.js';

const TIERS = ['small', 'medium', 'large', 'xlarge'];

export const ADVICE_CODES = [
  'SlowDisk',
  'SlowBackendCommit',
  'SlowPeerNetwork',
  'FrequentLeaderChanges',
  'DefragmentRecommended',
  'QuotaExhaustionSoon',
  'QuotaTooLarge',
  'EvenMemberCount',
  'MixedVersions',
  'UnsupportedVersion',
  'LearnerNotPromoted',
  'WorkloadAboveTier',
  'NoBackup',
] as const;

/** spec.thresholds fields for capacity and advice; each cites the etcd documentation its default follows. */
export const planningThresholds: Record<string, Schema> = {
  defragFragmentationPercent: num(
    'DefragmentRecommended when a member has at least this share of its backend free (1 − inUse/size, %) …',
    { default: 50, minimum: 0, maximum: 100 },
  ),
  defragReclaimableBytes: int('… and at least this many bytes a defragmentation would return.', {
    default: 104857600,
    minimum: 0,
    format: 'int64',
  }),
  quotaExhaustionWarning: duration(
    'QuotaExhaustionSoon (warning) when the quota is reached within this.',
    '168h',
  ),
  quotaExhaustionCritical: duration('QuotaExhaustionSoon (critical) when within this.', '24h'),
  quotaExhaustionMinPercent: num(
    'No QuotaExhaustionSoon while the backend is below this share of the quota (a small DB far from it).',
    { default: 25, minimum: 0, maximum: 100 },
  ),
  walFsyncP99Ms: num(
    "SlowDisk when a member's WAL fsync p99 over the advice window is above this (etcd: 10 ms).",
    {
      default: 10,
      minimum: 0,
    },
  ),
  backendCommitP99Ms: num('SlowBackendCommit when the backend commit p99 is above this (etcd: 25 ms).', {
    default: 25,
    minimum: 0,
  }),
  heartbeatIntervalMs: num(
    "The members' --heartbeat-interval: SlowPeerNetwork when the peer round-trip p99 reaches it.",
    { default: 100, minimum: 1 },
  ),
  learnerPromotionTimeout: duration('LearnerNotPromoted when a member has been a learner this long.', '10m'),
  hardwareTier: str(
    'The etcd hardware-guide tier the members are sized for; WorkloadAboveTier when the workload needs a bigger one (default: only beyond xlarge).',
    { enum: TIERS },
  ),
  adviceWindow: duration('The window disk and network p99s and rates are taken over.', '5m'),
};

export const capacityStatusSchema: Schema = {
  type: 'object',
  description: 'Trends from the observed history (SPEC §10); a figure is absent, with a note, until known.',
  properties: {
    dbGrowthBytesPerHour: int(
      'Backend growth from a robust fit; compaction and defragmentation drops are not negative growth.',
      { format: 'int64' },
    ),
    quotaExhaustionTime: str('When the backend reaches the quota at that growth.', { format: 'date-time' }),
    fragmentationPercent: num('The most fragmented member: 1 − inUse/size (%).'),
    reclaimableBytes: int("That member's size − in use: what a defragmentation returns.", {
      format: 'int64',
    }),
    writeRevisionsPerSecond: num('Revisions per second over the advice window.'),
    requestsPerSecond: num('gRPC requests per second over the advice window, all members.'),
    sizeTier: str("The smallest tier of etcd's hardware guide that covers the data and request rate.", {
      enum: [...TIERS, 'beyond-xlarge'],
    }),
    historySeconds: int('How long the kept history spans.'),
    historyRounds: int('Rounds recorded.'),
    notes: { type: 'array', description: 'Why a figure is absent.', items: { type: 'string' } },
  },
};

export const adviceStatusSchema: Schema = {
  type: 'array',
  description:
    'What to do before etcd hurts (SPEC §10), each raised and cleared with hysteresis. Never changes the phase.',
  items: {
    type: 'object',
    required: ['code', 'severity', 'message', 'evidence', 'since'],
    properties: {
      code: str('What it is about.', { enum: [...ADVICE_CODES] }),
      severity: str('info, warning or critical.', { enum: ['info', 'warning', 'critical'] }),
      member: str('The member it is about, when one.'),
      message: str('What is wrong and what to do.'),
      evidence: {
        type: 'object',
        description: 'The figure, the threshold, the window and the etcd document behind it.',
        required: ['value', 'threshold', 'unit', 'doc'],
        properties: {
          value: num('The observed figure.'),
          threshold: num('The threshold it crossed.'),
          unit: str('Unit of both.'),
          window: str('What the figure is taken over.'),
          doc: str('The etcd documentation the threshold follows.'),
        },
      },
      since: str('When it was raised.', { format: 'date-time' }),
    },
  },
};
