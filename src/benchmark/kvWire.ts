/**
 * The benchmark's KV client for one member: Put, Range and DeleteRange (and Auth.Authenticate for a
 * token) as gRPC unary calls over h2session.ts, with the protobuf messages encoded and read by hand
 * (only the fields used). Same contract as MemberClient's calls: every call has a deadline and is
 * issued once; failures are EtcdCallErrors with the gRPC code name. A failed connection fails the
 * calls on it with UNAVAILABLE, and new calls fail fast (no dialling) during a backoff of 0.2–2 s,
 * as a grpc-js channel in TRANSIENT_FAILURE does.
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import type tls from 'node:tls';
import type { Endpoint } from '../etcd/endpoints.js';
import { EtcdCallError, grpcCodeName, type ConnectionOptions } from '../etcd/grpc.js';
import { encodeHeaders } from './hpack.js';
import { Code, type CallFailure } from './h2frames.js';
import { H2Session, type SessionTarget } from './h2session.js';
import { encodeMessage, readField } from './protoWire.js';

interface Method {
  path: string;
  what: string;
  cache: { timeoutMs: number; token: string | undefined; block: Buffer } | undefined;
}

const method = (service: string, name: string): Method => ({
  path: `/etcdserverpb.${service}/${name}`,
  what: `${service === 'KV' ? 'kv' : service.toLowerCase()}.${name[0]!.toLowerCase()}${name.slice(1)}`,
  cache: undefined,
});

export class KvChannel {
  private readonly target: SessionTarget;
  private readonly authority: string;
  private readonly put_ = method('KV', 'Put');
  private readonly range_ = method('KV', 'Range');
  private readonly deleteRange_ = method('KV', 'DeleteRange');
  private readonly authenticate_ = method('Auth', 'Authenticate');
  private s: H2Session | undefined;
  private retryAt = 0;
  private backoffMs = 0;
  private lastError = '';
  private shut = false;
  private token: string | undefined;
  private tokenPromise: Promise<string> | undefined;

  constructor(
    readonly endpoint: Endpoint,
    private readonly options: ConnectionOptions = {},
  ) {
    const t = options.tls;
    this.authority = (endpoint.scheme === 'https' && t?.serverName) || endpoint.authority;
    const secure: tls.ConnectionOptions | undefined =
      endpoint.scheme === 'https'
        ? {
            ca: t?.ca,
            cert: t?.cert,
            key: t?.key,
            servername: t?.serverName ?? (net.isIP(endpoint.host) ? undefined : endpoint.host),
            ...(t?.insecureSkipVerify
              ? { rejectUnauthorized: false, checkServerIdentity: () => undefined }
              : {}),
          }
        : undefined;
    this.target = { host: endpoint.host, port: endpoint.port, tls: secure };
  }

  /** Whether a connection is up (the member's SETTINGS arrived). */
  connected(): boolean {
    return Boolean(this.s?.ready && this.s.usable());
  }

  put(key: Buffer, value: Buffer, timeoutMs: number): Promise<unknown> {
    return this.call(this.put_, encodeMessage([key, value]), timeoutMs);
  }

  /** A range of one key; resolves to its value (undefined when there is no such key). */
  async get(key: Buffer, timeoutMs: number, serializable = false): Promise<Buffer | undefined> {
    const r = await this.call(
      this.range_,
      encodeMessage([key, undefined, 0, 0, 0, 0, serializable]),
      timeoutMs,
    );
    const kv = readField(r, 2);
    return typeof kv === 'object' ? (readField(kv, 5) as Buffer | undefined) : undefined;
  }

  /** How many keys a range returns (`limit`, keys only). */
  async count(key: Buffer, rangeEnd: Buffer | undefined, limit: number, timeoutMs: number): Promise<number> {
    const r = await this.call(
      this.range_,
      encodeMessage([key, rangeEnd, limit, 0, 0, 0, false, true]),
      timeoutMs,
    );
    return readField(r, 2, true) as number;
  }

  /** The check `etcdctl endpoint health` makes (MemberClient.healthRead): permission denied counts as healthy. */
  async healthRead(timeoutMs: number): Promise<void> {
    try {
      await this.count(Buffer.from('health'), undefined, 1, timeoutMs);
    } catch (e) {
      if (!(e instanceof EtcdCallError && /permission denied/i.test(e.details))) throw e;
    }
  }

  async deleteRange(
    key: Buffer,
    rangeEnd: Buffer,
    timeoutMs: number,
  ): Promise<{ deleted: number; revision: number }> {
    const r = await this.call(this.deleteRange_, encodeMessage([key, rangeEnd]), timeoutMs);
    const header = readField(r, 1);
    return {
      deleted: Number(readField(r, 2) ?? 0),
      revision: typeof header === 'object' ? Number(readField(header, 3) ?? 0) : 0,
    };
  }

  close(): void {
    this.shut = true;
    this.s?.close();
    this.s = undefined;
  }

  /** One call; with auth, a token first and an expired one renewed once (a protocol step, not a retry). */
  private call(m: Method, body: Buffer, timeoutMs: number): Promise<Buffer> {
    if (!this.options.auth) return this.unary(m, body, performance.now() + timeoutMs, undefined);
    return this.authCall(m, body, performance.now() + timeoutMs);
  }

  private async authCall(m: Method, body: Buffer, deadline: number): Promise<Buffer> {
    try {
      return await this.unary(m, body, deadline, await this.authToken(deadline));
    } catch (e) {
      if (!(e instanceof EtcdCallError && /auth token/.test(e.details) && performance.now() < deadline))
        throw e;
      this.token = undefined;
      return this.unary(m, body, deadline, await this.authToken(deadline));
    }
  }

  private authToken(deadline: number): Promise<string> {
    if (this.token) return Promise.resolve(this.token);
    const { username, password } = this.options.auth!;
    this.tokenPromise ??= this.unary(
      this.authenticate_,
      encodeMessage([Buffer.from(username), Buffer.from(password)]),
      deadline,
      undefined,
    )
      .then((r) => {
        const t = readField(r, 2);
        this.token = typeof t === 'object' ? t.toString() : '';
        return this.token;
      })
      .finally(() => (this.tokenPromise = undefined));
    return this.tokenPromise;
  }

  private unary(m: Method, body: Buffer, deadline: number, token: string | undefined): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const s = this.session();
      if (!(s instanceof H2Session)) return reject(this.failure(m, s));
      s.call(this.headerBlock(m, deadline, token), body, deadline, (err, msg) =>
        err ? reject(this.failure(m, err)) : resolve(msg!),
      );
    });
  }

  private failure(m: Method, f: CallFailure): EtcdCallError {
    const code = grpcCodeName(f.code);
    return new EtcdCallError(`${m.what} ${this.endpoint.url}: ${code}: ${f.details}`, code, f.details);
  }

  private headerBlock(m: Method, deadline: number, token: string | undefined): Buffer {
    const timeoutMs = Math.max(1, Math.ceil(deadline - performance.now()));
    const c = m.cache;
    // The timeout is rounded up to whole 10 ms so that one block serves a run (the deadline itself is exact).
    const t = Math.ceil(timeoutMs / 10) * 10;
    if (c && c.timeoutMs === t && c.token === token) return c.block;
    const headers: Array<[string, string]> = [
      [':method', 'POST'],
      [':scheme', this.endpoint.scheme],
      [':path', m.path],
      [':authority', this.authority],
      ['content-type', 'application/grpc'],
      ['te', 'trailers'],
      ['grpc-timeout', `${t}m`],
    ];
    if (token) headers.push(['token', token]);
    m.cache = { timeoutMs: t, token, block: encodeHeaders(headers) };
    return m.cache.block;
  }

  /** The connection to use, or why none can be used now. */
  private session(): H2Session | CallFailure {
    if (this.shut) return { code: Code.CANCELLED, details: 'Channel has been shut down' };
    if (this.s?.usable()) return this.s;
    const now = performance.now();
    if (now < this.retryAt) return { code: Code.UNAVAILABLE, details: this.lastError };
    const s = new H2Session(this.target, (ended, error) => {
      if (this.s === ended) this.s = undefined;
      if (error === undefined) {
        this.backoffMs = 0;
        return;
      }
      this.backoffMs = Math.min(2000, this.backoffMs * 2 || 200);
      this.retryAt = performance.now() + this.backoffMs;
      this.lastError = error;
    });
    this.s = s;
    return s;
  }
}
