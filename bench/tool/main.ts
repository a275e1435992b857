/**
 * `npm run bench:tool` (part of `npm run bench`): measure the benchmark tool itself against a fresh real 3-member etcd on loopback.
 * Alternates write and read runs (default 3 of each: 20000 requests, 50 clients, 5 connections,
 * 256-byte values), records throughput, latency and the CPU the client and the etcd members used,
 * and with --profile a CPU profile of the client summarised by where the time goes.
 * Writes bench/results/benchmark.json.
 *
 *   node --import tsx scripts/bench.ts [--reps=3] [--ops=20000] [--clients=50] [--conns=5] [--value-size=256] [--profile]
 *                                      [--sweep-conns=1,5,20]   (also: write throughput per connection count)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Session } from 'node:inspector/promises';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { resolveOptions, type BenchmarkType } from '../../src/benchmark/options.js';
import { machineBasics, procCpuSeconds } from '../lib/proc.js';
import { summariseProfile, type CpuProfile, type CpuProfileNode } from '../lib/profile.js';
import { median } from '../lib/stats.js';
import { runBenchmark } from '../../src/benchmark/runner.js';
import { parseEndpoints } from '../../src/etcd/endpoints.js';
import { EtcdCluster } from '../../test/helpers/etcdCluster.js';

const { values: flags } = parseArgs({
  options: {
    reps: { type: 'string', default: '3' },
    ops: { type: 'string', default: '20000' },
    clients: { type: 'string', default: '50' },
    conns: { type: 'string', default: '5' },
    'value-size': { type: 'string', default: '256' },
    profile: { type: 'boolean', default: false },
    'sweep-conns': { type: 'string', default: '' },
    out: { type: 'string', default: 'bench/results/benchmark.json' },
  },
});
const reps = Number(flags.reps);
const params = {
  ops: Number(flags.ops),
  clients: Number(flags.clients),
  conns: Number(flags.conns),
  valueSize: Number(flags['value-size']),
};

/** Self time by category: where the client's CPU goes. */
function toolCategory(n: CpuProfileNode): string {
  const { url, functionName: f } = n.callFrame;
  if (f === '(idle)') return 'idle (event loop waiting for I/O)';
  if (f === '(garbage collector)') return 'garbage collection';
  if (f === '(program)') return 'V8/native (program)';
  if (/protobufjs|\/long\//.test(url) || /\$(encode|decode|toObject|fromObject)$/.test(f))
    return 'protobuf encode/decode';
  if (/@grpc\/grpc-js/.test(url)) return 'grpc-js';
  if (/node:internal\/http2|node:http2|node:async_hooks|node:internal\/util$/.test(url))
    return 'node http2 (+ its async_hooks bind)';
  if (/node:/.test(url)) return 'node core (streams, timers, events, promises)';
  if (/\/src\/|\/dist\//.test(url)) return 'etcd-monitor';
  if (f === 'runMicrotasks') return 'node core (streams, timers, events, promises)';
  return 'other';
}

const cluster = await EtcdCluster.start({ size: 3 });
const stop = async (): Promise<void> => {
  await cluster.stop();
};
process.once('SIGINT', () => void stop().then(() => process.exit(130)));
try {
  process.stderr.write(
    `etcd ${cluster.endpoints.join(', ')}; ${os.cpus().length} CPUs; ${reps} reps of write and read\n`,
  );
  const target = { endpoints: parseEndpoints(cluster.endpoints), conn: {} };
  const runs: Array<Record<string, unknown>> = [];
  const profiles: Record<string, Record<string, number>> = {};
  for (let rep = 1; rep <= reps; rep++) {
    for (const type of ['write', 'read'] as BenchmarkType[]) {
      const opts = resolveOptions({ type, ...params }, 3);
      const etcd0 = cluster.members.reduce((s, m) => s + procCpuSeconds(m.proc?.pid), 0);
      const cpu0 = process.cpuUsage();
      const elu0 = performance.eventLoopUtilization();
      let session: Session | undefined;
      if (flags.profile && rep === 1) {
        session = new Session();
        session.connect();
        await session.post('Profiler.enable');
        await session.post('Profiler.setSamplingInterval', { interval: 200 });
        await session.post('Profiler.start');
      }
      const r = await runBenchmark(opts, target);
      if (session) {
        const { profile } = (await session.post('Profiler.stop')) as unknown as {
          profile: CpuProfile;
        };
        session.disconnect();
        profiles[type] = summariseProfile(profile, toolCategory).categories;
        fs.mkdirSync('bench/results/profiles', { recursive: true });
        fs.writeFileSync(`bench/results/profiles/${type}.cpuprofile`, JSON.stringify(profile));
      }
      const cpu = process.cpuUsage(cpu0);
      const elu = performance.eventLoopUtilization(elu0);
      const etcdCpu = cluster.members.reduce((s, m) => s + procCpuSeconds(m.proc?.pid), 0) - etcd0;
      const clientCpu = (cpu.user + cpu.system) / 1e6;
      // Keep history small between runs, as an operator would.
      const rev = JSON.parse(
        await cluster.etcdctl(['endpoint', 'status', '-w', 'json'], [cluster.endpoints[0]!]),
      )[0].Status.header.revision as number;
      await cluster.etcdctl(['compact', String(rev)]);
      const row = {
        rep,
        type,
        requestsPerSecond: r.requestsPerSecond,
        durationSeconds: r.durationSeconds,
        failed: r.failed,
        latencyMs: { p50: r.latencyMs.p50, p99: r.latencyMs.p99, avg: r.latencyMs.avg },
        // CPU over the whole call (connect, prepopulate, timed phase, cleanup), per timed request.
        clientCpuSeconds: Math.round(clientCpu * 100) / 100,
        etcdCpuSeconds: Math.round(etcdCpu * 100) / 100,
        // Share of the time the client's event loop was busy (1 = the client itself is the limit).
        eventLoopUtilization: Math.round(elu.utilization * 100) / 100,
        clientCpuMicrosPerRequest: Math.round((clientCpu * 1e6) / (r.total + (r.prepopulate?.keys ?? 0))),
      };
      runs.push(row);
      process.stderr.write(`${JSON.stringify(row)}\n`);
    }
  }
  const sweep: Array<{ conns: number; rep: number; requestsPerSecond: number; p99: number | null }> = [];
  const sweepConns = flags['sweep-conns'] ? flags['sweep-conns'].split(',').map(Number) : [];
  for (let rep = 1; rep <= (sweepConns.length ? reps : 0); rep++) {
    for (const conns of sweepConns) {
      const r = await runBenchmark(
        resolveOptions({ type: 'write', ...params, conns, clients: Math.max(params.clients, conns) }, 3),
        target,
      );
      sweep.push({ conns, rep, requestsPerSecond: r.requestsPerSecond, p99: r.latencyMs.p99 });
      process.stderr.write(`${JSON.stringify(sweep.at(-1))}\n`);
    }
  }
  const summary = Object.fromEntries(
    (['write', 'read'] as const).map((t) => {
      const rs = runs.filter((r) => r.type === t).map((r) => r.requestsPerSecond as number);
      return [t, { medianRequestsPerSecond: median(rs), min: Math.min(...rs), max: Math.max(...rs) }];
    }),
  );
  const result = {
    when: new Date().toISOString(),
    machine: { ...machineBasics(), loadavg: os.loadavg() },
    etcd: (await cluster.etcdctl(['version'])).split('\n')[0],
    cluster: '3 members on loopback, one host (shares the CPUs with this client)',
    parameters: { ...params, keySize: 8, linearizableReads: true },
    summary,
    runs,
    profile: flags.profile ? profiles : undefined,
    connsSweep: sweepConns.length
      ? Object.fromEntries(
          sweepConns.map((c) => [
            c,
            median(sweep.filter((x) => x.conns === c).map((x) => x.requestsPerSecond)),
          ]),
        )
      : undefined,
  };
  fs.mkdirSync(path.dirname(flags.out!), { recursive: true });
  fs.writeFileSync(flags.out!, JSON.stringify(result, null, 2) + '\n');
  process.stdout.write(
    `${JSON.stringify({ summary, profile: result.profile, connsSweep: result.connsSweep }, null, 2)}\nwrote ${flags.out}\n`,
  );
} finally {
  await stop();
}
