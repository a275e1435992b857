/**
 * `etcd-monitor check perf`: etcdctl's performance check (workload and PASS/FAIL criteria in
 * src/benchmark/checkPerfVerdict.ts), with the benchmark's progress bar while it runs.
 *
 * Exit codes: 0 PASS; 1 FAIL (a criterion failed, the keys could not be deleted, a requested
 * compaction/defragmentation failed, the prefix already held keys, or no endpoint answered);
 * 2 usage error; 130 interrupted (after deleting the keys).
 */
import { runCheckPerf, type CheckPerfOptions } from '../benchmark/checkPerf.js';
import {
  PERF_DEFAULT_PREFIX,
  PERF_LOADS,
  parsePerfLoad,
  renderPerfVerdict,
} from '../benchmark/checkPerfVerdict.js';
import { BenchmarkError } from '../benchmark/conns.js';
import { ProgressBar } from '../benchmark/progress.js';
import { CONNECTION_FLAGS, UsageError, connectionConfig, durationFlag, str, type Values } from './args.js';
import { runCommand } from './command.js';
import type { Io } from './io.js';
import { withInterrupt } from './interrupt.js';
import { CHECK_PERF_USAGE } from './usage.js';

const CHECK_PERF_FLAGS = {
  ...CONNECTION_FLAGS,
  load: { type: 'string' },
  prefix: { type: 'string' },
  'auto-compact': { type: 'boolean' },
  'auto-defrag': { type: 'boolean' },
  duration: { type: 'string' },
  json: { type: 'boolean' },
} as const;

const WHO = 'etcd-monitor check perf';

function checkOptions(v: Values, timeoutMs: number): CheckPerfOptions {
  const name = str(v, 'load') ?? 's';
  const load = parsePerfLoad(name);
  if (!load)
    throw new UsageError(
      `--load: expected one of s, m, l, xl (or small, medium, large, xLarge), got "${name}"`,
    );
  const prefix = str(v, 'prefix') ?? PERF_DEFAULT_PREFIX;
  if (prefix === '') throw new UsageError('--prefix must not be empty (it would select every key)');
  return {
    load,
    prefix,
    durationMs: durationFlag(v, 'duration', PERF_LOADS[load].durationSeconds * 1000),
    timeoutMs,
    autoCompact: v['auto-compact'] === true,
    autoDefrag: v['auto-defrag'] === true,
  };
}

/** `etcd-monitor check <name> ...`: only `perf` so far. */
export function runCheck(argv: string[], io: Io, signal?: AbortSignal): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    (sub === undefined ? io.err : io.out)(CHECK_PERF_USAGE);
    return Promise.resolve(sub === undefined ? 2 : 0);
  }
  if (sub !== 'perf') {
    io.err(`etcd-monitor check: unknown check "${sub}"\n\n${CHECK_PERF_USAGE}`);
    return Promise.resolve(2);
  }
  return runCommand(rest, io, { name: WHO, usage: CHECK_PERF_USAGE, flags: CHECK_PERF_FLAGS }, (v) => {
    const conn = connectionConfig(v, io.env);
    return execute(checkOptions(v, conn.timeoutMs), conn, v.json === true, io, signal);
  });
}

async function execute(
  opts: CheckPerfOptions,
  target: Parameters<typeof runCheckPerf>[1],
  json: boolean,
  io: Io,
  outer: AbortSignal | undefined,
): Promise<number> {
  // Ctrl-C / SIGTERM: stop issuing puts, delete the prefix, report. A second Ctrl-C exits at once.
  const notice = `\n${WHO}: interrupted; waiting for requests in flight (at most ${opts.timeoutMs}ms) and deleting ${opts.prefix} (Ctrl-C again to quit now)`;
  return withInterrupt(io, notice, outer, async (signal) => {
    try {
      const r = await runCheckPerf(opts, target, {
        signal,
        progress: new ProgressBar(process.stderr),
        warn: (m) => io.err(`${WHO}: warning: ${m}`),
      });
      if (json) io.out(JSON.stringify(r, null, 2));
      else io.out(renderPerfVerdict(r));
      if (r.cleanup.note) io.err(`${WHO}: ${r.cleanup.note}`);
      if (r.interrupted) return 130;
      return r.pass ? 0 : 1;
    } catch (e) {
      // Also PrefixNotEmptyError: the prefix held keys, nothing was written or deleted.
      if (e instanceof BenchmarkError) {
        io.err(`${WHO}: ${e.message}`);
        return 1;
      }
      throw e;
    }
  });
}
