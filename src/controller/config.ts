/**
 * From an EtcdMonitor spec and its Secrets to what the monitor needs (pure). Whatever is wrong comes back
 * as a readable reason for ConfigValid=False instead of an exception.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { parseDuration } from '../crd/duration.js';
import type { EtcdMonitorSpec } from '../crd/types.js';
import { parseEndpoints, type Endpoint } from '../etcd/endpoints.js';
import type { ConnectionOptions, TlsMaterial } from '../etcd/grpc.js';
import type { Thresholds } from '../health/evaluate.js';
import { resolveThresholds, ThresholdError } from '../health/thresholds.js';
import { parseSchedule } from '../maintenance/schedule.js';

export interface SecretData {
  resourceVersion: string;
  data: Record<string, Buffer>;
}

/** What a secret lookup found: the data, that it does not exist, or that we may not read it (RBAC). */
export type SecretLookup = SecretData | 'NotFound' | 'Forbidden';

export interface ResolvedSpec {
  endpoints: Endpoint[];
  intervalMs: number;
  timeoutMs: number;
  conn: ConnectionOptions;
  metrics: boolean;
  metricsUrls?: string[];
  writeProbe: boolean;
  thresholds: Thresholds;
  /** spec.backup is set (for the NoBackup advice). */
  backupConfigured: boolean;
  paused: boolean;
  /** Changes whenever anything that needs a new connection changes (endpoints, TLS, auth, probes). */
  connectionKey: string;
  /** spec.backup / spec.maintenance, checked; absent when neither is set or when they cannot be used. */
  maintenance?: MaintenancePlan;
  /** Why spec.backup / spec.maintenance cannot be used: probing goes on, ConfigValid=False says why. */
  maintenanceProblem?: ConfigProblem;
}

export type BackupDestination =
  | { kind: 'local'; path: string }
  | {
      kind: 's3';
      endpoint?: string;
      bucket: string;
      prefix?: string;
      region?: string;
      forcePathStyle: boolean;
      secretName: string;
      credentials: { accessKeyId: string; secretAccessKey: string };
    };

/** What the operator needs to run scheduled maintenance of one resource (plain data). */
export interface MaintenancePlan {
  backup?: {
    schedule: string;
    member: 'follower' | 'leader' | 'any';
    keep?: number;
    maxAgeMs?: number;
    destination: BackupDestination;
    restoreTest: boolean;
    /** With restoreTest: the etcd image the restore-test Job runs (verify.restoreImage). */
    restoreImage?: string;
  };
  defragmentation?: {
    schedule: string;
    minFragmentationPercent: number;
    minReclaimableBytes: number;
    disarmNoSpace: boolean;
  };
  /** Changes when anything but the S3 credentials changes (those rotate in place). */
  key: string;
}

export interface ConfigProblem {
  reason: string;
  message: string;
}

export type ResolveResult = { ok: true; spec: ResolvedSpec } | { ok: false; problem: ConfigProblem };

export interface SecretsForSpec {
  tls?: SecretLookup;
  auth?: SecretLookup;
  /** spec.backup.destination.s3.secretName */
  backupS3?: SecretLookup;
}

function fail(reason: string, message: string): ResolveResult {
  return { ok: false, problem: { reason, message } };
}

function pemProblem(what: string, pem: Buffer, kind: 'cert' | 'key'): string | undefined {
  try {
    if (kind === 'cert') new X509Certificate(pem);
    else createPrivateKey(pem);
    return undefined;
  } catch (e) {
    return `${what} is not a valid PEM ${kind === 'cert' ? 'certificate' : 'private key'}: ${(e as Error).message}`;
  }
}

export function resolveSpec(spec: EtcdMonitorSpec, secrets: SecretsForSpec): ResolveResult {
  const tlsRef = spec.tls;
  let endpoints: Endpoint[];
  try {
    endpoints = parseEndpoints(spec.endpoints ?? [], tlsRef ? 'https' : 'http');
  } catch (e) {
    return fail('InvalidEndpoints', (e as Error).message);
  }
  let intervalMs: number;
  let timeoutMs: number;
  try {
    intervalMs = parseDuration(spec.interval ?? '15s');
    timeoutMs = parseDuration(spec.timeout ?? '5s');
  } catch (e) {
    return fail('InvalidDuration', (e as Error).message);
  }
  if (intervalMs < 1000) return fail('InvalidDuration', 'interval must be at least 1s');
  if (timeoutMs >= intervalMs)
    return fail('InvalidDuration', `timeout ${spec.timeout} must be shorter than interval ${spec.interval}`);
  const urls = spec.metrics?.urls ?? [];
  if (urls.length > 0 && urls.length !== endpoints.length)
    return fail('InvalidMetricsURLs', 'metrics.urls needs one URL per endpoint');

  const conn: ConnectionOptions = {};
  const keyParts: unknown[] = [
    endpoints.map((e) => e.url),
    timeoutMs,
    spec.metrics?.enabled !== false,
    urls,
    spec.probes?.writeLatency === true,
  ];
  if (tlsRef) {
    const s = secrets.tls;
    if (s === 'Forbidden')
      return fail(
        'SecretForbidden',
        `not allowed to read TLS secret "${tlsRef.secretName}" (grant the operator get on secrets in this namespace)`,
      );
    if (!s || s === 'NotFound') return fail('SecretNotFound', `TLS secret "${tlsRef.secretName}" not found`);
    const caKey = tlsRef.caKey ?? 'ca.crt';
    const certKey = tlsRef.certKey ?? 'tls.crt';
    const keyKey = tlsRef.keyKey ?? 'tls.key';
    const tls: TlsMaterial = {
      serverName: tlsRef.serverName || undefined,
      insecureSkipVerify: tlsRef.insecureSkipVerify === true,
    };
    const ca = s.data[caKey];
    const cert = s.data[certKey];
    const key = s.data[keyKey];
    if (ca) {
      const p = pemProblem(`secret "${tlsRef.secretName}" key "${caKey}"`, ca, 'cert');
      if (p) return fail('InvalidCertificate', p);
      tls.ca = ca;
    } else if (!tls.insecureSkipVerify) {
      return fail(
        'SecretKeyMissing',
        `TLS secret "${tlsRef.secretName}" has no key "${caKey}" (the CA bundle; or set insecureSkipVerify)`,
      );
    }
    if ((cert === undefined) !== (key === undefined)) {
      return fail(
        'SecretKeyMissing',
        `TLS secret "${tlsRef.secretName}" must hold both "${certKey}" and "${keyKey}" for a client certificate, or neither`,
      );
    }
    if (cert && key) {
      const pc = pemProblem(`secret "${tlsRef.secretName}" key "${certKey}"`, cert, 'cert');
      if (pc) return fail('InvalidCertificate', pc);
      const pk = pemProblem(`secret "${tlsRef.secretName}" key "${keyKey}"`, key, 'key');
      if (pk) return fail('InvalidCertificate', pk);
      if (!new X509Certificate(cert).checkPrivateKey(createPrivateKey(key))) {
        return fail(
          'InvalidCertificate',
          `secret "${tlsRef.secretName}": "${keyKey}" is not the private key of "${certKey}"`,
        );
      }
      const notAfter = Date.parse(new X509Certificate(cert).validTo);
      if (Number.isFinite(notAfter) && notAfter < Date.now()) {
        return fail(
          'InvalidCertificate',
          `secret "${tlsRef.secretName}": client certificate "${certKey}" expired on ${new Date(notAfter).toISOString()}`,
        );
      }
      tls.cert = cert;
      tls.key = key;
    }
    conn.tls = tls;
    keyParts.push(['tls', s.resourceVersion, tls.serverName, tls.insecureSkipVerify]);
  }
  if (spec.auth) {
    const s = secrets.auth;
    if (s === 'Forbidden')
      return fail(
        'SecretForbidden',
        `not allowed to read auth secret "${spec.auth.secretName}" (grant the operator get on secrets in this namespace)`,
      );
    if (!s || s === 'NotFound')
      return fail('SecretNotFound', `auth secret "${spec.auth.secretName}" not found`);
    const uk = spec.auth.usernameKey ?? 'username';
    const pk = spec.auth.passwordKey ?? 'password';
    const u = s.data[uk];
    const p = s.data[pk];
    if (!u || u.length === 0)
      return fail('SecretKeyMissing', `auth secret "${spec.auth.secretName}" has no key "${uk}"`);
    if (!p) return fail('SecretKeyMissing', `auth secret "${spec.auth.secretName}" has no key "${pk}"`);
    conn.auth = { username: u.toString('utf8').trim(), password: p.toString('utf8') };
    keyParts.push(['auth', s.resourceVersion]);
  }
  const plan = maintenancePlan(spec, secrets);
  let thresholds: Thresholds;
  try {
    thresholds = resolveThresholds(spec.thresholds);
  } catch (e) {
    if (e instanceof ThresholdError) return fail('InvalidThresholds', e.message);
    throw e;
  }
  return {
    ok: true,
    spec: {
      endpoints,
      intervalMs,
      timeoutMs,
      conn,
      metrics: spec.metrics?.enabled !== false,
      metricsUrls: urls.length ? urls : undefined,
      writeProbe: spec.probes?.writeLatency === true,
      thresholds,
      backupConfigured: spec.backup !== undefined,
      paused: spec.paused === true,
      connectionKey: JSON.stringify(keyParts),
      ...(plan && 'problem' in plan
        ? { maintenanceProblem: plan.problem }
        : plan
          ? { maintenance: plan }
          : {}),
    },
  };
}

/** verify.restoreImage when unset (the CRD's default): the etcd image kubeadm v1.34 runs, with etcdutl. */
export const DEFAULT_RESTORE_IMAGE = 'registry.k8s.io/etcd:3.6.5-0';

function scheduleProblem(field: string, text: string): ConfigProblem | undefined {
  try {
    parseSchedule(text);
    return undefined;
  } catch (e) {
    return { reason: 'InvalidSchedule', message: `${field}: ${(e as Error).message}` };
  }
}

/** spec.backup and spec.maintenance checked (schedules, destination, S3 Secret); undefined when neither is set. */
export function maintenancePlan(
  spec: EtcdMonitorSpec,
  secrets: SecretsForSpec,
): MaintenancePlan | { problem: ConfigProblem } | undefined {
  const b = spec.backup;
  const d = spec.maintenance?.defragmentation;
  if (!b && !d) return undefined;
  const plan: MaintenancePlan = { key: '' };
  if (b) {
    const sp = scheduleProblem('backup.schedule', b.schedule ?? '');
    if (sp) return { problem: sp };
    let maxAgeMs: number | undefined;
    if (b.retention?.maxAge !== undefined) {
      try {
        maxAgeMs = parseDuration(b.retention.maxAge);
      } catch (e) {
        return {
          problem: { reason: 'InvalidDuration', message: `backup.retention.maxAge: ${(e as Error).message}` },
        };
      }
    }
    const local = b.destination?.local;
    const s3 = b.destination?.s3;
    if (Boolean(local) === Boolean(s3))
      return {
        problem: {
          reason: 'InvalidBackupDestination',
          message: 'backup.destination needs exactly one of local or s3',
        },
      };
    let destination: BackupDestination;
    if (local) {
      if (!local.path?.startsWith('/'))
        return {
          problem: {
            reason: 'InvalidBackupDestination',
            message: `backup.destination.local.path must be an absolute path (a mounted volume), got "${local.path ?? ''}"`,
          },
        };
      destination = { kind: 'local', path: local.path };
    } else {
      const sec = secrets.backupS3;
      const name = s3!.secretName;
      if (sec === 'Forbidden')
        return {
          problem: {
            reason: 'SecretForbidden',
            message: `not allowed to read backup S3 secret "${name}" (grant the operator get on secrets in this namespace)`,
          },
        };
      if (!sec || sec === 'NotFound')
        return { problem: { reason: 'SecretNotFound', message: `backup S3 secret "${name}" not found` } };
      const idKey = s3!.accessKeyIdKey ?? 'accessKeyId';
      const secretKey = s3!.secretAccessKeyKey ?? 'secretAccessKey';
      const id = sec.data[idKey]?.toString('utf8').trim();
      const secret = sec.data[secretKey]?.toString('utf8').trim();
      if (!id)
        return {
          problem: {
            reason: 'SecretKeyMissing',
            message: `backup S3 secret "${name}" has no key "${idKey}"`,
          },
        };
      if (!secret)
        return {
          problem: {
            reason: 'SecretKeyMissing',
            message: `backup S3 secret "${name}" has no key "${secretKey}"`,
          },
        };
      destination = {
        kind: 's3',
        endpoint: s3!.endpoint,
        bucket: s3!.bucket,
        prefix: s3!.prefix,
        region: s3!.region,
        forcePathStyle: s3!.forcePathStyle ?? true,
        secretName: name,
        credentials: { accessKeyId: id, secretAccessKey: secret },
      };
    }
    plan.backup = {
      schedule: b.schedule,
      member: b.member ?? 'follower',
      keep: b.retention?.keep,
      maxAgeMs,
      destination,
      restoreTest: b.verify?.restoreTest === true,
      ...(b.verify?.restoreTest === true
        ? { restoreImage: b.verify.restoreImage || DEFAULT_RESTORE_IMAGE }
        : {}),
    };
  }
  if (d) {
    const sp = scheduleProblem('maintenance.defragmentation.schedule', d.schedule ?? '');
    if (sp) return { problem: sp };
    plan.defragmentation = {
      schedule: d.schedule,
      minFragmentationPercent: d.minFragmentationPercent ?? 50,
      minReclaimableBytes: d.minReclaimableBytes ?? 104_857_600,
      disarmNoSpace: d.disarmNoSpaceAlarm === true,
    };
  }
  const keyed = {
    ...plan,
    backup: plan.backup && {
      ...plan.backup,
      destination:
        plan.backup.destination.kind === 's3'
          ? { ...plan.backup.destination, credentials: undefined }
          : plan.backup.destination,
    },
  };
  plan.key = JSON.stringify(keyed);
  return plan;
}
