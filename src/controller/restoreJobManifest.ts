/** The restore-test Job's manifest and its per-run S3 Secret, built from plain data (pure); the settings from the operator Pod's environment. The Job itself is described in restoreJob.ts. */
import { createHash } from 'node:crypto';
import path from 'node:path';
import type * as k8s from '@kubernetes/client-node';
import type { BackupDestination } from './config.js';

/** Where and how the Jobs run: the operator's own Pod (env set by the chart), plain data. */
export interface RestoreJobSettings {
  /** The operator's namespace (POD_NAMESPACE). */
  namespace: string;
  /** The operator's image (ETCD_MONITOR_IMAGE): `snapshot fetch` and `snapshot count`. */
  operatorImage: string;
  /** Of the operator's image (the chart's image.pullPolicy); the etcd image is IfNotPresent. */
  imagePullPolicy?: string;
  /** The UID/GID the Pod runs as: the operator's, so it reads what the operator wrote. */
  uid: number;
  gid: number;
  /** The chart's backup claim and where the operator mounts it (a local destination lives under it). */
  backupClaim?: { claimName: string; mountPath: string; readWriteOnce: boolean };
  /** The operator's node (NODE_NAME): a ReadWriteOnce claim is mountable there only. */
  nodeName?: string;
  /** The Job's activeDeadlineSeconds, in ms; the operator waits 30s longer. */
  timeoutMs: number;
}

/** One run: plain data, so the manifest is a pure function of it (test/unit/restoreJob.test.ts). */
export interface RestoreJobInput {
  /** namespace/name of the EtcdMonitor (an annotation, and the name's hash). */
  cluster: string;
  etcdImage: string;
  destination: BackupDestination;
  /** The snapshot's object name in its store. */
  name: string;
  location: string;
  sizeBytes?: number;
  /** Distinguishes runs of one cluster (e.g. the time). */
  run: string;
}

const LABELS = {
  'app.kubernetes.io/name': 'etcd-monitor',
  'app.kubernetes.io/component': 'restore-test',
  'app.kubernetes.io/managed-by': 'etcd-monitor',
};
const WORK = '/restore';
const DATA = `${WORK}/data`;
const S3_FILE = `${WORK}/snapshot.db`;
const PEER = 'http://127.0.0.1:2380';
const CLIENT = 'http://127.0.0.1:2379';
const MiB = 1024 * 1024;

export function restoreJobName(cluster: string, run: string): string {
  return `etcd-monitor-restore-test-${createHash('sha256').update(`${cluster}\n${run}`).digest('hex').slice(0, 12)}`;
}

function quantity(bytes: number): string {
  return `${Math.ceil(bytes / MiB)}Mi`;
}

function containerSecurity(): k8s.V1SecurityContext {
  return {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    capabilities: { drop: ['ALL'] },
  };
}

/** Where the snapshot file is inside the Pod, or why a Job cannot reach it. */
function snapshotFile(input: RestoreJobInput, s: RestoreJobSettings): string {
  const d = input.destination;
  if (d.kind === 's3') return S3_FILE;
  const claim = s.backupClaim;
  const rel = claim ? path.posix.relative(claim.mountPath, d.path) : '..';
  if (!claim || rel.startsWith('..') || path.posix.isAbsolute(rel))
    throw new Error(
      `the restore-test Job reads a local destination from the chart's backup volume (backup.persistence), and ${d.path} is not on it${claim ? ` (mounted at ${claim.mountPath})` : ' (none is mounted)'}`,
    );
  return path.posix.join(d.path, input.name);
}

/** The Job (and, for S3, the name of the per-run Secret its `fetch` step reads): a pure function. */
export function buildRestoreJob(input: RestoreJobInput, s: RestoreJobSettings): k8s.V1Job {
  const name = restoreJobName(input.cluster, input.run);
  const file = snapshotFile(input, s);
  const d = input.destination;
  const size = input.sizeBytes ?? 0;
  const deadline = Math.max(30, Math.ceil(s.timeoutMs / 1000));
  const pull = s.imagePullPolicy ?? 'IfNotPresent';
  const volumes: k8s.V1Volume[] = [
    // The S3 copy and the restored data (both about the snapshot's size), and room for etcd's WAL.
    { name: 'restore', emptyDir: { sizeLimit: quantity((d.kind === 's3' ? 2 : 1) * size + 256 * MiB) } },
  ];
  const restoreMounts: k8s.V1VolumeMount[] = [{ name: 'restore', mountPath: WORK }];
  const init: k8s.V1Container[] = [];
  if (d.kind === 's3') {
    init.push({
      name: 'fetch',
      image: s.operatorImage,
      imagePullPolicy: pull,
      args: [
        'snapshot',
        'fetch',
        input.name,
        S3_FILE,
        `--backup-s3-bucket=${d.bucket}`,
        ...(d.endpoint ? [`--backup-s3-endpoint=${d.endpoint}`] : []),
        ...(d.prefix ? [`--backup-s3-prefix=${d.prefix}`] : []),
        ...(d.region ? [`--backup-s3-region=${d.region}`] : []),
        ...(d.forcePathStyle ? [] : ['--backup-s3-virtual-hosted']),
      ],
      envFrom: [{ secretRef: { name } }],
      // The SDK's download goes to TMPDIR, then is checked and copied beside it.
      env: [{ name: 'TMPDIR', value: WORK }],
      volumeMounts: [{ name: 'restore', mountPath: WORK }],
      securityContext: containerSecurity(),
      resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } },
      terminationMessagePolicy: 'FallbackToLogsOnError',
    });
  } else {
    volumes.push({
      name: 'backups',
      persistentVolumeClaim: { claimName: s.backupClaim!.claimName, readOnly: true },
    });
    restoreMounts.push({ name: 'backups', mountPath: s.backupClaim!.mountPath, readOnly: true });
  }
  const etcdMemory = quantity(Math.max(512 * MiB, 2 * size + 256 * MiB));
  init.push(
    {
      name: 'restore',
      image: input.etcdImage,
      imagePullPolicy: 'IfNotPresent',
      command: ['etcdutl'],
      args: [
        'snapshot',
        'restore',
        file,
        '--name=restore-test',
        `--data-dir=${DATA}`,
        `--initial-cluster=restore-test=${PEER}`,
        `--initial-advertise-peer-urls=${PEER}`,
      ],
      volumeMounts: restoreMounts,
      securityContext: containerSecurity(),
      resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { memory: etcdMemory } },
      terminationMessagePolicy: 'FallbackToLogsOnError',
    },
    {
      // A native sidecar: started before `count`, stopped once it has exited (the Pod then succeeds).
      name: 'etcd',
      image: input.etcdImage,
      imagePullPolicy: 'IfNotPresent',
      restartPolicy: 'Always',
      command: ['etcd'],
      args: [
        '--name=restore-test',
        `--data-dir=${DATA}`,
        `--listen-peer-urls=${PEER}`,
        `--initial-advertise-peer-urls=${PEER}`,
        `--listen-client-urls=${CLIENT}`,
        `--advertise-client-urls=${CLIENT}`,
        '--log-level=error',
      ],
      volumeMounts: [{ name: 'restore', mountPath: WORK }],
      securityContext: containerSecurity(),
      resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { memory: etcdMemory } },
      terminationMessagePolicy: 'FallbackToLogsOnError',
    },
  );
  const annotations = {
    'etcdmonitor.dev/cluster': input.cluster,
    'etcdmonitor.dev/snapshot': input.location,
  };
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: s.namespace, labels: { ...LABELS }, annotations },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: deadline,
      ttlSecondsAfterFinished: 300,
      template: {
        metadata: { labels: { ...LABELS }, annotations },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: s.uid,
            runAsGroup: s.gid,
            fsGroup: s.gid,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          ...(d.kind === 'local' && s.backupClaim?.readWriteOnce && s.nodeName
            ? {
                affinity: {
                  nodeAffinity: {
                    requiredDuringSchedulingIgnoredDuringExecution: {
                      nodeSelectorTerms: [
                        { matchFields: [{ key: 'metadata.name', operator: 'In', values: [s.nodeName] }] },
                      ],
                    },
                  },
                },
              }
            : {}),
          initContainers: init,
          containers: [
            {
              name: 'count',
              image: s.operatorImage,
              imagePullPolicy: pull,
              args: [
                'snapshot',
                'count',
                `--endpoints=${CLIENT}`,
                // For the sidecar to answer (a crashing one is reported from its own status).
                `--wait=${Math.min(deadline, 300)}s`,
                '--result-file=/dev/termination-log',
              ],
              securityContext: containerSecurity(),
              resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '192Mi' } },
              terminationMessagePolicy: 'File',
            },
          ],
          volumes,
        },
      },
    },
  };
}

/** The per-run copy of the S3 credentials, owned by the Job (garbage-collected with it). */
export function restoreJobSecret(
  job: k8s.V1Job,
  credentials: { accessKeyId: string; secretAccessKey: string },
): k8s.V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: job.metadata!.name,
      namespace: job.metadata!.namespace,
      labels: { ...LABELS },
      ownerReferences: [
        { apiVersion: 'batch/v1', kind: 'Job', name: job.metadata!.name!, uid: job.metadata!.uid! },
      ],
    },
    type: 'Opaque',
    stringData: {
      ETCD_MONITOR_BACKUP_S3_ACCESS_KEY_ID: credentials.accessKeyId,
      ETCD_MONITOR_BACKUP_S3_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    },
  };
}

/** Settings from the operator Pod's environment (the chart sets them); undefined outside a cluster. */
export function restoreJobSettingsFromEnv(
  env: NodeJS.ProcessEnv,
  ids: { uid?: number; gid?: number } = {},
): RestoreJobSettings | { missing: string } {
  const namespace = env.POD_NAMESPACE;
  const operatorImage = env.ETCD_MONITOR_IMAGE;
  if (!namespace || !operatorImage)
    return {
      missing:
        'verify.restoreTest runs as a Job in the operator namespace, which needs POD_NAMESPACE and ETCD_MONITOR_IMAGE (the chart sets both with backup.restoreTest.enabled=true), or etcd and etcdutl on the operator PATH',
    };
  const nonRoot = (n: number | undefined): number => (n === undefined || n === 0 ? 65532 : n);
  const claimName = env.ETCD_MONITOR_BACKUP_CLAIM;
  const mountPath = env.ETCD_MONITOR_BACKUP_MOUNT_PATH;
  const timeoutS = Number(env.ETCD_MONITOR_RESTORE_TEST_TIMEOUT_SECONDS ?? '600');
  return {
    namespace,
    operatorImage,
    imagePullPolicy: env.ETCD_MONITOR_IMAGE_PULL_POLICY || undefined,
    uid: nonRoot(ids.uid),
    gid: nonRoot(ids.gid),
    ...(claimName && mountPath
      ? {
          backupClaim: {
            claimName,
            mountPath,
            readWriteOnce: env.ETCD_MONITOR_BACKUP_ACCESS_MODES?.includes('ReadWriteMany') !== true,
          },
        }
      : {}),
    nodeName: env.NODE_NAME || undefined,
    timeoutMs: (Number.isFinite(timeoutS) && timeoutS > 0 ? timeoutS : 600) * 1000,
  };
}
