/**
 * The load generator, modelled on etcd's tools/benchmark: `conns` gRPC connections, `clients`
 * concurrent clients sharing them round-robin, each issuing one request at a time from a shared
 * queue of `ops` requests, optionally paced by a token bucket (the loops and connections are in
 * conns.ts, shared with `check perf`). A failure is recorded with its gRPC code, never retried or
 * hidden. Keys live under a fresh prefix that is deleted at the end — also when the run fails or is
 * interrupted.
 */
import { performance } from 'node:perf_hooks';
import {
  cleanUpPrefix,
  connectAll,
  countUnsure,
  drive,
  errorCode,
  openConns,
  type BenchmarkTarget,
  type Conn,
} from './conns.js';
import { formatKey, isRead, keyIndex, makeValue, runPrefix, seededRng, type Rng } from './keys.js';
import type { BenchmarkOptions } from './options.js';
import { NO_PROGRESS, type ProgressSink } from './progress.js';
import { TokenBucket } from './rateLimiter.js';
import { buildReport, type BenchmarkReport } from './report.js';
import { LatencyRecorder } from './stats.js';

export { BenchmarkError } from './conns.js';

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

/** Run one benchmark against a cluster and return its report. Throws BenchmarkError when no endpoint answers at all. */
export async function runBenchmark(
  opts: BenchmarkOptions,
  target: BenchmarkTarget,
  hooks: BenchmarkHooks = {},
): Promise<BenchmarkReport> {
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

  const conns: Conn[] = openConns(target, opts.conns);
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
    const ready = await connectAll(conns, opts.timeoutMs, warn);
    await hooks.onReady?.({ prefix, connections: ready });

    // 2. Reads need data: write the key space first (untimed, but paced by --rate like everything else).
    if (opts.prepopulate && opts.type !== 'write' && !signal?.aborted) {
      const rec = new LatencyRecorder(opts.keySpaceSize);
      progress.begin('populating', opts.keySpaceSize);
      wrote = true;
      const t0 = performance.now();
      await drive(
        { count: opts.keySpaceSize, clients: opts.clients, conns, limiter: newLimiter(), signal },
        (i, c) => c.kv.put(keyOf(i), value, opts.timeoutMs),
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
        { count: opts.ops, clients: opts.clients, conns, limiter: newLimiter(), signal },
        (i, c) => {
          const key = keyOf(keyIndex(i, opts.keySpaceSize, opts.sequentialKeys, rng));
          return isRead(i, opts.readRatio)
            ? c.kv.get(key, opts.timeoutMs, serializable)
            : c.kv.put(key, value, opts.timeoutMs);
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
      const unsure = countUnsure(byOperation.put) + unsurePrepopulate;
      ({ cleanup } = await cleanUpPrefix(conns, prefix, opts.timeoutMs, unsure, warn));
    }
    for (const c of conns) c.close();
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
