/**
 * The load generator, modelled on etcd's tools/benchmark: `conns` gRPC connections (each its own
 * TCP connection, endpoints assigned round-robin), `clients` concurrent clients sharing them
 * round-robin, each issuing one request at a time from a shared queue of `ops` requests, optionally
 * paced by a token bucket. Every request has a deadline and is issued once: a failure is recorded
 * with its gRPC code, never retried or hidden. Keys live under a fresh prefix that is deleted at
 * the end — also when the run fails or is interrupted.
 */
import { performance } from 'node:perf_hooks';
import type { Endpoint } from '../etcd/endpoints.js';
import { EtcdCallError, MemberClient, type ConnectionOptions } from '../etcd/grpc.js';
import { formatKey, isRead, keyIndex, makeValue, runPrefix, seededRng, type Rng } from './keys.js';
import type { BenchmarkOptions } from './options.js';
import { NO_PROGRESS, type ProgressSink } from './progress.js';
import { TokenBucket } from './rateLimiter.js';
import { buildReport, type BenchmarkReport } from './report.js';
import { LatencyRecorder } from './stats.js';

export interface BenchmarkTarget {
  endpoints: Endpoint[];
  conn: ConnectionOptions;
}

export interface BenchmarkHooks {
  /** Abort: stop issuing requests, let in-flight ones finish (bounded by their deadline), clean up. */
  signal?: AbortSignal;
  progress?: ProgressSink;
  /** Called once every connection has been tried, before any key is written (tests inspect sockets here). */
  onReady?: (info: {
    prefix: string;
    connections: Array<{ endpoint: string; ok: boolean; error?: string }>;
  }) => Promise<void> | void;
  /** Notes for the operator (connection failures, cleanup retries). */
  warn?: (message: string) => void;
}

export class BenchmarkError extends Error {}

/** The channel options that give every benchmark connection its own TCP connection. */
export function connectionChannelOptions(index: number): Record<string, string | number> {
  return {
    // grpc-js shares subchannels (TCP connections) between channels with the same target and
    // options through a global pool; a private pool per channel plus a distinguishing option
    // forces one connection per channel, as etcd's benchmark gets one per client.Client.
    'grpc.use_local_subchannel_pool': 1,
    'etcd-monitor.benchmark_connection': index,
  };
}

function errorCode(e: unknown): { code: string; message: string } {
  if (e instanceof EtcdCallError) return { code: e.code, message: e.details };
  return { code: 'UNKNOWN', message: (e as Error)?.message ?? String(e) };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
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

interface Conn {
  client: MemberClient;
  endpoint: Endpoint;
  ok: number;
  failed: number;
}

/**
 * Run `count` operations with `clients` concurrent loops. `op(i, conn)` performs operation i;
 * `record(i, ms | error)` is told how it went. Resolves when every loop is done.
 */
async function drive(
  count: number,
  clients: number,
  conns: Conn[],
  limiter: TokenBucket | undefined,
  signal: AbortSignal | undefined,
  op: (i: number, conn: Conn) => Promise<unknown>,
  done: (i: number, ms: number | undefined, err?: unknown) => void,
): Promise<void> {
  let next = 0;
  const loop = async (clientIndex: number): Promise<void> => {
    const conn = conns[clientIndex % conns.length]!;
    for (;;) {
      if (signal?.aborted) return;
      const i = next++;
      if (i >= count) return;
      if (limiter) {
        const wait = limiter.reserve(performance.now());
        if (wait > 0) {
          await sleep(wait, signal);
          if (signal?.aborted) return;
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
  await Promise.all(Array.from({ length: Math.min(clients, count) }, (_, c) => loop(c)));
}

/** Run one benchmark against a cluster and return its report. Throws BenchmarkError when no endpoint answers at all. */
export async function runBenchmark(
  opts: BenchmarkOptions,
  target: BenchmarkTarget,
  hooks: BenchmarkHooks = {},
): Promise<BenchmarkReport> {
  if (target.endpoints.length === 0) throw new BenchmarkError('no endpoints');
  const rng: Rng = opts.seed !== undefined ? seededRng(opts.seed) : Math.random;
  const progress = hooks.progress ?? NO_PROGRESS;
  const signal = hooks.signal;
  const warn = hooks.warn ?? (() => {});
  const prefix = runPrefix(
    opts.prefixBase,
    opts.seed !== undefined ? seededRng(opts.seed ^ 0x5bd1e995) : Math.random,
  );
  const value = makeValue(opts.valueSize, rng);
  const keyOf = (index: number): Buffer => Buffer.from(formatKey(prefix, index, opts.keySize), 'latin1');
  const serializable = opts.consistency === 's';
  const newLimiter = (): TokenBucket | undefined =>
    opts.rate > 0 ? new TokenBucket(opts.rate, 1, performance.now()) : undefined;

  const conns: Conn[] = [];
  for (let k = 0; k < opts.conns; k++) {
    const endpoint = target.endpoints[k % target.endpoints.length]!;
    conns.push({
      client: new MemberClient(endpoint, target.conn, connectionChannelOptions(k)),
      endpoint,
      ok: 0,
      failed: 0,
    });
  }
  const startedAt = new Date();
  const all = new LatencyRecorder(opts.ops);
  const byOperation = { put: new LatencyRecorder(), range: new LatencyRecorder() };
  let prepopulate: BenchmarkReport['prepopulate'] = null;
  let durationMs = 0;
  let wrote = false;
  let cleanup: BenchmarkReport['cleanup'] = { ok: true, deleted: 0 };
  let unsurePrepopulate = 0;
  try {
    // 1. Open every connection (untimed): a health read each, so the timed phase measures requests, not handshakes.
    const ready = await Promise.all(
      conns.map(async (c) => {
        try {
          await c.client.healthRead(opts.timeoutMs);
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
    await hooks.onReady?.({ prefix, connections: ready });

    // 2. Reads need data: write the key space first (untimed, but paced by --rate like everything else).
    if (opts.prepopulate && opts.type !== 'write' && !signal?.aborted) {
      const rec = new LatencyRecorder(opts.keySpaceSize);
      progress.begin('populating', opts.keySpaceSize);
      wrote = true;
      const t0 = performance.now();
      await drive(
        opts.keySpaceSize,
        opts.clients,
        conns,
        newLimiter(),
        signal,
        (i, c) => c.client.put(keyOf(i), value, opts.timeoutMs),
        (_i, ms, err) => {
          if (ms !== undefined) rec.ok(ms);
          else rec.fail(errorCode(err).code);
          progress.update(rec.total, rec.failed);
        },
      );
      progress.end();
      prepopulate = {
        keys: rec.total,
        failed: rec.failed,
        durationSeconds: Math.round(performance.now() - t0) / 1000,
      };
      unsurePrepopulate = countUnsure(rec);
      if (rec.failed > 0)
        warn(
          `prepopulating: ${rec.failed} of ${rec.total} puts failed (${[...rec.errors.keys()].join(', ')}); reads of those keys find nothing`,
        );
    }

    // 3. The timed phase.
    if (!signal?.aborted) {
      progress.begin(opts.type, opts.ops);
      if (opts.type !== 'read') wrote = true;
      const t0 = performance.now();
      await drive(
        opts.ops,
        opts.clients,
        conns,
        newLimiter(),
        signal,
        (i, c) => {
          const key = keyOf(keyIndex(i, opts.keySpaceSize, opts.sequentialKeys, rng));
          return isRead(i, opts.readRatio)
            ? c.client.get(key, opts.timeoutMs, serializable)
            : c.client.put(key, value, opts.timeoutMs);
        },
        (i, ms, err) => {
          const kind = isRead(i, opts.readRatio) ? byOperation.range : byOperation.put;
          if (ms !== undefined) {
            all.ok(ms);
            kind.ok(ms);
          } else {
            const { code, message } = errorCode(err);
            all.fail(code, message);
            kind.fail(code, message);
          }
          progress.update(all.total, all.failed);
        },
      );
      durationMs = performance.now() - t0;
      progress.end();
    }
  } finally {
    progress.end();
    // 4. Remove every key of this run, through the connection that worked best.
    if (wrote) {
      const prefixBuf = Buffer.from(prefix, 'latin1');
      cleanup = await removePrefix(conns, prefixBuf, Math.max(opts.timeoutMs, 5000), warn);
      // A put that timed out has an unknown outcome: etcd may still apply it. Sweep once more after
      // a short pause to catch stragglers, and say so in the report (a member that stays frozen can
      // apply them later still).
      const unsure = countUnsure(byOperation.put) + unsurePrepopulate;
      if (cleanup.ok && unsure > 0) {
        await sleep(Math.min(opts.timeoutMs, 1000));
        const again = await removePrefix(conns, prefixBuf, Math.max(opts.timeoutMs, 5000), warn);
        cleanup = again.ok ? { ok: true, deleted: cleanup.deleted + again.deleted } : again;
        cleanup.note =
          `${unsure} put(s) ended with an unknown outcome (${UNSURE_CODES.join('/')}); etcd may still apply them after this run, ` +
          `e.g. when an unreachable member comes back. If keys show up later: etcdctl del --prefix ${prefix}`;
      }
    }
    for (const c of conns) c.client.close();
  }
  return buildReport({
    options: opts,
    endpoints: target.endpoints.map((e) => e.url),
    prefix,
    startedAt,
    durationMs,
    all,
    byOperation,
    prepopulate,
    cleanup,
    interrupted: Boolean(signal?.aborted) && all.total < opts.ops,
  });
}

/** gRPC codes after which a write may or may not have been applied. */
const UNSURE_CODES = ['DEADLINE_EXCEEDED', 'UNAVAILABLE', 'CANCELLED', 'UNKNOWN'];

function countUnsure(r: LatencyRecorder): number {
  return UNSURE_CODES.reduce((n, c) => n + (r.errors.get(c) ?? 0), 0);
}

/** deleteRange over the prefix, trying one connection per endpoint, healthiest first. */
async function removePrefix(
  conns: Conn[],
  prefix: Buffer,
  timeoutMs: number,
  warn: (m: string) => void,
): Promise<BenchmarkReport['cleanup']> {
  const order = [...conns].sort((a, b) => a.failed - b.failed || b.ok - a.ok);
  const tried = new Set<string>();
  const errors: string[] = [];
  for (const c of order) {
    if (tried.has(c.endpoint.url)) continue;
    tried.add(c.endpoint.url);
    try {
      const deleted = await c.client.deletePrefix(prefix, timeoutMs);
      return { ok: true, deleted };
    } catch (e) {
      const { code, message } = errorCode(e);
      errors.push(`${c.endpoint.url}: ${code}: ${message}`);
      warn(`cleanup through ${c.endpoint.url} failed (${code}); trying another endpoint`);
    }
  }
  return { ok: false, deleted: 0, error: errors.join('; ') };
}
