/**
 * A thin gRPC client for one etcd member. Every call carries a deadline and is issued exactly once:
 * failures are reported to the caller, never retried behind its back.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { Endpoint } from './endpoints.js';
import type { StallMeter } from './loopLag.js';
import { EtcdCallError, grpcCodeName } from './callError.js';
import { prefixEnd } from './keyRange.js';
import { SnapshotStream, type SnapshotHandlers } from './snapshotStream.js';

export interface TlsMaterial {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  serverName?: string;
  insecureSkipVerify?: boolean;
}

export interface Credentials {
  username: string;
  password: string;
}

export interface ConnectionOptions {
  tls?: TlsMaterial;
  auth?: Credentials;
}

/** One member's answer to Maintenance.Status. IDs are hex strings as etcdctl prints them. */
export interface MemberStatusResponse {
  clusterId: string;
  memberId: string;
  leaderId: string;
  version: string;
  dbSizeBytes: number;
  dbSizeInUseBytes: number;
  raftTerm: number;
  raftIndex: number;
  raftAppliedIndex: number;
  isLearner: boolean;
  errors: string[];
  revision: number;
}

export interface MemberListEntry {
  id: string;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
}

/**
 * How long a timed call's own RPC took, and what that time is worth: `setup` when the channel was not
 * connected when it was issued (the time includes TCP/TLS/HTTP2 set-up), `stallMs` how much of it this
 * process's event loop was stalled (when a StallMeter was given).
 */
export interface CallTiming {
  ms: number;
  setup: boolean;
  stallMs?: number;
}

export interface AlarmEntry {
  memberId: string;
  type: 'NOSPACE' | 'CORRUPT';
}

type Callback<T> = (err: grpc.ServiceError | null, res: T) => void;
type UnaryMethod = (req: unknown, md: grpc.Metadata, opts: grpc.CallOptions, cb: Callback<unknown>) => void;
type ServiceClient = grpc.Client & Record<string, UnaryMethod>;
type ServiceCtor = new (
  address: string,
  creds: grpc.ChannelCredentials,
  options?: grpc.ChannelOptions,
) => ServiceClient;

interface EtcdPackage {
  KV: ServiceCtor;
  Maintenance: ServiceCtor;
  Cluster: ServiceCtor;
  Auth: ServiceCtor;
}

let pkgCache: EtcdPackage | undefined;

/** The etcd v3 API as proto-loader reads it from the proto files shipped by the `etcd3` package. */
export function etcdProtoDefinition(): protoLoader.PackageDefinition {
  const require = createRequire(import.meta.url);
  const protoDir = path.join(path.dirname(require.resolve('etcd3/package.json')), 'proto');
  return protoLoader.loadSync(path.join(protoDir, 'rpc.proto'), {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
    includeDirs: [protoDir],
  });
}

/** The etcd v3 API's service clients, loaded once. */
function etcdPackage(): EtcdPackage {
  if (pkgCache) return pkgCache;
  const def = etcdProtoDefinition();
  const loaded = grpc.loadPackageDefinition(def) as unknown as { etcdserverpb: EtcdPackage };
  pkgCache = loaded.etcdserverpb;
  return pkgCache;
}

/** Decimal uint64 string (as proto-loader gives it) → etcd's hex form. */
export function toHexId(v: unknown): string {
  if (v === undefined || v === null || v === '' || v === '0' || v === 0) return '0';
  return BigInt(String(v)).toString(16);
}

function num(v: unknown): number {
  if (v === undefined || v === null || v === '') return 0;
  return Number(v);
}

function wrapError(err: grpc.ServiceError, what: string, endpoint: Endpoint): EtcdCallError {
  const code = grpcCodeName(err.code);
  const details = (err.details || err.message)
    .replace(/\.?\s*Resolution note:\s*$/, '')
    // grpc-js appends load-balancer timings and the peer address to deadline errors; the endpoint is named already.
    .replace(/,LB pick: [\d.]+s/, '')
    .replace(/,remote_addr=\S+/, '')
    .replace(/Last error: Error: /, 'Last error: ');
  return new EtcdCallError(`${what} ${endpoint.url}: ${code}: ${details}`, code, details);
}

/** gRPC channel options tuned for monitoring: reconnect quickly after a member comes back. */
const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.initial_reconnect_backoff_ms': 200,
  'grpc.max_reconnect_backoff_ms': 2000,
  'grpc.keepalive_time_ms': 30_000,
  'grpc.keepalive_timeout_ms': 5_000,
  'grpc.max_receive_message_length': 64 * 1024 * 1024,
  'grpc.enable_retries': 0,
  // No channelz: nobody queries it, and it tracks every call and keeps per-channel trace objects
  // (measurable CPU and memory when one process holds thousands of member channels).
  'grpc.enable_channelz': 0,
};

export function channelCredentials(
  endpoint: Endpoint,
  tls: TlsMaterial | undefined,
): grpc.ChannelCredentials {
  if (endpoint.scheme === 'http') return grpc.credentials.createInsecure();
  const verify: grpc.VerifyOptions = {};
  if (tls?.insecureSkipVerify) {
    verify.rejectUnauthorized = false;
    verify.checkServerIdentity = () => undefined;
  }
  return grpc.credentials.createSsl(tls?.ca ?? null, tls?.key ?? null, tls?.cert ?? null, verify);
}

export class MemberClient {
  private readonly kv: ServiceClient;
  private readonly maintenance: ServiceClient;
  private readonly cluster: ServiceClient;
  private readonly auth: ServiceClient;
  private token: string | undefined;
  private tokenPromise: Promise<string> | undefined;

  constructor(
    readonly endpoint: Endpoint,
    private readonly options: ConnectionOptions = {},
    extraChannelOptions: grpc.ChannelOptions = {},
  ) {
    const pkg = etcdPackage();
    const creds = channelCredentials(endpoint, options.tls);
    const chOpts: grpc.ChannelOptions = { ...CHANNEL_OPTIONS, ...extraChannelOptions };
    if (endpoint.scheme === 'https' && options.tls?.serverName) {
      chOpts['grpc.ssl_target_name_override'] = options.tls.serverName;
      chOpts['grpc.default_authority'] = options.tls.serverName;
    }
    // All four service stubs share one channel (one HTTP/2 connection) to the member.
    this.kv = new pkg.KV(endpoint.authority, creds, chOpts);
    const channelOverride = this.kv.getChannel();
    const shared: grpc.ChannelOptions = { ...chOpts, channelOverride } as grpc.ChannelOptions;
    this.maintenance = new pkg.Maintenance(endpoint.authority, creds, shared);
    this.cluster = new pkg.Cluster(endpoint.authority, creds, shared);
    this.auth = new pkg.Auth(endpoint.authority, creds, shared);
  }

  private rawCall<T>(
    client: ServiceClient,
    method: string,
    req: unknown,
    deadline: Date,
    md: grpc.Metadata,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const fn = client[method];
      if (typeof fn !== 'function') {
        reject(new Error(`etcd client has no method ${method}`));
        return;
      }
      fn.call(client, req, md, { deadline }, (err: grpc.ServiceError | null, res: unknown) => {
        if (err) reject(err);
        else resolve(res as T);
      });
    });
  }

  private async authToken(deadline: Date): Promise<string | undefined> {
    const creds = this.options.auth;
    if (!creds) return undefined;
    if (this.token) return this.token;
    if (!this.tokenPromise) {
      this.tokenPromise = this.rawCall<{ token: string }>(
        this.auth,
        'authenticate',
        { name: creds.username, password: creds.password },
        deadline,
        new grpc.Metadata(),
      )
        .then((r) => {
          this.token = r.token;
          return r.token;
        })
        .finally(() => {
          this.tokenPromise = undefined;
        });
    }
    return this.tokenPromise;
  }

  /** Whether the channel is connected (READY): a call issued now needs no connection set-up. */
  connected(): boolean {
    return this.kv.getChannel().getConnectivityState(false) === grpc.connectivityState.READY;
  }

  /**
   * Connect now if not connected: resolves once connected, after the first failed attempt (a member that
   * refuses connections), or after `timeoutMs` — whichever comes first. A later call reports any error.
   */
  connect(timeoutMs: number): Promise<void> {
    const channel = this.kv.getChannel();
    const deadline = Date.now() + timeoutMs;
    const S = grpc.connectivityState;
    return new Promise((resolve) => {
      const check = (): void => {
        const state = channel.getConnectivityState(true);
        if (
          state === S.READY ||
          state === S.TRANSIENT_FAILURE ||
          state === S.SHUTDOWN ||
          Date.now() >= deadline
        )
          resolve();
        else channel.watchConnectivityState(state, deadline, check);
      };
      check();
    });
  }

  /**
   * One unary call with a deadline. With auth, an expired token is renewed once (a protocol step, not a
   * retry). With `timing`, the duration of the RPC itself (the attempt that answered; never a token fetch)
   * is written there.
   */
  async call<T>(
    service: 'kv' | 'maintenance' | 'cluster',
    method: string,
    req: unknown,
    timeoutMs: number,
    timing?: { out?: CallTiming; stall?: StallMeter },
  ): Promise<T> {
    const deadline = new Date(Date.now() + timeoutMs);
    const client = this[service];
    const what = `${service}.${method}`;
    const attempt = async (): Promise<T> => {
      const md = new grpc.Metadata();
      const token = await this.authToken(deadline);
      if (token) md.set('token', token);
      if (!timing) return this.rawCall<T>(client, method, req, deadline, md);
      const setup = !this.connected();
      const t0 = timing.stall ? timing.stall.begin() : performance.now();
      try {
        return await this.rawCall<T>(client, method, req, deadline, md);
      } finally {
        const ms = performance.now() - t0;
        timing.out = { ms, setup, ...(timing.stall ? { stallMs: timing.stall.end(t0) } : {}) };
      }
    };
    try {
      return await attempt();
    } catch (e) {
      const err = e as grpc.ServiceError;
      if (
        this.options.auth &&
        /invalid auth token|auth token/.test(err.details ?? '') &&
        Date.now() < deadline.getTime()
      ) {
        this.token = undefined;
        try {
          return await attempt();
        } catch (e2) {
          throw wrapError(e2 as grpc.ServiceError, what, this.endpoint);
        }
      }
      if (typeof err.code === 'number') throw wrapError(err, what, this.endpoint);
      throw e;
    }
  }

  async status(timeoutMs: number): Promise<MemberStatusResponse> {
    const r = await this.call<Record<string, unknown> & { header: Record<string, unknown> }>(
      'maintenance',
      'status',
      {},
      timeoutMs,
    );
    return {
      clusterId: toHexId(r.header.cluster_id),
      memberId: toHexId(r.header.member_id),
      leaderId: toHexId(r.leader),
      version: String(r.version ?? ''),
      dbSizeBytes: num(r.dbSize),
      dbSizeInUseBytes: num(r.dbSizeInUse),
      raftTerm: num(r.raftTerm),
      raftIndex: num(r.raftIndex),
      raftAppliedIndex: num(r.raftAppliedIndex),
      isLearner: Boolean(r.isLearner),
      errors: Array.isArray(r.errors) ? r.errors.map(String) : [],
      revision: num(r.header.revision),
    };
  }

  /**
   * The check `etcdctl endpoint health` makes: a linearizable range on a key that need not exist.
   * Permission denied still proves the member served a quorum read, so it counts as healthy.
   * Resolves to the timing of the range RPC itself (see CallTiming).
   */
  async healthRead(timeoutMs: number, stall?: StallMeter): Promise<CallTiming> {
    const timing: { out?: CallTiming; stall?: StallMeter } = { stall };
    try {
      await this.call(
        'kv',
        'range',
        { key: Buffer.from('health'), limit: 1, keys_only: true },
        timeoutMs,
        timing,
      );
    } catch (e) {
      if (!(e instanceof EtcdCallError && /permission denied/i.test(e.details))) throw e;
    }
    return timing.out ?? { ms: 0, setup: true };
  }

  async alarms(timeoutMs: number): Promise<AlarmEntry[]> {
    const r = await this.call<{ alarms: Array<{ memberID: string; alarm: string }> }>(
      'maintenance',
      'alarm',
      { action: 'Get', memberID: '0', alarm: 'None' },
      timeoutMs,
    );
    const out: AlarmEntry[] = [];
    for (const a of r.alarms ?? []) {
      // The proto names the values None/Nospace/Corrupt; etcdctl and we print them upper-case.
      const type = String(a.alarm).toUpperCase();
      if (type === 'NOSPACE' || type === 'CORRUPT') out.push({ memberId: toHexId(a.memberID), type });
    }
    return out;
  }

  /**
   * Maintenance.Defragment: the member rewrites its backend and blocks its reads and writes meanwhile.
   * Opt-in maintenance only (src/maintenance/defrag.ts); the deadline bounds it.
   */
  async defragment(timeoutMs: number): Promise<void> {
    await this.call('maintenance', 'defragment', {}, timeoutMs);
  }

  async memberList(timeoutMs: number): Promise<MemberListEntry[]> {
    const r = await this.call<{ members: Array<Record<string, unknown>> }>(
      'cluster',
      'memberList',
      {},
      timeoutMs,
    );
    return (r.members ?? []).map((m) => ({
      id: toHexId(m.ID),
      name: String(m.name ?? ''),
      peerURLs: Array.isArray(m.peerURLs) ? m.peerURLs.map(String) : [],
      clientURLs: Array.isArray(m.clientURLs) ? m.clientURLs.map(String) : [],
      isLearner: Boolean(m.isLearner),
    }));
  }

  async put(key: Buffer, value: Buffer, timeoutMs: number): Promise<void> {
    await this.call('kv', 'put', { key, value }, timeoutMs);
  }

  /** A put that resolves to the timing of its own RPC (see CallTiming): the write probe. */
  async timedPut(key: Buffer, value: Buffer, timeoutMs: number, stall?: StallMeter): Promise<CallTiming> {
    const timing: { out?: CallTiming; stall?: StallMeter } = { stall };
    await this.call('kv', 'put', { key, value }, timeoutMs, timing);
    return timing.out ?? { ms: 0, setup: true };
  }

  async get(key: Buffer, timeoutMs: number, serializable = false): Promise<Buffer | undefined> {
    const r = await this.call<{ kvs: Array<{ value: Buffer }> }>(
      'kv',
      'range',
      { key, serializable },
      timeoutMs,
    );
    return r.kvs?.[0]?.value;
  }

  /** How many keys the member holds (a count-only range over the whole key space), and at which revision. */
  async countKeys(timeoutMs: number): Promise<{ keys: number; revision: number }> {
    const r = await this.call<{ count: string; header: { revision: string } }>(
      'kv',
      'range',
      { key: Buffer.from([0]), range_end: Buffer.from([0]), count_only: true },
      timeoutMs,
    );
    return { keys: Number(r.count), revision: Number(r.header.revision) };
  }

  /** Delete every key with the given prefix; returns how many were deleted. */
  async deletePrefix(prefix: Buffer, timeoutMs: number): Promise<number> {
    const r = await this.call<{ deleted: string }>(
      'kv',
      'deleteRange',
      { key: prefix, range_end: prefixEnd(prefix) },
      timeoutMs,
    );
    return num(r.deleted);
  }

  /**
   * Maintenance.Snapshot: the member's whole backend as a stream of bytes (etcd appends the SHA-256 of
   * the database as the last 32 bytes), delivered to `handlers` as it arrives. It runs as a plain HTTP/2
   * request on a connection of its own (src/etcd/snapshotStream.ts: no per-message copies), with this
   * client's TLS settings and token. Only the overall deadline is set here: the caller bounds idle time
   * itself and cancels.
   */
  async snapshotStream(overallMs: number, handlers: SnapshotHandlers): Promise<SnapshotStream> {
    const deadline = new Date(Date.now() + overallMs);
    const token = await this.authToken(deadline);
    return new SnapshotStream({ endpoint: this.endpoint, tls: this.options.tls, token, deadline }, handlers);
  }

  /** Wrap a gRPC error the way unary calls do (for stream callers outside this class). */
  describeError(e: unknown, what: string): Error {
    const err = e as grpc.ServiceError;
    return typeof err?.code === 'number' ? wrapError(err, what, this.endpoint) : (e as Error);
  }

  close(): void {
    this.kv.close();
    this.maintenance.close();
    this.cluster.close();
    this.auth.close();
  }
}
