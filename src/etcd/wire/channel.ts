/**
 * gRPC unary calls to one etcd member over session.ts's hand-framed HTTP/2 connection: the transport
 * of the probe (../wireClient.ts) and of the load benchmark (benchmark/kvWire.ts). Same contract as
 * grpc.ts's MemberClient: every call has a deadline and is issued exactly once; failures are
 * EtcdCallErrors with the gRPC code name. With credentials a token comes first, and an expired one is
 * renewed once (a protocol step, not a retry). A failed connection fails the calls on it with
 * UNAVAILABLE, and new calls fail fast (no dialling) during a backoff of 0.2–2 s, as a grpc-js channel
 * in TRANSIENT_FAILURE does.
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { checkServerIdentity, type ConnectionOptions as TlsOptions, type PeerCertificate } from 'node:tls';
import { EtcdCallError, grpcCodeName } from '../callError.js';
import type { Endpoint } from '../endpoints.js';
import type { CallTiming, ConnectionOptions } from '../grpc.js';
import type { StallMeter } from '../loopLag.js';
import { Code, type CallFailure } from './frames.js';
import { encodeHeaders } from './hpack.js';
import { encodeMessage, readField } from './proto.js';
import { H2Session, type SessionTarget } from './session.js';

/** One RPC of etcd's API: its path, its name in errors ("kv.range"), and its last header block. */
export interface Method {
  readonly path: string;
  readonly what: string;
  cache: { timeoutMs: number; token: string | undefined; block: Buffer } | undefined;
}

export function method(service: string, name: string): Method {
  return {
    path: `/etcdserverpb.${service}/${name}`,
    what: `${service === 'KV' ? 'kv' : service.toLowerCase()}.${name[0]!.toLowerCase()}${name.slice(1)}`,
    cache: undefined,
  };
}

/** Where a timed call writes how long its own RPC took (see CallTiming). */
export interface TimingSink {
  out?: CallTiming;
  stall?: StallMeter;
}

export class WireChannel {
  private readonly target: SessionTarget;
  private readonly authority: string;
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
    session: Pick<SessionTarget, 'keepaliveTimeoutMs'> = {},
  ) {
    const t = options.tls;
    this.authority = (endpoint.scheme === 'https' && t?.serverName) || endpoint.authority;
    // The name the certificate must carry; sent as SNI only when it is a host name (RFC 6066 has no
    // SNI for addresses), checked either way.
    const name = t?.serverName ?? endpoint.host;
    const secure: TlsOptions | undefined =
      endpoint.scheme === 'https'
        ? {
            ca: t?.ca,
            cert: t?.cert,
            key: t?.key,
            servername: net.isIP(name) ? undefined : name,
            ...(t?.insecureSkipVerify
              ? { rejectUnauthorized: false, checkServerIdentity: () => undefined }
              : {
                  checkServerIdentity: (_host: string, cert: PeerCertificate) =>
                    checkServerIdentity(name, cert),
                }),
          }
        : undefined;
    this.target = { host: endpoint.host, port: endpoint.port, tls: secure, ...session };
  }

  /** Whether a connection is up (the member's SETTINGS arrived): a call issued now needs no set-up. */
  connected(): boolean {
    return Boolean(this.s?.ready && this.s.usable());
  }

  /**
   * Connect now if not connected: resolves once connected, when the attempt failed (a member that
   * refuses connections; the channel then backs off), or after `timeoutMs`, whichever comes first.
   */
  connect(timeoutMs: number): Promise<void> {
    const s = this.session();
    if (!(s instanceof H2Session) || s.ready) return Promise.resolve();
    return s.whenReady(timeoutMs);
  }

  /** One call: `body` is the gRPC-framed request; resolves to the response message. */
  call(m: Method, body: Buffer, timeoutMs: number, timing?: TimingSink): Promise<Buffer> {
    const deadline = performance.now() + timeoutMs;
    if (!this.options.auth) return this.unary(m, body, deadline, undefined, timing);
    return this.authCall(m, body, deadline, timing);
  }

  close(): void {
    this.shut = true;
    this.s?.close();
    this.s = undefined;
  }

  private async authCall(m: Method, body: Buffer, deadline: number, timing?: TimingSink): Promise<Buffer> {
    try {
      return await this.unary(m, body, deadline, await this.authToken(deadline), timing);
    } catch (e) {
      if (!(e instanceof EtcdCallError && /auth token/.test(e.details) && performance.now() < deadline))
        throw e;
      this.token = undefined;
      return this.unary(m, body, deadline, await this.authToken(deadline), timing);
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

  private unary(
    m: Method,
    body: Buffer,
    deadline: number,
    token: string | undefined,
    timing?: TimingSink,
  ): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const s = this.session();
      if (!(s instanceof H2Session)) return reject(this.failure(m, s));
      const block = this.headerBlock(m, deadline, token);
      if (!timing) {
        s.call(block, body, deadline, (err, msg) => (err ? reject(this.failure(m, err)) : resolve(msg!)));
        return;
      }
      const setup = !s.ready;
      const t0 = timing.stall ? timing.stall.begin() : performance.now();
      s.call(block, body, deadline, (err, msg) => {
        const ms = performance.now() - t0;
        timing.out = { ms, setup, ...(timing.stall ? { stallMs: timing.stall.end(t0) } : {}) };
        if (err) reject(this.failure(m, err));
        else resolve(msg!);
      });
    });
  }

  private failure(m: Method, f: CallFailure): EtcdCallError {
    const code = grpcCodeName(f.code);
    return new EtcdCallError(`${m.what} ${this.endpoint.url}: ${code}: ${f.details}`, code, f.details);
  }

  private headerBlock(m: Method, deadline: number, token: string | undefined): Buffer {
    const timeoutMs = Math.max(1, Math.ceil(deadline - performance.now()));
    const c = m.cache;
    // The timeout is rounded up to whole 10 ms so that one block serves many calls (the deadline itself is exact).
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
