/**
 * `check perf`: etcdctl's performance check run on the benchmark's machinery (conns.ts). One
 * connection per client (endpoints round-robin), puts of 256-byte random keys under the prefix with
 * 1024-byte values, paced by a token bucket (burst 1) at the load's limit for the run's duration.
 * As etcdctl: the prefix must hold no key before anything is written, and the whole prefix is
 * deleted afterwards (also when the run fails or is interrupted); compaction at the delete's
 * revision and defragmentation of every endpoint on request.
 */
import { performance } from 'node:perf_hooks';
import { prefixEnd } from '../etcd/keyRange.js';
import {
  BenchmarkError,
  cleanUpPrefix,
  connectAll,
  countUnsure,
  drive,
  errorCode,
  openConns,
  type BenchmarkTarget,
  type Conn,
  type PrefixCleanup,
} from './conns.js';
import { formatKey } from './keys.js';
import { NO_PROGRESS, type ProgressSink } from './progress.js';
import { TokenBucket } from './rateLimiter.js';
import { LatencyRecorder, summarize } from './stats.js';
import {
  PERF_KEY_SIZE,
  PERF_LOADS,
  PERF_VALUE_SIZE,
  perfVerdict,
  type PerfAftermath,
  type PerfCheck,
  type PerfLoad,
} from './checkPerfVerdict.js';

export interface CheckPerfOptions {
  load: PerfLoad;
  prefix: string;
  /** How long puts are issued (etcdctl: always 60 s). */
  durationMs: number;
  /** Deadline of every request (etcdctl sets none on the puts). */
  timeoutMs: number;
  autoCompact: boolean;
  autoDefrag: boolean;
}

export interface CheckPerfHooks {
  signal?: AbortSignal;
  progress?: ProgressSink;
  /** Called when the connections are up and the prefix was found empty, before the first put. */
  onReady?: () => Promise<void> | void;
  warn?: (message: string) => void;
}

export interface CheckPerfResult {
  load: PerfLoad;
  limit: number;
  clients: number;
  /** The configured run time (etcdctl: 60). */
  durationSeconds: number;
  /** From the first put to the last answer (requests in flight at the end included). */
  elapsedSeconds: number;
  requests: number;
  succeeded: number;
  writesPerSecond: number;
  slowestSeconds: number | null;
  stddevSeconds: number | null;
  /** Failed requests (any failure fails the check). */
  errors: number;
  errorsByCode: Record<string, number>;
  errorMessages: Record<string, string>;
  prefix: string;
  endpoints: string[];
  keySize: number;
  valueSize: number;
  cleanup: PrefixCleanup;
  compact: PerfAftermath['compact'] | null;
  defrag: PerfAftermath['defrag'] | null;
  interrupted: boolean;
  checks: PerfCheck[];
  pass: boolean;
  startedAt: string;
}

/** Keys were found under the prefix before the run: nothing was written or deleted. */
export class PrefixNotEmptyError extends BenchmarkError {}

const AFTER_TIMEOUT_MS = 30_000; // etcdctl's deadline for delete, compaction and each defragmentation

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

async function prefixHasKeys(conns: Conn[], prefix: Buffer, timeoutMs: number): Promise<boolean> {
  const c = conns.find((x) => x.kv.connected()) ?? conns[0]!;
  try {
    return (await c.kv.count(prefix, prefixEnd(prefix), 1, timeoutMs)) > 0;
  } catch (e) {
    const { code, message } = errorCode(e);
    throw new BenchmarkError(`cannot read prefix ${prefix.toString('latin1')}: ${code}: ${message}`);
  }
}

async function compactAndDefrag(
  conns: Conn[],
  opts: CheckPerfOptions,
  revision: number | undefined,
): Promise<Pick<PerfAftermath, 'compact' | 'defrag'>> {
  const out: Pick<PerfAftermath, 'compact' | 'defrag'> = {};
  const healthy = [...conns].sort((a, b) => a.failed - b.failed || b.ok - a.ok)[0]!;
  if (opts.autoCompact) {
    try {
      if (!revision) throw new Error('no revision: the keys were not deleted');
      await healthy.client.call('kv', 'compact', { revision, physical: true }, AFTER_TIMEOUT_MS);
      out.compact = { ok: true, revision };
    } catch (e) {
      const { code, message } = errorCode(e);
      out.compact = { ok: false, revision, error: `${code}: ${message}` };
    }
  }
  if (opts.autoDefrag) {
    out.defrag = [];
    const perEndpoint = new Map<string, Conn>();
    for (const c of conns) if (!perEndpoint.has(c.endpoint.url)) perEndpoint.set(c.endpoint.url, c);
    for (const [endpoint, c] of perEndpoint) {
      try {
        await c.client.defragment(AFTER_TIMEOUT_MS);
        out.defrag.push({ endpoint, ok: true });
      } catch (e) {
        const { code, message } = errorCode(e);
        out.defrag.push({ endpoint, ok: false, error: `${code}: ${message}` });
      }
    }
  }
  return out;
}

/**
 * Run the check and return its result with the verdict. Throws PrefixNotEmptyError when the prefix
 * holds keys, BenchmarkError when no endpoint answers.
 */
export async function runCheckPerf(
  opts: CheckPerfOptions,
  target: BenchmarkTarget,
  hooks: CheckPerfHooks = {},
): Promise<CheckPerfResult> {
  const cfg = PERF_LOADS[opts.load];
  if (opts.prefix === '') throw new BenchmarkError('the prefix must not be empty');
  const progress = hooks.progress ?? NO_PROGRESS;
  const warn = hooks.warn ?? (() => {});
  const signal = hooks.signal;
  const value = Buffer.alloc(PERF_VALUE_SIZE);
  const prefixBuf = Buffer.from(opts.prefix, 'latin1');
  // etcdctl writes a random 63-bit number into each 256-byte key; here it is a random index,
  // zero-padded to 256 characters (keys stay printable, and practically never repeat).
  const keyOf = (): Buffer =>
    Buffer.from(formatKey(opts.prefix, Math.floor(Math.random() * 2 ** 53), PERF_KEY_SIZE), 'latin1');
  const conns = openConns(target, cfg.clients);
  const startedAt = new Date();
  const rec = new LatencyRecorder(Math.ceil((cfg.limit * opts.durationMs) / 1000));
  let elapsedMs = 0;
  let wrote = false;
  let cleanup: PrefixCleanup = { ok: true, deleted: 0 };
  let extras: Pick<PerfAftermath, 'compact' | 'defrag'> = {};
  try {
    await connectAll(conns, opts.timeoutMs, warn);
    if (await prefixHasKeys(conns, prefixBuf, opts.timeoutMs)) {
      throw new PrefixNotEmptyError(
        `prefix "${opts.prefix}" has keys. Delete with 'etcdctl del --prefix ${opts.prefix}' first`,
      );
    }
    await hooks.onReady?.();
    if (!signal?.aborted) {
      wrote = true;
      progress.begin('check perf', Math.round((cfg.limit * opts.durationMs) / 1000));
      const t0 = performance.now();
      await drive(
        {
          count: Infinity,
          clients: cfg.clients,
          conns,
          limiter: new TokenBucket(cfg.limit, 1, t0),
          signal,
          untilMs: t0 + opts.durationMs,
        },
        (_i, c) => c.kv.put(keyOf(), value, opts.timeoutMs),
        (_i, ms, err) => {
          if (ms !== undefined) rec.ok(ms);
          else {
            const { code, message } = errorCode(err);
            rec.fail(code, message);
          }
          progress.update(rec.total, rec.failed);
        },
      );
      elapsedMs = performance.now() - t0;
    }
  } finally {
    progress.end();
    if (wrote) {
      const r = await cleanUpPrefix(conns, opts.prefix, AFTER_TIMEOUT_MS, countUnsure(rec), warn);
      cleanup = r.cleanup;
      extras = await compactAndDefrag(conns, opts, r.revision);
    }
    for (const c of conns) c.close();
  }
  const summary = summarize(rec.sorted());
  const writesPerSecond = elapsedMs > 0 ? (rec.succeeded * 1000) / elapsedMs : 0;
  const errorsByCode = Object.fromEntries(rec.errors);
  const slowestSeconds = summary ? summary.max / 1000 : null;
  const stddevSeconds = summary ? summary.stddev / 1000 : null;
  const verdict = perfVerdict(
    { limit: cfg.limit, writesPerSecond, slowestSeconds, stddevSeconds, errors: errorsByCode },
    { cleanup, ...extras },
  );
  return {
    load: opts.load,
    limit: cfg.limit,
    clients: cfg.clients,
    durationSeconds: opts.durationMs / 1000,
    elapsedSeconds: round(elapsedMs / 1000, 3),
    requests: rec.total,
    succeeded: rec.succeeded,
    writesPerSecond: round(writesPerSecond, 3),
    slowestSeconds: slowestSeconds === null ? null : round(slowestSeconds, 6),
    stddevSeconds: stddevSeconds === null ? null : round(stddevSeconds, 6),
    errors: rec.failed,
    errorsByCode,
    errorMessages: Object.fromEntries(rec.errorSamples),
    prefix: opts.prefix,
    endpoints: target.endpoints.map((e) => e.url),
    keySize: PERF_KEY_SIZE,
    valueSize: PERF_VALUE_SIZE,
    cleanup,
    compact: extras.compact ?? null,
    defrag: extras.defrag ?? null,
    interrupted: Boolean(signal?.aborted),
    checks: verdict.checks,
    pass: verdict.pass,
    startedAt: startedAt.toISOString(),
  };
}
