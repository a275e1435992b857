/**
 * One resource's scheduled maintenance (spec.backup / spec.maintenance) as the controller runs it: the
 * scheduler, its snapshot store and the S3 credentials the store asks for, re-made when the plan changes.
 */
import type { EtcdMonitorStatus } from '../crd/types.js';
import type { Logger } from '../log.js';
import {
  findRestoreTools,
  InProcessRestoreTester,
  UnavailableRestoreTester,
  type RestoreTester,
} from '../maintenance/restoreTest.js';
import { MaintenanceScheduler } from '../maintenance/scheduler.js';
import { LocalStore, S3Store, type SnapshotStore } from '../maintenance/stores.js';
import type { ClusterMonitor } from '../monitor/clusterMonitor.js';
import { DEFAULT_RESTORE_IMAGE, type MaintenancePlan, type ResolvedSpec } from './config.js';
import type { EtcdMonitorObject, KubeClient } from './kube.js';
import { JobRestoreTester } from './restoreJob.js';
import { restoreJobSettingsFromEnv, type RestoreJobSettings } from './restoreJobManifest.js';

type S3Credentials = { accessKeyId: string; secretAccessKey: string };
type BackupPlan = NonNullable<MaintenancePlan['backup']>;

export interface MaintenanceDeps {
  kube: KubeClient;
  log: Logger;
  /** verify.restoreTest as a Job (ControllerOptions.restoreJob); default: the operator Pod's environment. */
  restoreJob?: RestoreJobSettings | { missing: string };
  /** The resource's current monitor (events of a run go to it, even if it was re-made meanwhile). */
  monitorOf: () => ClusterMonitor | undefined;
  /** Queue the resource's key (a run changed what its status shows). */
  requeue: () => void;
}

export class ResourceMaintenance {
  private sched?: MaintenanceScheduler;
  private planKey?: string;
  private store?: SnapshotStore;
  /** The S3 credentials as last read from their Secret; the store asks for them at every request. */
  private s3Credentials?: S3Credentials;

  constructor(
    private readonly key: string,
    private readonly deps: MaintenanceDeps,
  ) {}

  /**
   * Made when its plan appears or changes (carrying on from the written status, so a run missed while no
   * operator led runs once), dropped when it goes. Only the leader replica runs controllers, so two
   * replicas never back up the same cluster.
   */
  async ensure(
    obj: EtcdMonitorObject,
    monitor: ClusterMonitor,
    written: EtcdMonitorStatus | undefined,
    spec: ResolvedSpec,
  ): Promise<void> {
    const plan = spec.maintenance;
    if (plan?.backup?.destination.kind === 's3') this.s3Credentials = plan.backup.destination.credentials;
    if (!plan) {
      if (this.sched) {
        this.stop();
        monitor.setMaintenance(undefined);
      }
      return;
    }
    if (this.sched && this.planKey === plan.key) {
      if (monitor.maintenance !== this.sched) monitor.setMaintenance(this.sched);
      return;
    }
    const previous = monitor.status ?? written;
    this.stop();
    const store = plan.backup ? this.makeStore(plan.backup) : undefined;
    const sched = new MaintenanceScheduler(
      {
        cluster: this.key,
        timeoutMs: spec.timeoutMs,
        idleTimeoutMs: 30_000,
        overallTimeoutMs: 3_600_000,
        backup:
          plan.backup && store
            ? {
                schedule: plan.backup.schedule,
                member: plan.backup.member,
                retention: { keep: plan.backup.keep ?? 10, maxAgeMs: plan.backup.maxAgeMs },
                store,
                restoreTest: plan.backup.restoreTest ? this.restoreTester(plan.backup, spec) : undefined,
              }
            : undefined,
        defragmentation: plan.defragmentation,
      },
      {
        connect: async () => {
          const { MemberClient } = await import('../etcd/grpc.js');
          return spec.endpoints.map((e) => new MemberClient(e, spec.conn));
        },
        onEvent: (ev) => (this.deps.monitorOf() ?? monitor).maintenanceEvent(ev),
        onChange: () => this.deps.requeue(),
      },
      obj.metadata.creationTimestamp ? new Date(obj.metadata.creationTimestamp) : new Date(),
      { backup: previous?.backup, maintenance: previous?.maintenance },
    );
    await sched.resume();
    this.sched = sched;
    this.planKey = plan.key;
    this.store = store;
    monitor.setMaintenance(
      sched,
      previous?.conditions.find((c) => c.type === 'BackupReady'),
    );
    this.deps.log.info('scheduled maintenance', {
      key: this.key,
      backup: plan.backup ? `${plan.backup.schedule} → ${plan.backup.destination.kind}` : undefined,
      defragmentation: plan.defragmentation?.schedule,
    });
  }

  stop(): void {
    this.sched?.stop();
    if (this.store instanceof S3Store) this.store.close();
    this.sched = undefined;
    this.planKey = undefined;
    this.store = undefined;
  }

  /**
   * In-process when etcd and etcdutl are on the operator's PATH (not in the shipped image); otherwise a Job
   * with verify.restoreImage in the operator's namespace (restoreJob.ts); without either, each run says why.
   */
  private restoreTester(b: BackupPlan, spec: ResolvedSpec): RestoreTester {
    const tools = findRestoreTools();
    if (tools) return new InProcessRestoreTester(tools, spec.timeoutMs * 12);
    const settings =
      this.deps.restoreJob ??
      restoreJobSettingsFromEnv(process.env, { uid: process.getuid?.(), gid: process.getgid?.() });
    if ('missing' in settings) return new UnavailableRestoreTester(settings.missing);
    if (!this.deps.kube.jobs)
      return new UnavailableRestoreTester('verify.restoreTest: this client cannot create Jobs');
    return new JobRestoreTester(this.deps.kube.jobs, settings, {
      cluster: this.key,
      etcdImage: b.restoreImage ?? DEFAULT_RESTORE_IMAGE,
      destination: b.destination,
      credentials: () => this.s3Credentials,
    });
  }

  private makeStore(b: BackupPlan): SnapshotStore {
    const d = b.destination;
    if (d.kind === 'local') return new LocalStore(d.path);
    return new S3Store({
      endpoint: d.endpoint,
      bucket: d.bucket,
      prefix: d.prefix,
      region: d.region,
      forcePathStyle: d.forcePathStyle,
      credentials: async () => {
        if (!this.s3Credentials) throw new Error(`no credentials from secret "${d.secretName}"`);
        return this.s3Credentials;
      },
    });
  }
}
