/** The operator's restore-test Job: its manifest from plain data, its outcome from Job + Pod status, its lifecycle. */
import { expect } from 'chai';
import type * as k8s from '@kubernetes/client-node';
import { jobOutcome, JobRestoreTester, type JobApi } from '../../src/controller/restoreJob.js';
import {
  buildRestoreJob,
  restoreJobName,
  restoreJobSettingsFromEnv,
  type RestoreJobInput,
  type RestoreJobSettings,
} from '../../src/controller/restoreJobManifest.js';
import type { SnapshotStore } from '../../src/maintenance/stores.js';

const settings: RestoreJobSettings = {
  namespace: 'etcd-monitor',
  operatorImage: 'ghcr.io/etcd-monitor/etcd-monitor:0.1.0',
  imagePullPolicy: 'IfNotPresent',
  uid: 65532,
  gid: 65532,
  backupClaim: { claimName: 'etcd-monitor-backups', mountPath: '/backups', readWriteOnce: true },
  nodeName: 'node-1',
  timeoutMs: 600_000,
};
const NAME = 'etcd-e2e/backup/20260101T000000Z-r42.db';
const local: RestoreJobInput = {
  cluster: 'etcd-e2e/backup',
  etcdImage: 'registry.k8s.io/etcd:3.6.5-0',
  destination: { kind: 'local', path: '/backups' },
  name: NAME,
  location: `/backups/${NAME}`,
  sizeBytes: 100 * 1024 * 1024,
  run: '2026-01-01T00:00:05.000Z',
};
const s3: RestoreJobInput = {
  ...local,
  destination: {
    kind: 's3',
    endpoint: 'https://s3.example:9000',
    bucket: 'etcd',
    prefix: 'prod/',
    region: 'eu-west-1',
    forcePathStyle: true,
    secretName: 'etcd-backup-s3',
    credentials: { accessKeyId: 'AK', secretAccessKey: 'SECRET' },
  },
  location: `s3://etcd/prod/${NAME}`,
};

type Spec = k8s.V1PodSpec;
const podSpec = (j: k8s.V1Job): Spec => j.spec!.template.spec!;
const container = (j: k8s.V1Job, name: string): k8s.V1Container => {
  const s = podSpec(j);
  const c = [...(s.initContainers ?? []), ...s.containers].find((x) => x.name === name);
  if (!c) expect.fail(`no container ${name}`);
  return c;
};

describe('restore-test Job manifest', () => {
  it('local destination: the backup claim read-only, etcdutl restore, etcd as a loopback sidecar, count into the termination message', () => {
    const j = buildRestoreJob(local, settings);
    expect(j.metadata).to.deep.include({
      name: restoreJobName('etcd-e2e/backup', local.run),
      namespace: 'etcd-monitor',
    });
    expect(j.metadata!.name).to.match(/^etcd-monitor-restore-test-[0-9a-f]{12}$/);
    expect(j.metadata!.annotations).to.deep.equal({
      'etcdmonitor.dev/cluster': 'etcd-e2e/backup',
      'etcdmonitor.dev/snapshot': `/backups/${NAME}`,
    });
    expect(j.spec).to.deep.include({
      backoffLimit: 0,
      activeDeadlineSeconds: 600,
      ttlSecondsAfterFinished: 300,
    });
    const s = podSpec(j);
    expect(s.restartPolicy).to.equal('Never');
    expect(s.automountServiceAccountToken).to.equal(false);
    expect(s.securityContext).to.deep.equal({
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      fsGroup: 65532,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    // ReadWriteOnce: on the operator's node.
    expect(
      s.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms,
    ).to.deep.equal([{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['node-1'] }] }]);
    expect(s.volumes).to.deep.equal([
      { name: 'restore', emptyDir: { sizeLimit: '356Mi' } },
      { name: 'backups', persistentVolumeClaim: { claimName: 'etcd-monitor-backups', readOnly: true } },
    ]);
    expect((s.initContainers ?? []).map((c) => c.name)).to.deep.equal(['restore', 'etcd']);
    expect(s.containers.map((c) => c.name)).to.deep.equal(['count']);

    const restore = container(j, 'restore');
    expect(restore.image).to.equal('registry.k8s.io/etcd:3.6.5-0');
    expect(restore.command).to.deep.equal(['etcdutl']);
    expect(restore.args).to.deep.equal([
      'snapshot',
      'restore',
      `/backups/${NAME}`,
      '--name=restore-test',
      '--data-dir=/restore/data',
      '--initial-cluster=restore-test=http://127.0.0.1:2380',
      '--initial-advertise-peer-urls=http://127.0.0.1:2380',
    ]);
    expect(restore.volumeMounts).to.deep.include({ name: 'backups', mountPath: '/backups', readOnly: true });
    expect(restore.terminationMessagePolicy).to.equal('FallbackToLogsOnError');

    const etcd = container(j, 'etcd');
    expect(etcd.restartPolicy).to.equal('Always');
    expect(etcd.command).to.deep.equal(['etcd']);
    expect(etcd.args).to.include.members([
      '--listen-client-urls=http://127.0.0.1:2379',
      '--listen-peer-urls=http://127.0.0.1:2380',
      '--data-dir=/restore/data',
    ]);
    expect(etcd.volumeMounts).to.deep.equal([{ name: 'restore', mountPath: '/restore' }]);
    expect(etcd.resources?.limits).to.deep.equal({ memory: '512Mi' });

    const count = container(j, 'count');
    expect(count.image).to.equal(settings.operatorImage);
    expect(count.args).to.deep.equal([
      'snapshot',
      'count',
      '--endpoints=http://127.0.0.1:2379',
      '--wait=300s',
      '--result-file=/dev/termination-log',
    ]);
    expect(count.terminationMessagePolicy).to.equal('File');
    expect(count.volumeMounts ?? []).to.deep.equal([]);

    for (const c of [...(s.initContainers ?? []), ...s.containers]) {
      expect(c.securityContext, c.name).to.deep.equal({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        runAsNonRoot: true,
        capabilities: { drop: ['ALL'] },
      });
      expect(c.resources?.limits?.memory, c.name).to.be.a('string');
      expect(c.imagePullPolicy, c.name).to.equal('IfNotPresent');
      expect(c.envFrom ?? [], c.name).to.deep.equal([]);
    }
    // No Secret anywhere in a local run, and nothing of the monitored cluster.
    expect(JSON.stringify(j)).to.not.match(/secret/i);
  });

  it('a ReadWriteMany claim is not pinned to a node', () => {
    const j = buildRestoreJob(local, {
      ...settings,
      backupClaim: { ...settings.backupClaim!, readWriteOnce: false },
    });
    expect(podSpec(j).affinity).to.equal(undefined);
  });

  it('a local destination outside the backup volume (or with none mounted) is refused with the reason', () => {
    expect(() =>
      buildRestoreJob({ ...local, destination: { kind: 'local', path: '/elsewhere' } }, settings),
    ).to.throw(/\/elsewhere is not on it \(mounted at \/backups\)/);
    expect(() => buildRestoreJob(local, { ...settings, backupClaim: undefined })).to.throw(/none is mounted/);
    const sub = buildRestoreJob(
      { ...local, destination: { kind: 'local', path: '/backups/etcd' } },
      settings,
    );
    expect(container(sub, 'restore').args![2]).to.equal(`/backups/etcd/${NAME}`);
  });

  it('S3 destination: a fetch step with our image and the per-run Secret, into the emptyDir; no claim, no node pin', () => {
    const j = buildRestoreJob(s3, settings);
    const s = podSpec(j);
    expect((s.initContainers ?? []).map((c) => c.name)).to.deep.equal(['fetch', 'restore', 'etcd']);
    const fetch = container(j, 'fetch');
    expect(fetch.image).to.equal(settings.operatorImage);
    expect(fetch.args).to.deep.equal([
      'snapshot',
      'fetch',
      NAME,
      '/restore/snapshot.db',
      '--backup-s3-bucket=etcd',
      '--backup-s3-endpoint=https://s3.example:9000',
      '--backup-s3-prefix=prod/',
      '--backup-s3-region=eu-west-1',
    ]);
    expect(fetch.envFrom).to.deep.equal([{ secretRef: { name: j.metadata!.name } }]);
    expect(fetch.env).to.deep.equal([{ name: 'TMPDIR', value: '/restore' }]);
    expect(container(j, 'restore').args![2]).to.equal('/restore/snapshot.db');
    expect(s.volumes).to.deep.equal([{ name: 'restore', emptyDir: { sizeLimit: '456Mi' } }]);
    expect(s.affinity).to.equal(undefined);
    // The credentials never appear in the Job itself.
    expect(JSON.stringify(j)).to.not.include('SECRET');
    expect(JSON.stringify(j)).to.not.include('etcd-backup-s3');
  });

  it('settings from the chart-set environment; a root operator UID becomes 65532', () => {
    expect(restoreJobSettingsFromEnv({}))
      .to.have.property('missing')
      .that.matches(/POD_NAMESPACE and ETCD_MONITOR_IMAGE/);
    expect(
      restoreJobSettingsFromEnv(
        {
          POD_NAMESPACE: 'ns',
          ETCD_MONITOR_IMAGE: 'img:1',
          ETCD_MONITOR_BACKUP_CLAIM: 'c',
          ETCD_MONITOR_BACKUP_MOUNT_PATH: '/backups',
          ETCD_MONITOR_BACKUP_ACCESS_MODES: 'ReadWriteMany',
          ETCD_MONITOR_RESTORE_TEST_TIMEOUT_SECONDS: '120',
          NODE_NAME: 'n',
        },
        { uid: 0, gid: 1000 },
      ),
    ).to.deep.equal({
      namespace: 'ns',
      operatorImage: 'img:1',
      imagePullPolicy: undefined,
      uid: 65532,
      gid: 1000,
      backupClaim: { claimName: 'c', mountPath: '/backups', readWriteOnce: false },
      nodeName: 'n',
      timeoutMs: 120_000,
    });
  });
});

const job = (status: k8s.V1JobStatus): k8s.V1Job => ({ metadata: { name: 'j' }, status });
const pod = (init: k8s.V1ContainerStatus[], main: k8s.V1ContainerStatus[] = []): k8s.V1Pod => ({
  status: { initContainerStatuses: init, containerStatuses: main },
});
const terminated = (
  name: string,
  exitCode: number,
  message?: string,
  reason?: string,
): k8s.V1ContainerStatus =>
  ({ name, state: { terminated: { exitCode, message, reason } } }) as k8s.V1ContainerStatus;

describe('restore-test Job outcome', () => {
  it('running: not done', () => {
    expect(jobOutcome(job({ active: 1 }), [])).to.deep.equal({ done: false });
  });

  it("complete: keys and revision from the count container's termination message", () => {
    const out = jobOutcome(job({ succeeded: 1, conditions: [{ type: 'Complete', status: 'True' }] }), [
      pod([terminated('restore', 0)], [terminated('count', 0, '{"keys":25,"revision":31}')]),
    ]);
    expect(out).to.deep.equal({ done: true, result: { keys: 25, revision: 31 } });
  });

  it('failed: the failing step and its last log line (FallbackToLogsOnError)', () => {
    const out = jobOutcome(
      job({ failed: 1, conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' }] }),
      [pod([terminated('restore', 1, 'some\nError: snapshot file has wrong size\n', 'Error')])],
    );
    expect(out).to.deep.equal({
      done: true,
      error:
        'the restore-test Job failed (BackoffLimitExceeded): restore exited 1 (Error): Error: snapshot file has wrong size',
    });
  });

  it('complete but no result: says so', () => {
    const out = jobOutcome(job({ succeeded: 1 }), [pod([], [terminated('count', 0, 'hello')])]);
    expect(out).to.deep.equal({ done: true, error: 'the count step said: hello' });
  });
});

class FakeJobs implements JobApi {
  created: k8s.V1Job[] = [];
  secrets: k8s.V1Secret[] = [];
  deleted: string[] = [];
  reads = 0;
  constructor(
    private readonly finishAfter: number | undefined,
    private readonly result: k8s.V1Pod[],
  ) {}
  createJob(_ns: string, j: k8s.V1Job): Promise<k8s.V1Job> {
    this.created.push(j);
    return Promise.resolve({ ...j, metadata: { ...j.metadata, uid: 'uid-1' } });
  }
  readJob(): Promise<k8s.V1Job | undefined> {
    this.reads++;
    const done = this.finishAfter !== undefined && this.reads >= this.finishAfter;
    return Promise.resolve(job(done ? { succeeded: 1 } : { active: 1 }));
  }
  deleteJob(ns: string, name: string): Promise<void> {
    this.deleted.push(`${ns}/${name}`);
    return Promise.resolve();
  }
  listPods(): Promise<k8s.V1Pod[]> {
    return Promise.resolve(this.result);
  }
  createSecret(_ns: string, s: k8s.V1Secret): Promise<void> {
    this.secrets.push(s);
    return Promise.resolve();
  }
}

describe('restore-test Job lifecycle', () => {
  const ref = { name: NAME, location: `/backups/${NAME}`, sizeBytes: 1000, store: {} as SnapshotStore };
  const ok = [pod([], [terminated('count', 0, '{"keys":7,"revision":9}')])];

  it('creates the Job, polls it to completion, returns the keys and deletes it', async () => {
    const api = new FakeJobs(3, ok);
    const t = new JobRestoreTester(api, settings, {
      cluster: 'etcd-e2e/backup',
      etcdImage: 'etcd:x',
      destination: local.destination,
      sleep: () => Promise.resolve(),
    });
    const r = await t.test(ref);
    expect(r).to.include({ keys: 7, revision: 9 });
    expect(api.reads).to.equal(3);
    expect(api.created).to.have.length(1);
    expect(api.secrets).to.have.length(0);
    expect(api.deleted).to.deep.equal([`etcd-monitor/${api.created[0]!.metadata!.name}`]);
  });

  it('gives up after its deadline with what the Pod waits for, and still deletes the Job', async () => {
    const waiting = [
      pod([
        {
          name: 'restore',
          state: { waiting: { reason: 'ErrImagePull', message: 'not found' } },
        } as k8s.V1ContainerStatus,
      ]),
    ];
    const api = new FakeJobs(undefined, waiting);
    let clock = 0;
    const realNow = Date.now;
    Date.now = () => realNow() + clock;
    try {
      const t = new JobRestoreTester(
        api,
        { ...settings, timeoutMs: 30_000 },
        {
          cluster: 'c/x',
          etcdImage: 'etcd:x',
          destination: local.destination,
          sleep: (ms) => {
            clock += ms * 10;
            return Promise.resolve();
          },
        },
      );
      let err: Error | undefined;
      await t.test(ref).catch((e: Error) => (err = e));
      expect(err?.message).to.match(/did not finish within 60s: restore waiting: ErrImagePull: not found/);
    } finally {
      Date.now = realNow;
    }
    expect(api.deleted).to.have.length(1);
  });

  it('S3: copies the credentials into a Secret owned by the Job, named as the fetch step expects', async () => {
    const api = new FakeJobs(1, ok);
    const t = new JobRestoreTester(api, settings, {
      cluster: 'c/x',
      etcdImage: 'etcd:x',
      destination: s3.destination,
      credentials: () => ({ accessKeyId: 'AK2', secretAccessKey: 'ROTATED' }),
      sleep: () => Promise.resolve(),
    });
    await t.test({ ...ref, location: s3.location });
    const name = api.created[0]!.metadata!.name!;
    expect(api.secrets).to.deep.equal([
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: {
          name,
          namespace: 'etcd-monitor',
          labels: {
            'app.kubernetes.io/name': 'etcd-monitor',
            'app.kubernetes.io/component': 'restore-test',
            'app.kubernetes.io/managed-by': 'etcd-monitor',
          },
          ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name, uid: 'uid-1' }],
        },
        type: 'Opaque',
        stringData: {
          ETCD_MONITOR_BACKUP_S3_ACCESS_KEY_ID: 'AK2',
          ETCD_MONITOR_BACKUP_S3_SECRET_ACCESS_KEY: 'ROTATED',
        },
      },
    ]);
    expect(api.deleted).to.deep.equal([`etcd-monitor/${name}`]);
  });
});
