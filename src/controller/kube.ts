/**
 * The operator's only door to Kubernetes: a small interface (so the controller can be driven by a real
 * API server in tests and nothing else) and its implementation on @kubernetes/client-node.
 */
import { createHash } from 'node:crypto';
import https from 'node:https';
import os from 'node:os';
import * as k8s from '@kubernetes/client-node';
import { GROUP, KIND, PLURAL, VERSION, type EtcdMonitorSpec, type EtcdMonitorStatus } from '../crd/types.js';
import type { SecretLookup } from './config.js';
import type { JobApi } from './restoreJob.js';

export interface ObjectMeta {
  name: string;
  namespace: string;
  uid: string;
  generation?: number;
  resourceVersion?: string;
  labels?: Record<string, string>;
  deletionTimestamp?: string;
  creationTimestamp?: string;
}

export interface EtcdMonitorObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec: EtcdMonitorSpec;
  status?: EtcdMonitorStatus;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';

export class WatchExpiredError extends Error {}

export interface WatchHandle {
  stop(): void;
}

export interface LeaseRecord {
  holder?: string;
  renewTime?: Date;
  acquireTime?: Date;
  durationSeconds?: number;
  transitions?: number;
  resourceVersion?: string;
}

export interface KubeClient {
  listMonitors(
    namespace: string | undefined,
    labelSelector: string | undefined,
  ): Promise<{ items: EtcdMonitorObject[]; resourceVersion: string }>;
  /** Watch from a resourceVersion; `onDone` gets a WatchExpiredError on 410 Gone. */
  watchMonitors(
    namespace: string | undefined,
    labelSelector: string | undefined,
    resourceVersion: string,
    onEvent: (type: WatchEventType, obj: EtcdMonitorObject) => void,
    onDone: (err: Error | undefined) => void,
  ): Promise<WatchHandle>;
  /** JSON merge patch of the status subresource, as `fieldManager` when given (one per shard). */
  patchStatus(namespace: string, name: string, patch: unknown, fieldManager?: string): Promise<void>;
  createEvent(
    obj: EtcdMonitorObject,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
  ): Promise<void>;
  readSecret(namespace: string, name: string): Promise<SecretLookup>;
  getLease(namespace: string, name: string): Promise<LeaseRecord | undefined>;
  /** Create or update (with optimistic concurrency on resourceVersion); false when someone else won. */
  writeLease(namespace: string, name: string, lease: LeaseRecord): Promise<boolean>;
  /** Restore-test Jobs in the operator's namespace (verify.restoreTest); absent in test doubles. */
  jobs?: JobApi;
}

function statusCode(e: unknown): number | undefined {
  const x = e as { code?: number; statusCode?: number; body?: unknown };
  if (typeof x.code === 'number') return x.code;
  if (typeof x.statusCode === 'number') return x.statusCode;
  return undefined;
}

function monitorsPath(namespace: string | undefined): string {
  return namespace
    ? `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${PLURAL}`
    : `/apis/${GROUP}/${VERSION}/${PLURAL}`;
}

type AuthContext = Parameters<k8s.KubeConfig['applySecurityAuthentication']>[0];

/**
 * A KubeConfig whose API calls share keep-alive connections. @kubernetes/client-node (1.x) builds a new
 * https.Agent for every call, so every status patch, Event and Secret read paid a TCP + TLS handshake
 * (client-certificate auth: ~3x the client CPU of a patch on a reused connection, plus the API server's
 * share). Calls with the same TLS material now share one agent; new material (a rotated client
 * certificate) gets a new agent and the oldest is dropped. Proxied clusters keep the library's agents.
 */
export class PooledKubeConfig extends k8s.KubeConfig {
  private readonly agents = new Map<string, https.Agent>();

  override async applySecurityAuthentication(context: AuthContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    const made = context.getAgent();
    if (this.getCurrentCluster()?.proxyUrl || !(made instanceof https.Agent)) return;
    const o = (made as https.Agent & { options: https.AgentOptions }).options;
    const tls = {
      ca: o.ca,
      cert: o.cert,
      key: o.key,
      pfx: o.pfx,
      passphrase: o.passphrase,
      rejectUnauthorized: o.rejectUnauthorized,
      servername: o.servername,
    };
    const key = createHash('sha256')
      .update(JSON.stringify(tls, (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString('base64') : v)))
      .digest('hex');
    let agent = this.agents.get(key);
    if (!agent) {
      // Idle sockets are closed after 30s, before the API server's own idle timeout could race a reuse.
      agent = new https.Agent({ ...tls, keepAlive: true, timeout: 30_000 });
      this.agents.set(key, agent);
      for (const [k, a] of this.agents) {
        if (this.agents.size <= 2) break;
        this.agents.delete(k);
        a.destroy();
      }
    }
    made.destroy();
    context.setAgent(agent);
  }
}

export function loadKubeConfig(kubeconfig?: string): k8s.KubeConfig {
  const kc = new PooledKubeConfig();
  if (kubeconfig) kc.loadFromFile(kubeconfig);
  else kc.loadFromDefault();
  return kc;
}

export function createKubeClient(kc: k8s.KubeConfig): KubeClient {
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const coord = kc.makeApiClient(k8s.CoordinationV1Api);
  const batch = kc.makeApiClient(k8s.BatchV1Api);
  const watch = new k8s.Watch(kc);
  const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
  const instance = os.hostname();

  return {
    async listMonitors(namespace, labelSelector) {
      const res = (
        namespace
          ? await custom.listNamespacedCustomObject({
              group: GROUP,
              version: VERSION,
              namespace,
              plural: PLURAL,
              labelSelector,
            })
          : await custom.listClusterCustomObject({
              group: GROUP,
              version: VERSION,
              plural: PLURAL,
              labelSelector,
            })
      ) as {
        items: EtcdMonitorObject[];
        metadata: { resourceVersion: string };
      };
      return { items: res.items, resourceVersion: res.metadata.resourceVersion };
    },

    async watchMonitors(namespace, labelSelector, resourceVersion, onEvent, onDone) {
      let finished = false;
      const done = (err: Error | undefined): void => {
        if (finished) return;
        finished = true;
        onDone(err);
      };
      const ctl = await watch.watch(
        monitorsPath(namespace),
        { resourceVersion, allowWatchBookmarks: true, labelSelector, timeoutSeconds: 300 },
        (phase: string, obj: unknown) => {
          if (phase === 'ERROR') {
            const st = obj as { code?: number; message?: string };
            done(
              st.code === 410
                ? new WatchExpiredError(st.message ?? 'resource version too old')
                : new Error(`watch error: ${st.message ?? JSON.stringify(obj)}`),
            );
            return;
          }
          onEvent(phase as WatchEventType, obj as EtcdMonitorObject);
        },
        (err: unknown) => {
          if (err && statusCode(err) === 410) done(new WatchExpiredError(String(err)));
          else if (err && !(err instanceof Error && err.name === 'AbortError'))
            done(err instanceof Error ? err : new Error(String(err)));
          else done(undefined);
        },
      );
      return { stop: () => ctl.abort() };
    },

    async patchStatus(namespace, name, patch, fieldManager) {
      await custom.patchNamespacedCustomObjectStatus(
        {
          group: GROUP,
          version: VERSION,
          namespace,
          plural: PLURAL,
          name,
          body: patch as object,
          fieldManager,
        },
        mergePatch,
      );
    },

    async createEvent(obj, type, reason, message) {
      const now = new Date();
      const event: k8s.CoreV1Event = {
        metadata: { generateName: `${obj.metadata.name}.`, namespace: obj.metadata.namespace },
        involvedObject: {
          apiVersion: `${GROUP}/${VERSION}`,
          kind: KIND,
          name: obj.metadata.name,
          namespace: obj.metadata.namespace,
          uid: obj.metadata.uid,
          resourceVersion: obj.metadata.resourceVersion,
        },
        type,
        reason,
        message: message.length > 1024 ? message.slice(0, 1021) + '...' : message,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
        source: { component: 'etcd-monitor' },
        reportingComponent: 'etcdmonitor.dev/operator',
        reportingInstance: instance,
      };
      await core.createNamespacedEvent({ namespace: obj.metadata.namespace, body: event });
    },

    async readSecret(namespace, name) {
      try {
        const s = await core.readNamespacedSecret({ namespace, name });
        const data: Record<string, Buffer> = {};
        for (const [k, v] of Object.entries(s.data ?? {})) data[k] = Buffer.from(v, 'base64');
        for (const [k, v] of Object.entries(s.stringData ?? {})) data[k] = Buffer.from(v, 'utf8');
        return { resourceVersion: s.metadata?.resourceVersion ?? '', data };
      } catch (e) {
        if (statusCode(e) === 404) return 'NotFound';
        if (statusCode(e) === 403) return 'Forbidden';
        throw e;
      }
    },

    async getLease(namespace, name) {
      try {
        const l = await coord.readNamespacedLease({ namespace, name });
        return {
          holder: l.spec?.holderIdentity,
          renewTime: l.spec?.renewTime ? new Date(l.spec.renewTime as unknown as string) : undefined,
          acquireTime: l.spec?.acquireTime ? new Date(l.spec.acquireTime as unknown as string) : undefined,
          durationSeconds: l.spec?.leaseDurationSeconds,
          transitions: l.spec?.leaseTransitions,
          resourceVersion: l.metadata?.resourceVersion,
        };
      } catch (e) {
        if (statusCode(e) === 404) return undefined;
        throw e;
      }
    },

    jobs: {
      createJob: (namespace, body) => batch.createNamespacedJob({ namespace, body }),
      async readJob(namespace, name) {
        try {
          return await batch.readNamespacedJob({ namespace, name });
        } catch (e) {
          if (statusCode(e) === 404) return undefined;
          throw e;
        }
      },
      async deleteJob(namespace, name) {
        try {
          await batch.deleteNamespacedJob({ namespace, name, propagationPolicy: 'Background' });
        } catch (e) {
          if (statusCode(e) !== 404) throw e;
        }
      },
      listPods: async (namespace, labelSelector) =>
        (await core.listNamespacedPod({ namespace, labelSelector })).items,
      async createSecret(namespace, body) {
        await core.createNamespacedSecret({ namespace, body });
      },
    },

    async writeLease(namespace, name, lease) {
      const body: k8s.V1Lease = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name, namespace, resourceVersion: lease.resourceVersion },
        spec: {
          holderIdentity: lease.holder,
          leaseDurationSeconds: lease.durationSeconds,
          leaseTransitions: lease.transitions,
          acquireTime: lease.acquireTime ? new k8s.V1MicroTime(lease.acquireTime.getTime()) : undefined,
          renewTime: lease.renewTime ? new k8s.V1MicroTime(lease.renewTime.getTime()) : undefined,
        },
      };
      try {
        if (lease.resourceVersion) await coord.replaceNamespacedLease({ namespace, name, body });
        else await coord.createNamespacedLease({ namespace, body });
        return true;
      } catch (e) {
        const code = statusCode(e);
        if (code === 409) return false;
        throw e;
      }
    },
  };
}
