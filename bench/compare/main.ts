/**
 * `npm run bench:compare`: etcd-monitor's benchmark against etcd's own tools/benchmark
 * (.cache/bin/etcd-benchmark), alternately, with identical parameters, on one fresh 3-member etcd.
 * Writes bench/results/benchmark-vs-etcd.json: both throughputs, the ratio, the machine, and each tool's
 * CPU per request: the CPU time (user + system) of its whole process — start-up, connections, the timed
 * requests, cleanup — as bash's `times` reports for a child, divided by the timed requests. Unlike
 * requests/sec it hardly depends on what else loads the machine.
 *
 *   node --import tsx scripts/bench-compare.ts [--reps=3] [--ops=20000] [--clients=50] [--conns=5] [--value-size=256]
 *
 * Same load on both sides: puts of 256-byte values on random keys of 8 bytes among 10000, and
 * linearizable ranges of one existing key (etcd's `range KEY`; ours `--type read --key-space-size=1`).
 * etcd's tool writes at the root of the key space, which is why this uses a cluster of its own.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import { EtcdCluster } from '../../test/helpers/etcdCluster.js';
import { machineBasics } from '../lib/proc.js';
import { median } from '../lib/stats.js';

const execFileP = promisify(execFile);
const ETCD_BENCHMARK = path.resolve('.cache/bin/etcd-benchmark');
const OURS = path.resolve('dist/cli/main.js');

const { values: flags } = parseArgs({
  options: {
    reps: { type: 'string', default: '3' },
    ops: { type: 'string', default: '20000' },
    clients: { type: 'string', default: '50' },
    conns: { type: 'string', default: '5' },
    'value-size': { type: 'string', default: '256' },
    out: { type: 'string', default: 'bench/results/benchmark-vs-etcd.json' },
  },
});
const p = {
  ops: Number(flags.ops),
  clients: Number(flags.clients),
  conns: Number(flags.conns),
  valueSize: Number(flags['value-size']),
  keySize: 8,
  keySpace: 10_000,
};

if (!fs.existsSync(ETCD_BENCHMARK))
  throw new Error(`${ETCD_BENCHMARK} not found (build etcd's tools/benchmark first)`);
if (!fs.existsSync(OURS)) throw new Error(`${OURS} not found: npm run build`);

/** Run a command under bash and return its output and the CPU seconds it used (bash's `times`, children line). */
async function timed(
  cmd: string,
  args: string[],
): Promise<{ stdout: string; stderr: string; cpuSeconds: number }> {
  const script = '"$@"; rc=$?; times >&2; exit $rc';
  const { stdout, stderr } = await execFileP('bash', ['-c', script, 'bash', cmd, ...args], {
    maxBuffer: 64 << 20,
  });
  const lines = stderr.trimEnd().split('\n');
  const m = /^(\d+)m([\d.]+)s (\d+)m([\d.]+)s$/.exec(lines.at(-1) ?? '');
  if (!m) throw new Error(`no CPU times from bash:\n${stderr.slice(-500)}`);
  const cpuSeconds = Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4]);
  return { stdout, stderr: lines.slice(0, -2).join('\n'), cpuSeconds };
}

/** etcd's report line "Requests/sec:\t8100.1234". */
function etcdRps(out: string): number {
  const m = /Requests\/sec:\s+([\d.]+)/.exec(out);
  if (!m) throw new Error(`no Requests/sec in etcd benchmark output:\n${out.slice(-2000)}`);
  return Number(m[1]);
}

const cluster = await EtcdCluster.start({ size: 3 });
try {
  const eps = cluster.endpoints.join(',');
  const common = [`--endpoints=${eps}`, `--conns=${p.conns}`, `--clients=${p.clients}`];
  const rangeKey = '/etcd-monitor-bench-compare/key';
  await cluster.etcdctl(['put', rangeKey, 'v'.repeat(p.valueSize)]);
  const runs: Array<{
    rep: number;
    tool: 'etcd-monitor' | 'etcd';
    op: 'put' | 'range';
    requestsPerSecond: number;
    cpuMicrosPerRequest: number;
  }> = [];
  const record = (r: (typeof runs)[number]): void => {
    runs.push(r);
    process.stderr.write(`${JSON.stringify(r)}\n`);
  };
  type Measured = { requestsPerSecond: number; cpuMicrosPerRequest: number };
  const perRequest = (cpuSeconds: number): number => Math.round((cpuSeconds * 1e6) / p.ops);
  const ours = async (args: string[]): Promise<Measured> => {
    const { stdout, cpuSeconds } = await timed(process.execPath, [
      OURS,
      'benchmark',
      ...common,
      '--json',
      ...args,
    ]);
    const r = JSON.parse(stdout) as { requestsPerSecond: number; failed: number };
    if (r.failed) throw new Error(`etcd-monitor benchmark: ${r.failed} requests failed`);
    return { requestsPerSecond: r.requestsPerSecond, cpuMicrosPerRequest: perRequest(cpuSeconds) };
  };
  const theirs = async (args: string[]): Promise<Measured> => {
    const { stdout, stderr, cpuSeconds } = await timed(ETCD_BENCHMARK, [...common, ...args]);
    return { requestsPerSecond: etcdRps(stdout + stderr), cpuMicrosPerRequest: perRequest(cpuSeconds) };
  };
  for (let rep = 1; rep <= Number(flags.reps); rep++) {
    const putArgs = [`--key-size=${p.keySize}`, `--key-space-size=${p.keySpace}`];
    record({
      rep,
      tool: 'etcd-monitor',
      op: 'put',
      ...(await ours(['--type=write', `--ops=${p.ops}`, `--value-size=${p.valueSize}`, ...putArgs])),
    });
    record({
      rep,
      tool: 'etcd',
      op: 'put',
      ...(await theirs(['put', `--total=${p.ops}`, `--val-size=${p.valueSize}`, ...putArgs])),
    });
    record({
      rep,
      tool: 'etcd-monitor',
      op: 'range',
      ...(await ours([
        '--type=read',
        `--ops=${p.ops}`,
        `--value-size=${p.valueSize}`,
        '--key-space-size=1',
        '--consistency=l',
      ])),
    });
    record({
      rep,
      tool: 'etcd',
      op: 'range',
      ...(await theirs(['range', rangeKey, `--total=${p.ops}`, '--consistency=l'])),
    });
    const rev = JSON.parse(
      await cluster.etcdctl(['endpoint', 'status', '-w', 'json'], [cluster.endpoints[0]!]),
    )[0].Status.header.revision as number;
    await cluster.etcdctl(['compact', String(rev)]);
  }
  const summary = Object.fromEntries(
    (['put', 'range'] as const).map((op) => {
      const of = (tool: string, k: keyof Measured): number =>
        median(runs.filter((r) => r.op === op && r.tool === tool).map((r) => r[k]));
      const o = of('etcd-monitor', 'requestsPerSecond');
      const e = of('etcd', 'requestsPerSecond');
      return [
        op,
        {
          etcdMonitorRequestsPerSecond: o,
          etcdRequestsPerSecond: e,
          ratio: Math.round((o / e) * 1000) / 1000,
          etcdMonitorCpuMicrosPerRequest: of('etcd-monitor', 'cpuMicrosPerRequest'),
          etcdCpuMicrosPerRequest: of('etcd', 'cpuMicrosPerRequest'),
        },
      ];
    }),
  );
  const result = {
    when: new Date().toISOString(),
    machine: { ...machineBasics(), loadavg: os.loadavg() },
    etcd: (await cluster.etcdctl(['version'])).split('\n')[0],
    etcdBenchmark: ETCD_BENCHMARK,
    parameters: p,
    note:
      'ratio = etcd-monitor / etcd (median requests/sec over the reps); both tools and the 3 members share this host. ' +
      "cpuMicrosPerRequest: CPU (user + system) of the tool's whole process (start-up, connections, requests, cleanup) / timed requests",
    summary,
    runs,
  };
  fs.mkdirSync(path.dirname(flags.out!), { recursive: true });
  fs.writeFileSync(flags.out!, JSON.stringify(result, null, 2) + '\n');
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\nwrote ${flags.out}\n`);
} finally {
  await cluster.stop();
}
