/**
 * verify.restoreTest in the operator: a Kubernetes Job that restores a stored snapshot into a scratch
 * etcd and counts its keys, for images that have no etcd binaries (the shipped one has none).
 *
 * The Job runs in the operator's own namespace: a local destination is the chart's backup claim, which a
 * Pod can mount only there, and the operator may then create Jobs in one namespace only (never a Pod in
 * the namespaces it watches). Its Pod, with no shell needed in any image:
 *   init `fetch`   (S3 only; the operator's image) `etcd-monitor snapshot fetch`: the object to an
 *                  emptyDir, checked against its `.sha256`; credentials from a per-run Secret owned by the
 *                  Job (a copy of the EtcdMonitor's, which lives in another namespace), gone with the Job;
 *   init `restore` (the etcd image) `etcdutl snapshot restore` into the emptyDir; a local snapshot is read
 *                  from the backup claim, mounted read-only (ReadWriteOnce: pinned to the operator's node);
 *   sidecar `etcd` (the etcd image, restartPolicy Always) serving the restored data on loopback only;
 *   `count`        (the operator's image) `etcd-monitor snapshot count`: keys and revision, as JSON in its
 *                  termination message, read back through the Pod's status (pods list, no logs).
 * Non-root (the operator's UID, so the snapshots it wrote are readable), read-only root filesystems, no
 * capabilities, RuntimeDefault seccomp, no ServiceAccount token, resource limits. The operator polls the
 * Job with its own deadline beyond activeDeadlineSeconds and always deletes it (Background propagation);
 * ttlSecondsAfterFinished is the backstop for an operator that died meanwhile.
 */
import type * as k8s from '@kubernetes/client-node';
import type { BackupDestination } from './config.js';
import type { RestoreTestResult, RestoreTester, SnapshotRef } from '../maintenance/restoreTest.js';
import { buildRestoreJob, restoreJobSecret, type RestoreJobSettings } from './restoreJobManifest.js';

/** What the restore-test Job needs of Kubernetes (kube.ts implements it). */
export interface JobApi {
  createJob(namespace: string, job: k8s.V1Job): Promise<k8s.V1Job>;
  /** undefined when it does not exist (any more). */
  readJob(namespace: string, name: string): Promise<k8s.V1Job | undefined>;
  /** Deletes with propagationPolicy Background (its Pods and owned Secret go with it); a 404 is fine. */
  deleteJob(namespace: string, name: string): Promise<void>;
  listPods(namespace: string, labelSelector: string): Promise<k8s.V1Pod[]>;
  createSecret(namespace: string, secret: k8s.V1Secret): Promise<void>;
}

export type JobOutcome =
  | { done: false }
  | { done: true; result: { keys: number; revision: number } }
  | { done: true; error: string };

function oneLine(text: string): string {
  const lines = text
    .trim()
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return (lines[lines.length - 1] ?? '').slice(0, 500);
}

/** What a container's state says, for an error message (undefined when it has nothing to say). */
function containerProblem(c: k8s.V1ContainerStatus): string | undefined {
  const t = c.state?.terminated;
  if (t && t.exitCode !== 0)
    return `${c.name} exited ${t.exitCode}${t.reason ? ` (${t.reason})` : ''}${t.message ? `: ${oneLine(t.message)}` : ''}`;
  const w = c.state?.waiting;
  if (w?.reason && w.reason !== 'PodInitializing' && w.reason !== 'ContainerCreating')
    return `${c.name} waiting: ${w.reason}${w.message ? `: ${oneLine(w.message)}` : ''}`;
  return undefined;
}

/** Why the Pods did not get further (first problem found), for a failed or timed-out Job. */
export function podProblem(pods: k8s.V1Pod[]): string | undefined {
  for (const p of pods) {
    const all = [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])];
    for (const c of all) {
      const why = containerProblem(c);
      if (why) return why;
    }
    const unscheduled = p.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
    if (unscheduled) return `not scheduled: ${unscheduled.reason ?? ''} ${unscheduled.message ?? ''}`.trim();
  }
  return undefined;
}

/** The Job's outcome from it and its Pods (pure). */
export function jobOutcome(job: k8s.V1Job, pods: k8s.V1Pod[]): JobOutcome {
  const cond = (type: string) => job.status?.conditions?.find((c) => c.type === type && c.status === 'True');
  const failed = cond('Failed');
  const complete = cond('Complete') ?? ((job.status?.succeeded ?? 0) > 0 ? { type: 'Complete' } : undefined);
  if (!failed && !complete) return { done: false };
  if (complete) {
    for (const p of pods) {
      const c = p.status?.containerStatuses?.find((x) => x.name === 'count');
      const msg = c?.state?.terminated?.message;
      if (!msg) continue;
      try {
        const r = JSON.parse(msg) as { keys?: unknown; revision?: unknown };
        if (typeof r.keys === 'number' && typeof r.revision === 'number')
          return { done: true, result: { keys: r.keys, revision: r.revision } };
      } catch {
        /* not the JSON line: reported below */
      }
      return { done: true, error: `the count step said: ${oneLine(msg)}` };
    }
    return {
      done: true,
      error: 'the restore-test Job completed without a result in its termination message',
    };
  }
  const why = podProblem(pods);
  return {
    done: true,
    error: `the restore-test Job failed (${failed!.reason ?? 'Failed'}${failed!.message ? `: ${failed!.message}` : ''})${why ? `: ${why}` : ''}`,
  };
}

export interface JobRestoreTesterOptions {
  cluster: string;
  etcdImage: string;
  destination: BackupDestination;
  /** The S3 credentials as now (they rotate): copied into the per-run Secret. */
  credentials?: () => { accessKeyId: string; secretAccessKey: string } | undefined;
  pollMs?: number;
  now?: () => Date;
  sleep?: (ms: number) => Promise<void>;
}

/** verify.restoreTest as a Job (see the top of this file). */
export class JobRestoreTester implements RestoreTester {
  constructor(
    private readonly api: JobApi,
    private readonly settings: RestoreJobSettings,
    private readonly o: JobRestoreTesterOptions,
  ) {}

  async test(snapshot: SnapshotRef): Promise<RestoreTestResult> {
    const started = Date.now();
    const now = this.o.now?.() ?? new Date();
    const sleep = this.o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    const job = buildRestoreJob(
      {
        cluster: this.o.cluster,
        etcdImage: this.o.etcdImage,
        destination: this.o.destination,
        name: snapshot.name,
        location: snapshot.location,
        sizeBytes: snapshot.sizeBytes,
        run: now.toISOString(),
      },
      this.settings,
    );
    const ns = this.settings.namespace;
    const name = job.metadata!.name!;
    let created: k8s.V1Job;
    try {
      created = await this.api.createJob(ns, job);
    } catch (e) {
      throw new Error(`could not create the restore-test Job ${ns}/${name}: ${kubeMessage(e)}`);
    }
    try {
      if (this.o.destination.kind === 's3') {
        const creds = this.o.credentials?.();
        if (!creds) throw new Error('no S3 credentials to give the restore-test Job');
        try {
          await this.api.createSecret(ns, restoreJobSecret(created, creds));
        } catch (e) {
          throw new Error(`could not create the restore-test Job's Secret ${ns}/${name}: ${kubeMessage(e)}`);
        }
      }
      const waitUntil = started + this.settings.timeoutMs + 30_000;
      const selector = `batch.kubernetes.io/job-name=${name}`;
      for (;;) {
        const j = await this.api.readJob(ns, name);
        if (!j) throw new Error(`the restore-test Job ${ns}/${name} disappeared before it finished`);
        const pods = await this.api.listPods(ns, selector);
        const out = jobOutcome(j, pods);
        if (out.done) {
          if ('error' in out) throw new Error(out.error);
          return { ...out.result, durationSeconds: (Date.now() - started) / 1000 };
        }
        if (Date.now() > waitUntil) {
          const why = podProblem(pods);
          throw new Error(
            `the restore-test Job ${ns}/${name} did not finish within ${Math.round((waitUntil - started) / 1000)}s${why ? `: ${why}` : ''}`,
          );
        }
        await sleep(this.o.pollMs ?? 2000);
      }
    } finally {
      await this.api.deleteJob(ns, name).catch(() => {
        /* ttlSecondsAfterFinished and activeDeadlineSeconds remove it */
      });
    }
  }
}

function kubeMessage(e: unknown): string {
  const x = e as { body?: unknown; message?: string };
  if (typeof x.body === 'string') {
    try {
      const b = JSON.parse(x.body) as { message?: string };
      if (b.message) return b.message;
    } catch {
      /* not JSON */
    }
  }
  return x.message ?? String(e);
}
