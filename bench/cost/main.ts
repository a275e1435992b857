/**
 * `npm run bench:cost` (part of `npm run bench`): etcd-monitor's own cost against real etcd on loopback.
 * Starts a few real 3-member etcd clusters, then measures (bench/cost/):
 *   1. one probe round vs a raw concurrent Status round trip (p50/p99, CPU per round);
 *   2. one process monitoring N clusters (default 100, 500, 1000; 10 s interval): CPU, RSS,
 *      event-loop delay, round durations — each N in its own child process;
 *   3. /metrics and /api/v1/clusters render time at each N.
 * The N monitored clusters point at the real clusters round-robin, each with its own name and its own
 * connections. Workers run with the heap limit the etcd-monitor binary sets (--max-old-space-size, from
 * src/cli/main.ts's shebang): below V8's own default for a big host it also lowers how far V8 lets the
 * heap grow past the live data. By default the largest N also runs without member /metrics, and once
 * more with no heap flag at all. Writes bench/results/cost.json and prints a summary.
 *
 * From `--replay-at` clusters on (default 1000) the members' /metrics come from a MetricsReplay
 * (replay.ts: what the real members last answered, re-read every second) instead of the members
 * themselves: on a 2-CPU machine the etcd members rendering 300 /metrics a second take the CPU the
 * monitor needs, and the run measures the machine instead of the monitor. `--repeat` runs every row of
 * the largest size again (fresh worker) for the spread; `--also-no-gzip` adds it uncompressed,
 * `--also-text` with the text exposition instead of the protobuf one (what earlier versions read).
 *
 *   node --import tsx scripts/bench-cost.ts [--sizes=100,500,1000] [--targets=3] [--interval=10000] [--timeout=5000]
 *        [--window=30000] [--settle=5000] [--probe-rounds=300] [--no-member-metrics] [--also-without-metrics=true]
 *        [--also-heap-limit=0|N|none] [--heap-limit=binary|N] [--no-history-fill] [--profile] [--heap-snapshot]
 *        [--replay-at=1000] [--repeat=1] [--also-no-gzip] [--also-text] [--worker=compiled|tsx] [--out=bench/results/cost.json]
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { measureScale } from './measure.js';
import { measureProbeRound } from './probeRound.js';
import {
  COST_TARGETS,
  estimateCores,
  formatCostSummary,
  judgeTargets,
  machineInfo,
  type CostReport,
  type ScaleRow,
} from './report.js';
import { procCpuSeconds } from '../lib/proc.js';
import { MetricsReplay } from './replay.js';
import { summariseRepeats } from './repeats.js';
import { fetchText } from '../../src/etcd/scrape.js';
import { EtcdCluster, etcdBinary } from '../../test/helpers/etcdCluster.js';

/** The --max-old-space-size the etcd-monitor binary runs with (src/cli/main.ts's shebang; 0 when none). */
function binaryHeapLimitMiB(): number {
  const first = fs.readFileSync('src/cli/main.ts', 'utf8').split('\n', 1)[0]!;
  return Number(/--max-old-space-size=(\d+)/.exec(first)?.[1] ?? 0);
}

const { values: flags } = parseArgs({
  options: {
    sizes: { type: 'string', default: '100,500,1000' },
    targets: { type: 'string', default: '3' },
    interval: { type: 'string', default: '10000' },
    timeout: { type: 'string', default: '5000' },
    window: { type: 'string', default: '30000' },
    settle: { type: 'string', default: '5000' },
    'probe-rounds': { type: 'string', default: '300' },
    'no-member-metrics': { type: 'boolean', default: false },
    /** Also run the largest size without member /metrics (true|false). */
    'also-without-metrics': { type: 'string', default: 'true' },
    'no-history-fill': { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    'heap-snapshot': { type: 'boolean', default: false },
    /** Worker V8 heap limit in MiB (--max-old-space-size), as a container memory limit would set it; 0 = node's default. */
    /** The workers' --max-old-space-size; default: what the etcd-monitor binary runs with (its shebang). */
    'heap-limit': { type: 'string', default: 'binary' },
    /** Also run the largest size (with member /metrics unless --no-member-metrics) with this worker heap limit (MiB). */
    /** Also run the largest size with this heap limit (0: no flag, V8's own default; "none": skip). */
    'also-heap-limit': { type: 'string', default: '0' },
    /** compiled: build src with tsc into .cache/bench-cost and run workers on plain node (as production); tsx: run the TypeScript. */
    worker: { type: 'string', default: 'compiled' },
    /** Sizes from this many clusters on scrape a MetricsReplay of the real members (0: never). */
    'replay-at': { type: 'string', default: '1000' },
    repeat: { type: 'string', default: '1' },
    'also-no-gzip': { type: 'boolean', default: false },
    'also-text': { type: 'boolean', default: false },
    out: { type: 'string', default: 'bench/results/cost.json' },
  },
});

const sizes = flags.sizes!.split(',').filter(Boolean).map(Number);
const nTargets = Number(flags.targets);
const machine = machineInfo();
const log = (s: string): void =>
  void process.stderr.write(
    `[bench:cost ${new Date().toISOString().slice(11, 19)} load ${os.loadavg()[0]!.toFixed(2)}] ${s}\n`,
  );

/** Compile the worker and src (bench/tsconfig.worker.json) into .cache/bench-cost so the workers run plain JavaScript. */
function compiledWorker(): string | undefined {
  if (flags.worker === 'tsx') return undefined;
  const outDir = path.resolve('.cache/bench-cost');
  fs.rmSync(outDir, { recursive: true, force: true });
  log('compiling the worker and src (tsc)');
  execFileSync(
    process.execPath,
    [
      path.resolve('node_modules/typescript/bin/tsc'),
      '-p',
      'bench/tsconfig.worker.json',
      '--outDir',
      outDir,
      '--sourceMap',
      'false',
    ],
    { stdio: 'inherit' },
  );
  return path.join(outDir, 'bench/cost/worker.js');
}

const clusters: EtcdCluster[] = [];
let replay: MetricsReplay | undefined;
const stop = async (): Promise<void> => {
  await replay?.stop();
  await Promise.all(clusters.splice(0).map((c) => c.stop()));
};
process.once('SIGINT', () => void stop().then(() => process.exit(130)));
try {
  for (let i = 0; i < nTargets; i++)
    clusters.push(await EtcdCluster.start({ size: 3, namePrefix: `t${i}-etcd` }));
  const worker = compiledWorker();
  const etcdVersion = execFileSync(etcdBinary(), ['--version'], { encoding: 'utf8' }).split('\n')[0]!.trim();
  log(`${nTargets} real 3-member etcd clusters up (${etcdVersion}, --metrics=extensive)`);
  const report: CostReport = {
    when: new Date().toISOString(),
    machine,
    etcd: etcdVersion,
    setup:
      `${nTargets} real 3-member etcd clusters on loopback (same host, sharing its CPUs; --metrics=extensive, ` +
      `heartbeat 50 ms). The N monitored clusters point at them round-robin: each has its own name, its own ` +
      `prober and its own gRPC channels and /metrics requests, as N separate clusters would. Each N runs in a ` +
      `fresh child process; CPU (user+system, all threads) over a ${Number(flags.window) / 1000} s window after every first round ` +
      `and ${Number(flags.settle) / 1000} s settling; first rounds spread over the interval with the controller's spreadDelay.` +
      (flags['no-history-fill']
        ? ''
        : ' Dashboard history filled to capacity (360 rounds/cluster) before the window, as after an hour.') +
      (worker
        ? ' Workers run the compiled JavaScript on plain node, as in production.'
        : ' Workers run the TypeScript through tsx (adds RSS).'),
    scale: [],
    targets: { ...COST_TARGETS },
  };

  const text = await fetchText(`${clusters[0]!.endpoints[0]}/metrics`, 5000);
  report.memberMetricsExposition = {
    bytes: Buffer.byteLength(text),
    sampleLines: text.split('\n').filter((l) => l && !l.startsWith('#')).length,
  };

  const rounds = Number(flags['probe-rounds']);
  if (rounds > 0) {
    log(`probe round: ${rounds} rounds of each variant`);
    report.probeRound = await measureProbeRound({
      endpoints: clusters[0]!.endpoints,
      rounds,
      warmupRounds: 20,
    });
  }

  const defaultLimit = flags['heap-limit'] === 'binary' ? binaryHeapLimitMiB() : Number(flags['heap-limit']);
  const defaultFlags = defaultLimit > 0 ? [`--max-old-space-size=${defaultLimit}`] : [];
  type Run = { n: number; metrics: boolean; heapLimit?: number; gzip?: boolean; protobuf?: boolean };
  const once: Run[] = sizes.map((n) => ({ n, metrics: !flags['no-member-metrics'] }));
  const largest = Math.max(...sizes);
  if (flags['also-no-gzip'] && !flags['no-member-metrics'] && sizes.length)
    once.push({ n: largest, metrics: true, gzip: false });
  if (flags['also-text'] && !flags['no-member-metrics'] && sizes.length)
    once.push({ n: largest, metrics: true, protobuf: false });
  if (flags['also-without-metrics'] !== 'false' && !flags['no-member-metrics'] && sizes.length)
    once.push({ n: largest, metrics: false });
  if (
    flags['also-heap-limit'] !== 'none' &&
    Number(flags['also-heap-limit']) !== defaultLimit &&
    sizes.length
  )
    once.push({
      n: largest,
      metrics: !flags['no-member-metrics'],
      heapLimit: Number(flags['also-heap-limit']),
    });
  // Every run at the largest size is repeated (the figures the targets are judged on), the others run once.
  const runs = [
    ...once.filter((r) => r.n !== largest),
    ...Array.from({ length: Math.max(1, Number(flags.repeat)) }, () =>
      once.filter((r) => r.n === largest),
    ).flat(),
  ];
  const replayAt = Number(flags['replay-at']);
  if (replayAt > 0 && runs.some((r) => r.metrics && r.n >= replayAt)) {
    replay = new MetricsReplay(clusters.flatMap((c) => c.endpoints.map((e) => `${e}/metrics`)));
    await replay.start();
    report.setup +=
      ` From ${replayAt} clusters on, the members' /metrics come from a replay server in the parent process` +
      ` (bench/cost/replay.ts): each answer is what a real member last answered (re-read every second, so` +
      ` counters and histograms move), gzip or plain and protobuf or text as asked, written in the pieces it arrived in from etcd;` +
      ` the gRPC calls still go to the real members (${nTargets * 3} of them). Only the monitor process's CPU` +
      ` is counted (cpu); the replay server's is replayCores, the etcd members' etcdCores.`;
  }
  const urlsFor = (n: number, metrics: boolean): string[][] | undefined => {
    if (!replay || !metrics || n < replayAt) return undefined;
    let k = 0;
    return clusters.map((c) => c.endpoints.map(() => replay!.url(k++)));
  };
  for (const { n, metrics, heapLimit = defaultLimit, gzip, protobuf } of runs) {
    log(
      `${n} clusters${metrics ? '' : ' (no member /metrics)'}${gzip === false ? ' (uncompressed /metrics)' : ''}${protobuf === false ? ' (text /metrics)' : ''}${heapLimit ? `, heap limit ${heapLimit} MiB` : ''}: starting a worker`,
    );
    const pids = clusters.flatMap((c) => c.members.map((m) => m.proc?.pid));
    let etcd0 = 0;
    let t0 = 0;
    let etcdCores: number | undefined;
    let self0 = process.cpuUsage();
    let replayCores: number | undefined;
    const metricsUrls = urlsFor(n, metrics);
    let res;
    try {
      res = await measureScale(
        {
          clusters: n,
          targets: clusters.map((c) => c.endpoints),
          intervalMs: Number(flags.interval),
          timeoutMs: Number(flags.timeout),
          memberMetrics: metrics,
          metricsUrls,
          metricsGzip: gzip,
          metricsProtobuf: protobuf,
          settleMs: Number(flags.settle),
          windowMs: Number(flags.window),
          fillHistory: !flags['no-history-fill'],
          renders: 7,
          nodeFlags: heapLimit > 0 ? [`--max-old-space-size=${heapLimit}`] : [],
          profilePath: flags.profile
            ? `bench/results/profiles/cost-${n}${metrics ? '' : '-nometrics'}.cpuprofile`
            : undefined,
          heapSnapshotPath: flags['heap-snapshot']
            ? `bench/results/profiles/cost-${n}${metrics ? '' : '-nometrics'}.heapsnapshot`
            : undefined,
        },
        {
          log,
          onWindow: (phase) => {
            const cpu = pids.reduce<number>((s, p) => s + procCpuSeconds(p), 0);
            if (phase === 'start') {
              etcd0 = cpu;
              t0 = performance.now();
              self0 = process.cpuUsage();
            } else {
              const s = (performance.now() - t0) / 1000;
              etcdCores = Math.round(((cpu - etcd0) / s) * 100) / 100;
              const own = process.cpuUsage(self0);
              if (metricsUrls) replayCores = Math.round(((own.user + own.system) / 1e6 / s) * 100) / 100;
            }
          },
        },
        worker,
      );
    } catch (e) {
      log(`${n} clusters: the worker failed: ${(e as Error).message.split('\n')[0]}`);
      (report.failures ??= []).push({
        clusters: n,
        memberMetrics: metrics,
        error: (e as Error).message.split('\n')[0]!,
      });
      continue;
    }
    const row: ScaleRow = {
      ...res,
      etcdCores,
      ...(replayCores !== undefined ? { replayCores } : {}),
      loadavgAfter: os.loadavg().map((v) => Math.round(v * 100) / 100),
    };
    report.scale.push(row);
    log(
      `${n} clusters: ${row.cpu.cores} cores, RSS max ${row.memory.rssMiB.max} MiB, rounds ${row.rounds.count}/${row.rounds.expected} ` +
        `(${row.rounds.withErrors} with errors), /metrics ${row.render.metrics.ms.p50} ms, etcd ${etcdCores} cores`,
    );
  }
  report.targets.met = judgeTargets(report.scale);
  report.notes = report.scale
    .filter((r) => r.saturated)
    .map(
      (r) =>
        `${r.clusters} clusters${r.memberMetrics ? '' : ' (no member /metrics)'}: saturated — the worker got ${r.cpu.cores} cores with its event loop ${Math.round(r.eventLoopUtilization * 100)}% busy ` +
        `while the ${nTargets * 3} etcd members serving it used ${r.etcdCores ?? '?'} cores of this ${machine.cpuCount}-CPU machine (load average after: ${r.loadavgAfter.join(' ')}); ` +
        `${r.rounds.count}/${r.rounds.expected} rounds, ${r.rounds.withErrors} with errors. Its figures are not a steady state.`,
    );
  if (Number(flags.repeat) > 1) report.repeats = summariseRepeats(report.scale);
  report.estimateAt1000 = {
    withMemberMetrics: estimateCores(report.scale, 1000, true, defaultFlags),
    withoutMemberMetrics: estimateCores(report.scale, 1000, false, defaultFlags),
  };
  fs.mkdirSync(path.dirname(flags.out!), { recursive: true });
  fs.writeFileSync(flags.out!, JSON.stringify(report, null, 2) + '\n');
  process.stdout.write(`${formatCostSummary(report)}\nwrote ${flags.out}\n`);
} finally {
  await stop();
}
