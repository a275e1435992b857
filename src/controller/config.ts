/**
 * From an EtcdMonitor spec and its Secrets to what the monitor needs (pure). Whatever is wrong comes back
 * as a readable reason for ConfigValid=False instead of an exception.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { parseDuration } from '../crd/duration.js';
import type { EtcdMonitorSpec } from '../crd/types.js';
import { parseEndpoints, type Endpoint } from '../etcd/endpoints.js';
import type { ConnectionOptions, TlsMaterial } from '../etcd/grpc.js';
import { DEFAULT_THRESHOLDS, type Thresholds } from '../health/evaluate.js';

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
  paused: boolean;
  /** Changes whenever anything that needs a new connection changes (endpoints, TLS, auth, probes). */
  connectionKey: string;
}

export interface ConfigProblem {
  reason: string;
  message: string;
}

export type ResolveResult = { ok: true; spec: ResolvedSpec } | { ok: false; problem: ConfigProblem };

export interface SecretsForSpec {
  tls?: SecretLookup;
  auth?: SecretLookup;
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
  if (timeoutMs >= intervalMs) return fail('InvalidDuration', `timeout ${spec.timeout} must be shorter than interval ${spec.interval}`);
  const urls = spec.metrics?.urls ?? [];
  if (urls.length > 0 && urls.length !== endpoints.length) return fail('InvalidMetricsURLs', 'metrics.urls needs one URL per endpoint');

  const conn: ConnectionOptions = {};
  const keyParts: unknown[] = [endpoints.map((e) => e.url), timeoutMs, spec.metrics?.enabled !== false, urls, spec.probes?.writeLatency === true];
  if (tlsRef) {
    const s = secrets.tls;
    if (s === 'Forbidden') return fail('SecretForbidden', `not allowed to read TLS secret "${tlsRef.secretName}" (grant the operator get on secrets in this namespace)`);
    if (!s || s === 'NotFound') return fail('SecretNotFound', `TLS secret "${tlsRef.secretName}" not found`);
    const caKey = tlsRef.caKey ?? 'ca.crt';
    const certKey = tlsRef.certKey ?? 'tls.crt';
    const keyKey = tlsRef.keyKey ?? 'tls.key';
    const tls: TlsMaterial = { serverName: tlsRef.serverName || undefined, insecureSkipVerify: tlsRef.insecureSkipVerify === true };
    const ca = s.data[caKey];
    const cert = s.data[certKey];
    const key = s.data[keyKey];
    if (ca) {
      const p = pemProblem(`secret "${tlsRef.secretName}" key "${caKey}"`, ca, 'cert');
      if (p) return fail('InvalidCertificate', p);
      tls.ca = ca;
    } else if (!tls.insecureSkipVerify) {
      return fail('SecretKeyMissing', `TLS secret "${tlsRef.secretName}" has no key "${caKey}" (the CA bundle; or set insecureSkipVerify)`);
    }
    if ((cert === undefined) !== (key === undefined)) {
      return fail('SecretKeyMissing', `TLS secret "${tlsRef.secretName}" must hold both "${certKey}" and "${keyKey}" for a client certificate, or neither`);
    }
    if (cert && key) {
      const pc = pemProblem(`secret "${tlsRef.secretName}" key "${certKey}"`, cert, 'cert');
      if (pc) return fail('InvalidCertificate', pc);
      const pk = pemProblem(`secret "${tlsRef.secretName}" key "${keyKey}"`, key, 'key');
      if (pk) return fail('InvalidCertificate', pk);
      if (!new X509Certificate(cert).checkPrivateKey(createPrivateKey(key))) {
        return fail('InvalidCertificate', `secret "${tlsRef.secretName}": "${keyKey}" is not the private key of "${certKey}"`);
      }
      const notAfter = Date.parse(new X509Certificate(cert).validTo);
      if (Number.isFinite(notAfter) && notAfter < Date.now()) {
        return fail('InvalidCertificate', `secret "${tlsRef.secretName}": client certificate "${certKey}" expired on ${new Date(notAfter).toISOString()}`);
      }
      tls.cert = cert;
      tls.key = key;
    }
    conn.tls = tls;
    keyParts.push(['tls', s.resourceVersion, tls.serverName, tls.insecureSkipVerify]);
  }
  if (spec.auth) {
    const s = secrets.auth;
    if (s === 'Forbidden') return fail('SecretForbidden', `not allowed to read auth secret "${spec.auth.secretName}" (grant the operator get on secrets in this namespace)`);
    if (!s || s === 'NotFound') return fail('SecretNotFound', `auth secret "${spec.auth.secretName}" not found`);
    const uk = spec.auth.usernameKey ?? 'username';
    const pk = spec.auth.passwordKey ?? 'password';
    const u = s.data[uk];
    const p = s.data[pk];
    if (!u || u.length === 0) return fail('SecretKeyMissing', `auth secret "${spec.auth.secretName}" has no key "${uk}"`);
    if (!p) return fail('SecretKeyMissing', `auth secret "${spec.auth.secretName}" has no key "${pk}"`);
    conn.auth = { username: u.toString('utf8').trim(), password: p.toString('utf8') };
    keyParts.push(['auth', s.resourceVersion]);
  }
  const t = spec.thresholds ?? {};
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
      thresholds: {
        ...DEFAULT_THRESHOLDS,
        latencyWarningMs: t.latencyWarningMs ?? DEFAULT_THRESHOLDS.latencyWarningMs,
        dbQuotaWarningPercent: t.dbQuotaWarningPercent ?? DEFAULT_THRESHOLDS.dbQuotaWarningPercent,
        leaderChangesWarningPerHour: t.leaderChangesWarningPerHour ?? DEFAULT_THRESHOLDS.leaderChangesWarningPerHour,
      },
      paused: spec.paused === true,
      connectionKey: JSON.stringify(keyParts),
    },
  };
}
