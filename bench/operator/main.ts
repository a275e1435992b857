/**
 * `npm run bench:operator` (part of `npm run bench`): what the operator costs. On the real test control plane
 * (kube-apiserver + etcd built from Go, scripts/build-tools.sh) and a real 3-member etcd, runs the operator
 * as a child process, applies N EtcdMonitors at once and measures time to first status, status writes at
 * steady state, and the operator's CPU and RSS. Writes bench/results/operator.json and prints a summary.
 * The measuring lives in bench/operator/.
 *
 *   node --import tsx scripts/bench-operator.ts [--monitors=100] [--interval=10] [--timeout=2] [--steady=180]
 *        [--concurrency=8] [--runner=compiled|tsx] [--first-rounds=prompt|spread] [--operator-entry=<main.ts>]
 *        [--latency-warning-ms=1000]   (spec.thresholds.latencyWarningMs of every resource; the product default is 100,
 *                                       which this shared 2-core machine's etcd p99 crosses back and forth)
 *        [--keep-updates]   (every steady-state status update, before/after, in the JSON)
 *        [--out=bench/results/operator.json]
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { formatSummary } from './report.js';
import { runOperatorBench } from './run.js';

const { values: flags } = parseArgs({
  options: {
    monitors: { type: 'string', default: '100' },
    interval: { type: 'string', default: '10' },
    timeout: { type: 'string', default: '2' },
    steady: { type: 'string', default: '180' },
    concurrency: { type: 'string', default: '8' },
    runner: { type: 'string', default: 'compiled' },
    'first-rounds': { type: 'string', default: 'prompt' },
    'operator-entry': { type: 'string' },
    'keep-updates': { type: 'boolean', default: false },
    'latency-warning-ms': { type: 'string', default: '1000' },
    out: { type: 'string', default: 'bench/results/operator.json' },
  },
});

const num = (name: keyof typeof flags, min: number): number => {
  const v = Number(flags[name]);
  if (!Number.isFinite(v) || v < min) {
    process.stderr.write(`bench-operator: --${name} must be a number >= ${min}\n`);
    process.exit(2);
  }
  return v;
};
const runner = flags.runner === 'tsx' ? 'tsx' : 'compiled';
const firstRounds = flags['first-rounds'] === 'spread' ? 'spread' : 'prompt';

// Directories to remove however we end (test/helpers/procs.ts kills every child on exit and on signals).
const dirs = new Set<string>();
process.on('exit', () => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const report = await runOperatorBench({
  monitors: num('monitors', 1),
  intervalSeconds: num('interval', 1),
  timeoutSeconds: num('timeout', 0.1),
  steadySeconds: num('steady', 1),
  concurrency: num('concurrency', 1),
  runner,
  firstRounds,
  operatorEntry: flags['operator-entry'],
  keepSteadyUpdates: flags['keep-updates'],
  latencyWarningMs: num('latency-warning-ms', 1),
  log: (l) => process.stderr.write(`bench-operator: ${l}\n`),
  onTempDir: (d) => dirs.add(d),
});
const out = path.resolve(flags.out);
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, JSON.stringify(report, null, 2) + '\n');
process.stdout.write(formatSummary(report) + `\n  written to ${path.relative(process.cwd(), out)}\n`);
process.exit(0);
