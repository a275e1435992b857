/**
 * The EtcdMonitor CustomResourceDefinition: the one source of the schema. The manifest in
 * deploy/manifests/crds/ and the Helm chart's CRD are generated from this (npm run generate) and a
 * test fails when a copy drifts.
 */
import { DURATION_PATTERN } from './duration.js';
import { adviceStatusSchema, capacityStatusSchema, planningThresholds } from './planningSchema.js';
import { bool, duration, int, num, obj, str, type Schema } from './schemaBuild.js';
import { GROUP, KIND, PLURAL, VERSION } from './types.js';

/** host:port, or http(s)://host:port; IPv6 hosts in brackets. */
export const ENDPOINT_PATTERN =
  '^(https?://)?(\\[[0-9a-fA-F:.]+\\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?):[0-9]{1,5}/?$';
export const MAX_ENDPOINTS = 15;

export const specSchema: Schema = obj(
  'What to monitor and how.',
  {
    endpoints: {
      type: 'array',
      description:
        'Client URLs of the etcd members (host:port or http(s)://host:port), 1 to 15, no duplicates.',
      minItems: 1,
      maxItems: MAX_ENDPOINTS,
      'x-kubernetes-list-type': 'set',
      items: str('A member client endpoint.', { pattern: ENDPOINT_PATTERN, maxLength: 253 }),
    },
    interval: duration('Probe period, at least 1s.', '15s'),
    timeout: duration('Deadline of every probe call to one member; must be shorter than interval.', '5s'),
    tls: obj(
      'Client TLS for https endpoints, from a Secret in the same namespace.',
      {
        secretName: str('Secret holding the CA bundle and (for mutual TLS) the client certificate and key.', {
          minLength: 1,
          maxLength: 253,
        }),
        caKey: str('Key of the CA bundle in the Secret.', { default: 'ca.crt' }),
        certKey: str('Key of the client certificate in the Secret.', { default: 'tls.crt' }),
        keyKey: str('Key of the client private key in the Secret.', { default: 'tls.key' }),
        serverName: str('Server name to verify instead of the endpoint host.', { default: '' }),
        insecureSkipVerify: bool('Do not verify the members\u2019 certificates.', { default: false }),
      },
      { required: ['secretName'] },
    ),
    auth: obj(
      'etcd username/password authentication, from a Secret in the same namespace.',
      {
        secretName: str('Secret holding the username and password.', { minLength: 1, maxLength: 253 }),
        usernameKey: str('Key of the username in the Secret.', { default: 'username' }),
        passwordKey: str('Key of the password in the Secret.', { default: 'password' }),
      },
      { required: ['secretName'] },
    ),
    metrics: obj(
      'Scrape each member\u2019s own /metrics for raft, disk and gRPC figures.',
      {
        enabled: bool('Scrape the members\u2019 metrics.', { default: true }),
        urls: {
          type: 'array',
          description:
            'Per-member metrics URLs in endpoint order (e.g. the :2381 listener); default <endpoint>/metrics.',
          maxItems: MAX_ENDPOINTS,
          items: str('A metrics URL.', { pattern: '^https?://[^\\s]+$', maxLength: 512 }),
        },
      },
      { default: {} },
    ),
    probes: obj(
      'Optional probes that write to etcd.',
      {
        writeLatency: bool('Time a put and delete under a reserved key prefix each round.', {
          default: false,
        }),
      },
      { default: {} },
    ),
    thresholds: obj(
      'When a quorate cluster counts as Degraded, and when advice is raised (SPEC §10).',
      {
        latencyWarningMs: num('p99 read or write latency above this (ms).', { default: 100, minimum: 0 }),
        dbQuotaWarningPercent: num('Database size above this share of the backend quota (%).', {
          default: 80,
          minimum: 1,
          maximum: 100,
        }),
        leaderChangesWarningPerHour: int('More leader changes than this in the last hour.', {
          default: 3,
          minimum: 0,
        }),
        ...planningThresholds,
      },
      { default: {} },
    ),
    paused: bool('Stop probing; the status keeps its last figures with phase Paused.', { default: false }),
    backup: obj(
      'Scheduled snapshots of the cluster (opt-in; the leader replica takes them). Each is streamed from one member, its etcd SHA-256 checked, and stored only when it matched.',
      {
        schedule: str(
          '5-field cron in UTC (e.g. "0 */6 * * *"), @hourly/@daily/@weekly/@monthly, or "@every 30m". A run missed while no operator led runs once when one is back.',
          { minLength: 1, maxLength: 128 },
        ),
        member: str(
          'Which member to stream from: a healthy follower (the leader only if none), the leader, or any.',
          { enum: ['follower', 'leader', 'any'], default: 'follower' },
        ),
        retention: obj(
          'How many snapshots to keep. The newest verified snapshot is never deleted.',
          {
            keep: int('Keep at most this many.', { minimum: 1, default: 10 }),
            maxAge: str('Delete snapshots older than this (e.g. 168h).', {
              pattern: DURATION_PATTERN,
              maxLength: 32,
            }),
          },
          { default: {} },
        ),
        destination: obj(
          'Where snapshots go: exactly one of local or s3. Objects are named <namespace>/<name>/<UTC time>-r<revision>.db with a .sha256 beside them.',
          {
            local: obj(
              'A folder on a volume mounted into the operator Pod (chart: backup.persistence).',
              { path: str('Absolute path of the folder.', { pattern: '^/', maxLength: 1024 }) },
              { required: ['path'] },
            ),
            s3: obj(
              'An S3 bucket (or any S3-compatible server), uploaded with multipart streaming.',
              {
                endpoint: str('Endpoint URL for an S3-compatible server; empty for AWS.', {
                  pattern: '^https?://',
                  maxLength: 512,
                }),
                bucket: str('Bucket name.', { minLength: 3, maxLength: 63 }),
                prefix: str('Key prefix, e.g. "prod/".', { maxLength: 512 }),
                region: str('Region.', { default: 'us-east-1' }),
                forcePathStyle: bool('Path-style addressing (most S3-compatible servers need it).', {
                  default: true,
                }),
                secretName: str(
                  'Secret in the same namespace with the credentials (re-read every 30s, so they rotate without a restart).',
                  { minLength: 1, maxLength: 253 },
                ),
                accessKeyIdKey: str('Key of the access key ID in the Secret.', { default: 'accessKeyId' }),
                secretAccessKeyKey: str('Key of the secret access key in the Secret.', {
                  default: 'secretAccessKey',
                }),
              },
              { required: ['bucket', 'secretName'] },
            ),
          },
          {
            'x-kubernetes-validations': [
              {
                rule: 'has(self.local) != has(self.s3)',
                message: 'backup.destination needs exactly one of local or s3',
              },
            ],
          },
        ),
        verify: obj(
          'Checks beyond etcd\u2019s hash.',
          {
            restoreTest: bool(
              'Restore each stored snapshot into a scratch single-member etcd and count its keys: a Job in the operator\u2019s namespace running restoreImage (in-process instead when etcd and etcdutl are on the operator PATH).',
              { default: false },
            ),
            restoreImage: str(
              'The image of the restore-test Job: it runs etcdutl and etcd from it (no shell needed), e.g. registry.k8s.io/etcd or gcr.io/etcd-development/etcd.',
              { default: 'registry.k8s.io/etcd:3.6.5-0', minLength: 1, maxLength: 512 },
            ),
          },
          { default: {} },
        ),
      },
      { required: ['schedule', 'destination'] },
    ),
    maintenance: obj('Opt-in maintenance of the cluster (writes to etcd).', {
      defragmentation: obj(
        'Scheduled defragmentation: only when every voting member is healthy, members over both thresholds only, followers one at a time and the leader last, each re-checked healthy before the next; never during a backup.',
        {
          schedule: str('5-field cron in UTC or "@every <duration>".', { minLength: 1, maxLength: 128 }),
          minFragmentationPercent: num(
            'Only members with at least this share of their backend free (1 − inUse/total, %).',
            { minimum: 0, maximum: 100, default: 50 },
          ),
          minReclaimableBytes: int('Only members with at least this many bytes reclaimable.', {
            minimum: 0,
            default: 104857600,
            format: 'int64',
          }),
          disarmNoSpaceAlarm: bool(
            'Disarm a NOSPACE alarm after a completed defragmentation (never CORRUPT).',
            { default: false },
          ),
        },
        { required: ['schedule'] },
      ),
    }),
  },
  {
    required: ['endpoints'],
    'x-kubernetes-validations': [
      {
        rule: "duration(self.interval) >= duration('1s')",
        message: 'interval must be at least 1s',
        fieldPath: '.interval',
      },
      {
        rule: 'duration(self.timeout) < duration(self.interval)',
        message: 'timeout must be shorter than interval',
        fieldPath: '.timeout',
      },
      {
        rule: '!has(self.metrics) || !has(self.metrics.urls) || size(self.metrics.urls) == 0 || size(self.metrics.urls) == size(self.endpoints)',
        message: 'metrics.urls needs one URL per endpoint, in the same order',
        fieldPath: '.metrics.urls',
      },
    ],
  },
);

const condition: Schema = obj(
  'metav1.Condition',
  {
    type: str('Condition type.'),
    status: str('True, False or Unknown.', { enum: ['True', 'False', 'Unknown'] }),
    reason: str('Machine-readable reason.'),
    message: str('Human-readable detail.'),
    lastTransitionTime: str('When the status last changed.', { format: 'date-time' }),
    observedGeneration: int('Generation the condition was computed for.', { format: 'int64' }),
  },
  { required: ['type', 'status', 'reason', 'lastTransitionTime'] },
);

const member: Schema = obj('One member as last probed.', {
  name: str('Member name.'),
  id: str('Member ID (hex).'),
  endpoint: str('Client URL probed.'),
  role: str('Leader, Follower, Learner or Unknown.'),
  healthy: bool('Answered Status and a linearizable read.'),
  version: str('etcd server version.'),
  dbSizeBytes: int('Backend size allocated.', { format: 'int64' }),
  dbSizeInUseBytes: int('Backend size in use.', { format: 'int64' }),
  raftTerm: int('Raft term.', { format: 'int64' }),
  raftIndex: int('Raft committed index.', { format: 'int64' }),
  raftAppliedIndex: int('Raft applied index.', { format: 'int64' }),
  probeLatencyMs: num('Duration of the health read.'),
  errors: { type: 'array', description: 'Errors of the last round.', items: { type: 'string' } },
  lastError: str('Most recent error seen.'),
});

export const statusSchema: Schema = obj('Observed health, written by the operator.', {
  observedGeneration: int('Generation of the spec last acted on.', { format: 'int64' }),
  phase: str('Pending, Healthy, Degraded, Unhealthy, Unreachable or Paused.', {
    enum: ['Pending', 'Healthy', 'Degraded', 'Unhealthy', 'Unreachable', 'Paused'],
  }),
  healthy: bool('Quorum of healthy voting members, one agreed leader, no alarm.'),
  hasLeader: bool('The members agree on one leader.'),
  leader: obj('The agreed leader.', {
    name: str('Member name.'),
    id: str('Member ID (hex).'),
    endpoint: str('Client URL.'),
  }),
  clusterID: str('Cluster ID (hex).'),
  memberCount: int('Members in the member list.'),
  healthyMembers: int('Members healthy in the last round.'),
  quorumSize: int('Voting members needed for quorum.'),
  versions: { type: 'array', description: 'Server versions seen.', items: { type: 'string' } },
  dbSizeBytes: int('Largest member backend size.', { format: 'int64' }),
  dbSizeInUseBytes: int('Largest member backend size in use.', { format: 'int64' }),
  dbQuotaBytes: int('Backend quota.', { format: 'int64' }),
  dbQuotaUsedPercent: num('dbSizeBytes as a percentage of dbQuotaBytes.'),
  alarms: {
    type: 'array',
    description: 'Active alarms.',
    items: obj('An alarm.', { memberID: str('Member ID (hex).'), type: str('NOSPACE or CORRUPT.') }),
  },
  latency: obj('p99 latencies over the last interval.', {
    readP99Ms: num('Read p99 (ms).'),
    readP99Kind: str(
      'p99, or max when readP99Ms comes from too few samples for a p99 (then it is their maximum).',
      { enum: ['p99', 'max'] },
    ),
    readSamples: int('Samples (health reads, or requests in the interval) readP99Ms is from.'),
    writeP99Ms: num('Write p99 (ms).'),
    writeP99Kind: str('p99, or max when writeP99Ms comes from too few samples for a p99.', {
      enum: ['p99', 'max'],
    }),
    writeSamples: int('Samples writeP99Ms is from.'),
    probeP99Ms: num('Health-read p99 (ms).'),
    notes: {
      type: 'array',
      description: 'Why a figure is absent or where it comes from.',
      items: { type: 'string' },
    },
  }),
  requestRatePerSecond: num('gRPC requests handled per second across members.'),
  leaderChanges: int('Leader changes observed by the operator.'),
  lastLeaderChangeTime: str('When the last leader change was observed.', { format: 'date-time' }),
  lastProbeTime: str('When the last probe round started.', { format: 'date-time' }),
  summary: obj('Short figures for kubectl columns.', {
    members: str('healthy/total'),
    dbSize: str('Largest DB size.'),
    latency: str('p99 latency.'),
    advice: str('Advice count and the worst severity, e.g. "3 (1 warning)".'),
  }),
  capacity: capacityStatusSchema,
  advice: adviceStatusSchema,
  members: { type: 'array', description: 'Per-member detail.', items: member },
  backup: obj('Scheduled backups (spec.backup).', {
    lastScheduleTime: str('When the last run started.', { format: 'date-time' }),
    lastSuccessTime: str('When the last verified snapshot was stored.', { format: 'date-time' }),
    lastError: str('Why the last run failed (absent after a success).'),
    location: str('Where the last verified snapshot is (file path or s3:// URL).'),
    sizeBytes: int('Its size.', { format: 'int64' }),
    revision: int("The member's revision when it began.", { format: 'int64' }),
    sha256: str('Its SHA-256 (as etcd sent it).'),
    durationSeconds: num('How long it took.'),
    verified: bool("etcd's hash matched."),
    retained: int('Snapshots kept after retention.'),
    nextScheduleTime: str('When the next run is due.', { format: 'date-time' }),
    restoreTest: obj('The last restore test (verify.restoreTest).', {
      time: str('When.', { format: 'date-time' }),
      keys: int('Keys in the restored member.', { format: 'int64' }),
    }),
  }),
  maintenance: obj('Scheduled maintenance (spec.maintenance).', {
    lastDefragmentation: obj('The last defragmentation that touched members.', {
      time: str('When it ran.', { format: 'date-time' }),
      members: { type: 'array', description: 'Members defragmented, in order.', items: { type: 'string' } },
      reclaimedBytes: int('Bytes reclaimed.', { format: 'int64' }),
    }),
    lastDefragmentationResult: obj('The outcome of the last defragmentation slot.', {
      time: str('When.', { format: 'date-time' }),
      outcome: str('Completed, Skipped or Failed.', { enum: ['Completed', 'Skipped', 'Failed'] }),
      reason: str('Why (e.g. BelowThreshold, MemberUnhealthy).'),
      message: str('Detail.'),
    }),
    nextDefragmentationTime: str('When the next slot is due.', { format: 'date-time' }),
  }),
  conditions: {
    type: 'array',
    description: 'Standard conditions.',
    'x-kubernetes-list-type': 'map',
    'x-kubernetes-list-map-keys': ['type'],
    items: condition,
  },
});

export function crdManifest(): Schema {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${PLURAL}.${GROUP}`,
      labels: { 'app.kubernetes.io/name': 'etcd-monitor', 'app.kubernetes.io/component': 'crd' },
    },
    spec: {
      group: GROUP,
      scope: 'Namespaced',
      names: {
        kind: KIND,
        listKind: `${KIND}List`,
        plural: PLURAL,
        singular: 'etcdmonitor',
        shortNames: ['etcdmon', 'em'],
        categories: ['etcd'],
      },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
            { name: 'Leader', type: 'string', jsonPath: '.status.leader.name' },
            { name: 'Members', type: 'string', jsonPath: '.status.summary.members' },
            { name: 'DB Size', type: 'string', jsonPath: '.status.summary.dbSize' },
            { name: 'Latency', type: 'string', jsonPath: '.status.summary.latency' },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
            { name: 'Cluster ID', type: 'string', jsonPath: '.status.clusterID', priority: 1 },
            { name: 'Version', type: 'string', jsonPath: '.status.versions[0]', priority: 1 },
            { name: 'Last Probe', type: 'date', jsonPath: '.status.lastProbeTime', priority: 1 },
            { name: 'Last Backup', type: 'date', jsonPath: '.status.backup.lastSuccessTime', priority: 1 },
            { name: 'Advice', type: 'string', jsonPath: '.status.summary.advice', priority: 1 },
          ],
          schema: {
            openAPIV3Schema: obj(
              'EtcdMonitor watches the health of one etcd cluster.',
              {
                apiVersion: str('API version.'),
                kind: str('Kind.'),
                metadata: { type: 'object' },
                spec: specSchema,
                status: statusSchema,
              },
              { required: ['spec'] },
            ),
          },
        },
      ],
    },
  };
}
