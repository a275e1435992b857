/**
 * `npm run bench:snapshot` (part of `npm run bench`): `etcd-monitor snapshot save` against etcd's own
 * `etcdctl snapshot save` on the same ≥ 500 MiB database of a real etcd 3.5 on loopback, alternating,
 * as whole processes. Records each run's wall time, throughput and peak RSS, and our RSS growth: the
 * peak on the big DB minus the peak on an empty one (the streaming design's promise: < 64 MiB). Also
 * what a whole-process time includes besides the transfer: our CLI's start-up (`--version`, same module
 * graph), and the load average around the runs (other work on the machine skews every figure).
 * Writes bench/results/snapshot.json.
 *
 *   node --import tsx scripts/bench-snapshot.ts [--reps=3] [--db-mib=520]
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { MemberClient } from '../../src/etcd/grpc.js';
import { parseEndpoint } from '../../src/etcd/endpoints.js';
import { machineBasics, procRssBytes } from '../lib/proc.js';
import { median } from '../lib/stats.js';
import { EtcdCluster } from '../../test/helpers/etcdCluster.js';

const { values: flags } = parseArgs({
  options: {
    reps: { type: 'string', default: '3' },
    'db-mib': { type: 'string', default: '520' },
    out: { type: 'string', default: 'bench/results/snapshot.json' },
  },
});
const reps = Number(flags.reps);
const dbMiB = Number(flags['db-mib']);
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const ETCD = path.join(ROOT, '.cache/bin/etcd-3.5');
const ETCDCTL = path.join(ROOT, '.cache/bin/etcdctl-3.5');
const CLI = path.join(ROOT, 'dist/cli/main.js');

interface Run {
  tool: 'etcd-monitor' | 'etcdctl';
  seconds: number;
  bytes: number;
  mibPerSecond: number;
  peakRssMiB: number;
}

function rssKiB(pid: number): number {
  return (procRssBytes(pid) ?? 0) / 1024;
}

/** Run a command to completion, sampling its RSS every 20 ms. */
function timed(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ seconds: number; peakKiB: number }> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const p = spawn(cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    let peak = 0;
    const timer = setInterval(() => (peak = Math.max(peak, rssKiB(p.pid!))), 20);
    p.on('exit', (code) => {
      clearInterval(timer);
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      if (code === 0) resolve({ seconds, peakKiB: peak });
      else reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err.trim()}`));
    });
  });
}

async function fill(endpoint: string, mib: number): Promise<void> {
  const c = new MemberClient(parseEndpoint(endpoint));
  const value = Buffer.alloc(1 << 20);
  try {
    for (let i = 0; i < mib; i++) {
      value.writeUInt32LE(i, 0);
      await c.put(Buffer.from(`/bench-snapshot/${String(i).padStart(6, '0')}`), value, 30_000);
    }
  } finally {
    c.close();
  }
}

async function saveWith(tool: Run['tool'], endpoint: string, file: string): Promise<Run> {
  fs.rmSync(file, { force: true });
  const r =
    tool === 'etcdctl'
      ? await timed(ETCDCTL, [`--endpoints=${endpoint}`, 'snapshot', 'save', file], {
          ...process.env,
          ETCDCTL_API: '3',
        })
      : await timed(process.execPath, [CLI, 'snapshot', 'save', file, `--endpoints=${endpoint}`]);
  const bytes = fs.statSync(file).size;
  return {
    tool,
    seconds: r.seconds,
    bytes,
    mibPerSecond: bytes / 1048576 / r.seconds,
    peakRssMiB: r.peakKiB / 1024,
  };
}

/** Median wall time of `etcd-monitor --version`: Node start-up plus loading the CLI's modules. */
async function startupSeconds(): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 3; i++) times.push((await timed(process.execPath, [CLI, '--version'])).seconds);
  return median(times);
}

async function main(): Promise<void> {
  if (!fs.existsSync(CLI)) throw new Error('run `npm run build` first (dist/cli/main.js is missing)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'etcd-monitor-bench-snap-'));
  const empty = await EtcdCluster.start({
    size: 1,
    binary: ETCD,
    etcdctl: ETCDCTL,
    dataRoot: path.join(dir, 'empty'),
  });
  const big = await EtcdCluster.start({
    size: 1,
    binary: ETCD,
    etcdctl: ETCDCTL,
    dataRoot: path.join(dir, 'big'),
    quotaBackendBytes: 4 * 1024 ** 3,
  });
  try {
    const baseline = await saveWith('etcd-monitor', empty.endpoints[0]!, path.join(dir, 'empty.db'));
    console.log(`baseline (empty DB): peak RSS ${baseline.peakRssMiB.toFixed(0)} MiB`);
    console.log(`filling ${dbMiB} MiB …`);
    await fill(big.endpoints[0]!, dbMiB);
    const startup = await startupSeconds();
    const loadBefore = os.loadavg()[0]!;
    const runs: Run[] = [];
    for (let i = 0; i < reps; i++) {
      for (const tool of i % 2 === 0
        ? (['etcd-monitor', 'etcdctl'] as const)
        : (['etcdctl', 'etcd-monitor'] as const)) {
        const r = await saveWith(tool, big.endpoints[0]!, path.join(dir, `${tool}.db`));
        runs.push(r);
        console.log(
          `${tool.padEnd(12)} ${r.seconds.toFixed(2)}s  ${r.mibPerSecond.toFixed(0)} MiB/s  peak RSS ${r.peakRssMiB.toFixed(0)} MiB  (${(r.bytes / 1048576).toFixed(0)} MiB)`,
        );
      }
    }
    const ours = runs.filter((r) => r.tool === 'etcd-monitor');
    const theirs = runs.filter((r) => r.tool === 'etcdctl');
    const summary = {
      dbBytes: ours[0]!.bytes,
      throughputRatio: median(theirs.map((r) => r.seconds)) / median(ours.map((r) => r.seconds)),
      oursMedianMiBPerSecond: median(ours.map((r) => r.mibPerSecond)),
      etcdctlMedianMiBPerSecond: median(theirs.map((r) => r.mibPerSecond)),
      oursPeakRssMiB: Math.max(...ours.map((r) => r.peakRssMiB)),
      oursRssGrowthMiB: Math.max(...ours.map((r) => r.peakRssMiB)) - baseline.peakRssMiB,
      // Each rep's own ratio (its etcdctl run over its etcd-monitor run): the spread behind the median.
      throughputRatioPerRep: ours.map((r, i) => theirs[i]!.seconds / r.seconds),
      oursStartupSeconds: startup,
      loadAverage1m: { before: loadBefore, after: os.loadavg()[0]! },
      targets: { throughputRatioAtLeast: 0.8, rssGrowthMiBBelow: 64 },
    };
    const out = {
      date: new Date().toISOString(),
      machine: machineBasics(),
      etcd: '3.5 (Go-built, one member on loopback)',
      reps,
      baselinePeakRssMiB: baseline.peakRssMiB,
      runs,
      summary,
    };
    fs.mkdirSync(path.dirname(flags.out!), { recursive: true });
    fs.writeFileSync(flags.out!, JSON.stringify(out, null, 2) + '\n');
    console.log(JSON.stringify(summary, null, 2));
    console.log(`wrote ${flags.out}`);
  } finally {
    await Promise.all([empty.stop(), big.stop()]);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
