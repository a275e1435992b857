/**
 * What the load tools share (`benchmark` and `check perf`): gRPC connections (each its own TCP
 * connection, endpoints assigned round-robin), the client loops that issue one request at a time,
 * optionally paced by a token bucket and bounded by a count and/or a deadline, and the cleanup of a
 * key prefix through the connection that worked best. Every request has a deadline and is issued
 * once: a failure is reported with its gRPC code, never retried.
 */
import { getMaxListeners, setMaxListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { Endpoint } from '../etcd/endpoints.js';
import { EtcdCallError } from '../etcd/callError.js';
import { MemberClient, type ConnectionOptions } from '../etcd/grpc.js';
import { prefixEnd } from '../etcd/keyRange.js';
import { KvChannel } from './kvWire.js';
import type { TokenBucket } from './rateLimiter.js';
import type { LatencyRecorder } from './stats.js';

export interface BenchmarkTarget {
  endpoints: Endpoint[];
  conn: ConnectionOptions;
}

/** No endpoint answered, or the run cannot start; the command prints it and exits 1. */
export class BenchmarkError extends Error {}

/** The channel options that give every benchmark connection its own TCP connection. */
function connectionChannelOptions(index: number): Record<string, string | number> {
  return {
    // grpc-js shares subchannels (TCP connections) between channels with the same target and
    // options through a global pool; a private pool per channel plus a distinguishing option
    // forces one connection per channel, as etcd's benchmark gets one per client.Client.
    'grpc.use_local_subchannel_pool': 1,
    'etcd-monitor.benchmark_connection': index,
  };
}

export function errorCode(e: unknown): { code: string; message: string } {
  if (e instanceof EtcdCallError) return { code: e.code, message: e.details };
  return { code: 'UNKNOWN', message: (e as Error)?.message ?? String(e) };
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * One benchmark connection. Puts, ranges, health reads and the cleanup go through `kv` (kvWire.ts: its own
 * TCP connection, ~8× less client CPU per request than grpc-js); `client`, a grpc-js MemberClient for
 * anything else (compaction, defragmentation), is created — and connects — only when first used.
 */
export interface Conn {
  kv: KvChannel;
  readonly client: MemberClient;
  endpoint: Endpoint;
  ok: number;
  failed: number;
  close(): void;
}

/** `count` connections, endpoint k % n for connection k (nothing is dialled yet). */
export function openConns(target: BenchmarkTarget, count: number): Conn[] {
  if (target.endpoints.length === 0) throw new BenchmarkError('no endpoints');
  const conns: Conn[] = [];
  for (let k = 0; k < count; k++) {
    const endpoint = target.endpoints[k % target.endpoints.length]!;
    let member: MemberClient | undefined;
    const kv = new KvChannel(endpoint, target.conn);
    conns.push({
      kv,
      get client(): MemberClient {
        return (member ??= new MemberClient(endpoint, target.conn, connectionChannelOptions(k)));
      },
      endpoint,
      ok: 0,
      failed: 0,
      close(): void {
        kv.close();
        member?.close();
      },
    });
  }
  return conns;
}

export interface ConnReadiness {
  endpoint: string;
  ok: boolean;
  error?: string;
}

/**
 * Open every connection (untimed) with a health read each, so a timed phase measures requests, not
 * handshakes. Throws BenchmarkError when none answers; warns once per failing endpoint otherwise.
 */
export async function connectAll(
  conns: Conn[],
  timeoutMs: number,
  warn: (m: string) => void,
): Promise<ConnReadiness[]> {
  const ready = await Promise.all(
    conns.map(async (c): Promise<ConnReadiness> => {
      try {
        await c.kv.healthRead(timeoutMs);
        return { endpoint: c.endpoint.url, ok: true };
      } catch (e) {
        const { code, message } = errorCode(e);
        return { endpoint: c.endpoint.url, ok: false, error: `${code}: ${message}` };
      }
    }),
  );
  const bad = ready.filter((r) => !r.ok);
  if (bad.length === ready.length) {
    throw new BenchmarkError(
      `no endpoint answered: ${[...new Set(bad.map((b) => `${b.endpoint}: ${b.error}`))].join('; ')}`,
    );
  }
  for (const b of new Set(bad.map((b) => `${b.endpoint}: ${b.error}`)))
    warn(`connection to ${b} (its requests will be counted as failures)`);
  return ready;
}

export interface DriveOptions {
  /** Operations in total (Infinity: until the deadline). */
  count: number;
  clients: number;
  conns: Conn[];
  limiter?: TokenBucket;
  signal?: AbortSignal;
  /** performance.now() after which no request is issued (one waiting for a token past it is not). */
  untilMs?: number;
}

/**
 * Run up to `count` operations with `clients` concurrent loops (client c uses connection c % conns).
 * `op(i, conn)` performs operation i; `done(i, ms | undefined, error)` is told how it went. Resolves
 * when every loop is done: requests in flight at the deadline or on abort finish first.
 */
export async function drive(
  o: DriveOptions,
  op: (i: number, conn: Conn) => Promise<unknown>,
  done: (i: number, ms: number | undefined, err?: unknown) => void,
): Promise<void> {
  const { count, conns, limiter, signal, untilMs } = o;
  // Every client waiting for a token listens for the abort: one listener each, not a leak.
  if (signal && getMaxListeners(signal) < o.clients + 10) setMaxListeners(o.clients + 10, signal);
  let next = 0;
  const loop = async (clientIndex: number): Promise<void> => {
    const conn = conns[clientIndex % conns.length]!;
    for (;;) {
      if (signal?.aborted) return;
      if (untilMs !== undefined && performance.now() >= untilMs) return;
      const i = next++;
      if (i >= count) return;
      if (limiter) {
        const now = performance.now();
        const wait = limiter.reserve(now);
        // As golang.org/x/time/rate's Wait: a token that would come after the deadline is not waited for.
        if (untilMs !== undefined && now + wait > untilMs) return;
        if (wait > 0) {
          await sleep(wait, signal);
          if (signal?.aborted) return;
          if (untilMs !== undefined && performance.now() >= untilMs) return; // a timer that fired late
        }
      }
      const t0 = performance.now();
      try {
        await op(i, conn);
        conn.ok++;
        done(i, performance.now() - t0);
      } catch (e) {
        conn.failed++;
        done(i, undefined, e);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.clients, count) }, (_, c) => loop(c)));
}

/** gRPC codes after which a write may or may not have been applied. */
const UNSURE_CODES = ['DEADLINE_EXCEEDED', 'UNAVAILABLE', 'CANCELLED', 'UNKNOWN'];

export function countUnsure(r: LatencyRecorder): number {
  return UNSURE_CODES.reduce((n, c) => n + (r.errors.get(c) ?? 0), 0);
}

export interface PrefixCleanup {
  ok: boolean;
  deleted: number;
  error?: string;
  note?: string;
}

/** deleteRange over the prefix, trying one connection per endpoint, healthiest first. */
async function removePrefix(
  conns: Conn[],
  prefix: Buffer,
  timeoutMs: number,
  warn: (m: string) => void,
): Promise<PrefixCleanup & { revision?: number }> {
  const order = [...conns].sort((a, b) => a.failed - b.failed || b.ok - a.ok);
  const tried = new Set<string>();
  const errors: string[] = [];
  for (const c of order) {
    if (tried.has(c.endpoint.url)) continue;
    tried.add(c.endpoint.url);
    try {
      const r = await c.kv.deleteRange(prefix, prefixEnd(prefix), timeoutMs);
      return { ok: true, ...r };
    } catch (e) {
      const { code, message } = errorCode(e);
      errors.push(`${c.endpoint.url}: ${code}: ${message}`);
      warn(`cleanup through ${c.endpoint.url} failed (${code}); trying another endpoint`);
    }
  }
  return { ok: false, deleted: 0, error: errors.join('; ') };
}

/**
 * Delete every key under `prefix`. A put that timed out has an unknown outcome: etcd may still apply
 * it. With `unsure` such puts, sweep once more after a short pause to catch stragglers, and say so in
 * the note (a member that stays frozen can apply them later still). `revision` is the cluster
 * revision after the last successful delete (for a compaction).
 */
export async function cleanUpPrefix(
  conns: Conn[],
  prefix: string,
  timeoutMs: number,
  unsure: number,
  warn: (m: string) => void,
): Promise<{ cleanup: PrefixCleanup; revision?: number }> {
  const prefixBuf = Buffer.from(prefix, 'latin1');
  const deadline = Math.max(timeoutMs, 5000);
  const { revision, ...first } = await removePrefix(conns, prefixBuf, deadline, warn);
  if (!first.ok || unsure === 0) return { cleanup: first, revision };
  await sleep(Math.min(timeoutMs, 1000));
  const { revision: rev2, ...again } = await removePrefix(conns, prefixBuf, deadline, warn);
  const cleanup: PrefixCleanup = again.ok ? { ok: true, deleted: first.deleted + again.deleted } : again;
  cleanup.note =
    `${unsure} put(s) ended with an unknown outcome (${UNSURE_CODES.join('/')}); etcd may still apply them after this run, ` +
    `e.g. when an unreachable member comes back. If keys show up later: etcdctl del --prefix ${prefix}`;
  return { cleanup, revision: again.ok ? rev2 : revision };
}
