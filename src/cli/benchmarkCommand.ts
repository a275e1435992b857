/**
 * `etcd-monitor benchmark` (and the guide's `--run-benchmark --benchmark-type --benchmark-ops`):
 * generate load like etcd's own benchmark tool and print its report.
 *
 * Exit codes: 0 every request succeeded and the keys were removed; 1 some request failed, the
 * cleanup failed or no endpoint answered; 2 usage error; 130 interrupted (after cleaning up).
 */
import {
  BenchmarkOptionError,
  BENCHMARK_TYPES,
  resolveOptions,
  type BenchmarkInput,
  type BenchmarkType,
  type Consistency,
} from '../benchmark/options.js';
import { ProgressBar } from '../benchmark/progress.js';
import { renderText, type BenchmarkReport } from '../benchmark/report.js';
import { BenchmarkError, runBenchmark } from '../benchmark/runner.js';
import {
  CONNECTION_FLAGS,
  UsageError,
  choiceFlag,
  connectionConfig,
  numberFlag,
  str,
  type ConnectionConfig,
  type Values,
} from './args.js';
import { runCommand } from './command.js';
import { THRESHOLD_FLAG_NAMES } from './thresholdFlags.js';
import type { Io } from './io.js';
import { withInterrupt } from './interrupt.js';
import { BENCHMARK_USAGE } from './usage.js';

export const BENCHMARK_FLAGS = {
  ...CONNECTION_FLAGS,
  type: { type: 'string' },
  ops: { type: 'string' },
  total: { type: 'string' },
  clients: { type: 'string' },
  conns: { type: 'string' },
  'key-size': { type: 'string' },
  'value-size': { type: 'string' },
  'val-size': { type: 'string' },
  rate: { type: 'string' },
  'key-space-size': { type: 'string' },
  'sequential-keys': { type: 'boolean' },
  consistency: { type: 'string' },
  'read-ratio': { type: 'string' },
  prefix: { type: 'string' },
  'no-prepopulate': { type: 'boolean' },
  seed: { type: 'string' },
  json: { type: 'boolean' },
} as const;

function optNumber(v: Values, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  return str(v, name) === undefined ? undefined : numberFlag(v, name, 0, min, max);
}

function alias(v: Values, a: string, b: string): string {
  if (str(v, a) !== undefined && str(v, b) !== undefined)
    throw new UsageError(`give --${a} or --${b}, not both`);
  return str(v, b) !== undefined ? b : a;
}

/** Benchmark flags → options input (defaults are filled in by resolveOptions). */
export function benchmarkInput(v: Values): BenchmarkInput {
  const consistency =
    str(v, 'consistency') === undefined ? undefined : choiceFlag(v, 'consistency', ['l', 's'] as const, 'l');
  return {
    type: str(v, 'type') === undefined ? undefined : choiceFlag(v, 'type', BENCHMARK_TYPES, 'write'),
    ops: optNumber(v, alias(v, 'ops', 'total'), 1),
    clients: optNumber(v, 'clients', 1),
    conns: optNumber(v, 'conns', 1),
    keySize: optNumber(v, 'key-size', 1),
    valueSize: optNumber(v, alias(v, 'value-size', 'val-size'), 0),
    rate: optNumber(v, 'rate', 0),
    keySpaceSize: optNumber(v, 'key-space-size', 1),
    sequentialKeys: v['sequential-keys'] === true ? true : undefined,
    consistency: consistency as Consistency | undefined,
    readRatio: optNumber(v, 'read-ratio', 0, 1),
    prefixBase: str(v, 'prefix'),
    prepopulate: v['no-prepopulate'] === true ? false : undefined,
    seed: optNumber(v, 'seed', 0),
  };
}

export function runBenchmarkCommand(argv: string[], io: Io, signal?: AbortSignal): Promise<number> {
  return runCommand(
    argv,
    io,
    { name: 'etcd-monitor benchmark', usage: BENCHMARK_USAGE, flags: BENCHMARK_FLAGS },
    (v) => {
      const conn = connectionConfig(v, io.env);
      const input = benchmarkInput(v);
      return execute(input, conn, v.json === true, io, signal, 'etcd-monitor benchmark');
    },
  );
}

/** Monitor flags that make no sense for a benchmark; named in a warning when given with --run-benchmark. */
const MONITOR_ONLY = [
  'interval',
  'health-check-interval',
  'api-host',
  'api-port',
  'api-token',
  'no-member-metrics',
  'metrics-urls',
  'write-probe',
  ...THRESHOLD_FLAG_NAMES,
];

/**
 * The guide's form: `etcd-monitor --endpoints=... --run-benchmark --benchmark-type=write --benchmark-ops=10000`.
 * `v` are the already-parsed monitor flags. Runs the benchmark with the defaults of `benchmark` instead of monitoring.
 */
export async function runGuideBenchmark(v: Values, io: Io, signal?: AbortSignal): Promise<number> {
  const usage = (msg: string): number => {
    io.err(`etcd-monitor: ${msg}\n\n${BENCHMARK_USAGE}`);
    return 2;
  };
  if (v['run-benchmark'] !== true) return usage('--benchmark-type and --benchmark-ops need --run-benchmark');
  let conn: ConnectionConfig;
  let input: BenchmarkInput;
  try {
    conn = connectionConfig(v, io.env);
    input = {
      type:
        str(v, 'benchmark-type') === undefined
          ? undefined
          : (choiceFlag(v, 'benchmark-type', BENCHMARK_TYPES, 'write') as BenchmarkType),
      ops: optNumber(v, 'benchmark-ops', 1),
    };
  } catch (e) {
    if (e instanceof UsageError) return usage(e.message);
    throw e;
  }
  const ignored = MONITOR_ONLY.filter((f) => v[f] !== undefined);
  if (ignored.length)
    io.err(
      `etcd-monitor: ignoring monitor flags with --run-benchmark: ${ignored.map((f) => '--' + f).join(', ')}`,
    );
  return execute(input, conn, false, io, signal, 'etcd-monitor');
}

/** The exit code a finished report earns. */
export function exitCodeFor(r: BenchmarkReport): number {
  if (r.interrupted) return 130;
  if (r.failed > 0 || r.succeeded === 0 || !r.cleanup.ok) return 1;
  return 0;
}

async function execute(
  input: BenchmarkInput,
  conn: ConnectionConfig,
  json: boolean,
  io: Io,
  outer: AbortSignal | undefined,
  who: string,
): Promise<number> {
  let opts;
  try {
    opts = resolveOptions({ ...input, timeoutMs: conn.timeoutMs }, conn.endpoints.length);
  } catch (e) {
    if (e instanceof BenchmarkOptionError) {
      io.err(`${who}: ${e.message}\n\n${BENCHMARK_USAGE}`);
      return 2;
    }
    throw e;
  }
  // Ctrl-C / SIGTERM: stop issuing requests, clean up, report what ran. A second Ctrl-C exits at once.
  const notice = `\n${who}: interrupted; waiting for requests in flight (at most ${opts.timeoutMs}ms) and deleting the benchmark keys (Ctrl-C again to quit now)`;
  const resolved = opts;
  return withInterrupt(io, notice, outer, async (signal) => {
    const progress = new ProgressBar(process.stderr);
    try {
      const report = await runBenchmark(resolved, conn, {
        signal,
        progress,
        warn: (m) => io.err(`${who}: warning: ${m}`),
      });
      io.out(json ? JSON.stringify(report, null, 2) : renderText(report));
      if (!report.cleanup.ok)
        io.err(
          `${who}: could not delete the benchmark keys under ${report.parameters.prefix}: ${report.cleanup.error ?? ''}`,
        );
      return exitCodeFor(report);
    } catch (e) {
      if (e instanceof BenchmarkError) {
        io.err(`${who}: ${e.message}`);
        return 1;
      }
      throw e;
    }
  });
}
