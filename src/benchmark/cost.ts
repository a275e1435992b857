/**
 * etcd-monitor's own cost (`npm run bench:cost`), measured against real etcd members:
 *
 * 1. one probe round of a 3-member cluster (the real EtcdProber, with and without the members' own
 *    /metrics) against the cheapest possible round (Maintenance.Status on every member concurrently)
 *    and against the same RPCs issued directly, so our own overhead shows;
 * 2. one process monitoring N clusters with the operator's engine (ClusterMonitor + MonitorRegistry +
 *    MetricsExporter + API server with the dashboard's history), first rounds spread over the interval
 *    like the controller does: CPU, RSS, event-loop delay and round durations over a steady window.
 *    Each N runs in its own child process so its RSS is its own;
 * 3. the time to render `/metrics` and `/api/v1/clusters` with N clusters' real state.
 *
 * The functions take endpoints, not etcd processes: the caller starts real etcd (scripts/bench-cost.ts).
 */
import { fork } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Session } from 'node:inspector/promises';
import { fileURLToPath } from 'node:url';
import { writeHeapSnapshot } from 'node:v8';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { createDashboard } from '../api/dashboard/index.js';
import { ApiServer } from '../api/server.js';
import { clusterSummary as clusterSummaryOf } from '../api/views.js';
import { spreadDelay } from '../controller/controller.js';
import { parseEndpoints } from '../etcd/endpoints.js';
import { MemberClient } from '../etcd/grpc.js';
import { probeErrors } from '../etcd/observation.js';
import { EtcdProber } from '../etcd/probe.js';
import { DEFAULT_THRESHOLDS } from '../health/evaluate.js';
import { silentLogger } from '../log.js';
import { MetricsExporter } from '../metrics/exporter.js';
import { ClusterMonitor, type RoundResult } from '../monitor/clusterMonitor.js';
import { MonitorRegistry } from '../monitor/registry.js';

/** Milliseconds; figures rounded to microseconds. */
export interface Quantiles {
  count: number;
  p50: number;
  p99: number;
  mean: number;
  max: number;
}

const r3 = (v: number): number => Math.round(v * 1000) / 1000;

/** Nearest-rank quantiles; undefined for no samples. */
export function quantiles(xs: readonly number[]): Quantiles | undefined {
  if (xs.length === 0) return undefined;
  const s = Float64Array.from(xs).sort();
  const at = (p: number): number =>
    s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
  let sum = 0;
  for (const v of s) sum += v;
  return {
    count: s.length,
    p50: r3(at(50)),
    p99: r3(at(99)),
    mean: r3(sum / s.length),
    max: r3(s[s.length - 1]!),
  };
}

function cpuMs(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
}

// ---------------------------------------------------------------------------------------------------
// 1. One probe round

export interface ProbeRoundOptions {
  /** One cluster's client URLs. */
  endpoints: string[];
  rounds: number;
  warmupRounds?: number;
  timeoutMs?: number;
}

export interface ProbeVariantResult {
  what: string;
  latencyMs: Quantiles;
  /** This process's CPU (user + system) per round. */
  cpuMsPerRound: number;
  failedRounds: number;
}

export interface ProbeRoundResult {
  members: number;
  rounds: number;
  /** Maintenance.Status on every member concurrently: the cheapest round trip there is. */
  rawStatus: ProbeVariantResult;
  /** The RPCs a probe round makes (Status, health Range per member; Alarm, MemberList from one), issued directly. */
  rawSameRpcs: ProbeVariantResult;
  /** EtcdProber.probe() without the members' /metrics. */
  probe: ProbeVariantResult;
  /** EtcdProber.probe() with each member's /metrics scraped and parsed (the default). */
  probeWithMetrics: ProbeVariantResult;
  /** Differences of p50/p99 latency and of CPU per round (ms). */
  overhead: {
    probeVsRawStatus: { p50Ms: number; p99Ms: number; cpuMsPerRound: number };
    probeVsRawSameRpcs: { p50Ms: number; p99Ms: number; cpuMsPerRound: number };
    metricsScrape: { p50Ms: number; p99Ms: number; cpuMsPerRound: number };
  };
}

type RoundFn = () => Promise<boolean>;

/**
 * Alternate the four variants round by round (rotating which goes first) so load drift on a shared
 * machine hits them alike. Each variant has its own connections, opened and warmed before timing.
 */
export async function measureProbeRound(o: ProbeRoundOptions): Promise<ProbeRoundResult> {
  const t = o.timeoutMs ?? 2000;
  const eps = parseEndpoints(o.endpoints);
  const rawClients = eps.map((e) => new MemberClient(e));
  const sameClients = eps.map((e) => new MemberClient(e));
  const prober = new EtcdProber(eps, {}, { timeoutMs: t, metrics: false });
  const proberM = new EtcdProber(eps, {}, { timeoutMs: t, metrics: true });
  const ok = (obs: Awaited<ReturnType<EtcdProber['probe']>>, metrics: boolean): boolean =>
    probeErrors(obs).length === 0 && (!metrics || obs.members.every((m) => m.metrics));
  const variants: Array<{
    key: keyof Omit<ProbeRoundResult, 'members' | 'rounds' | 'overhead'>;
    what: string;
    run: RoundFn;
  }> = [
    {
      key: 'rawStatus',
      what: 'Maintenance.Status to every member concurrently (MemberClient)',
      run: async () => {
        await Promise.all(rawClients.map((c) => c.status(t)));
        return true;
      },
    },
    {
      key: 'rawSameRpcs',
      what: 'the RPCs of a probe round issued directly: Status and health Range per member, Alarm and MemberList from one',
      run: async () => {
        await Promise.all([
          ...sameClients.flatMap((c) => [c.status(t), c.healthRead(t)]),
          sameClients[0]!.alarms(t),
          sameClients[0]!.memberList(t),
        ]);
        return true;
      },
    },
    {
      key: 'probe',
      what: 'EtcdProber.probe() without member /metrics',
      run: async () => ok(await prober.probe(Date.now()), false),
    },
    {
      key: 'probeWithMetrics',
      what: "EtcdProber.probe() with each member's /metrics scraped and parsed",
      run: async () => ok(await proberM.probe(Date.now()), true),
    },
  ];
  const lat = variants.map(() => [] as number[]);
  const cpu = variants.map(() => 0);
  const failed = variants.map(() => 0);
  try {
    for (let i = 0; i < (o.warmupRounds ?? 20); i++)
      for (const v of variants) await v.run().catch(() => false);
    for (let i = 0; i < o.rounds; i++) {
      for (let j = 0; j < variants.length; j++) {
        const k = (i + j) % variants.length;
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        const good = await variants[k]!.run().catch(() => false);
        lat[k]!.push(performance.now() - t0);
        cpu[k]! += cpuMs(c0);
        if (!good) failed[k]!++;
      }
    }
  } finally {
    for (const c of [...rawClients, ...sameClients]) c.close();
    prober.close();
    proberM.close();
  }
  const res = {} as Record<string, ProbeVariantResult>;
  variants.forEach((v, k) => {
    res[v.key] = {
      what: v.what,
      latencyMs: quantiles(lat[k]!)!,
      cpuMsPerRound: r3(cpu[k]! / o.rounds),
      failedRounds: failed[k]!,
    };
  });
  const d = (
    a: ProbeVariantResult,
    b: ProbeVariantResult,
  ): { p50Ms: number; p99Ms: number; cpuMsPerRound: number } => ({
    p50Ms: r3(a.latencyMs.p50 - b.latencyMs.p50),
    p99Ms: r3(a.latencyMs.p99 - b.latencyMs.p99),
    cpuMsPerRound: r3(a.cpuMsPerRound - b.cpuMsPerRound),
  });
  return {
    members: eps.length,
    rounds: o.rounds,
    rawStatus: res.rawStatus!,
    rawSameRpcs: res.rawSameRpcs!,
    probe: res.probe!,
    probeWithMetrics: res.probeWithMetrics!,
    overhead: {
      probeVsRawStatus: d(res.probe!, res.rawStatus!),
      probeVsRawSameRpcs: d(res.probe!, res.rawSameRpcs!),
      metricsScrape: d(res.probeWithMetrics!, res.probe!),
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// 2 + 3. Many clusters in one process

export interface ScaleOptions {
  /** How many clusters to monitor. */
  clusters: number;
  /** Client URLs of the real etcd clusters the monitored clusters point at, round-robin. */
  targets: string[][];
  intervalMs: number;
  timeoutMs: number;
  /** Scrape each member's /metrics (the EtcdMonitor default). */
  memberMetrics: boolean;
  /** Extra settling time after every cluster has completed its first round. */
  settleMs: number;
  /** The measured window. */
  windowMs: number;
  /** Fill the dashboard history to its capacity first, as after capacity × interval of running. */
  fillHistory: boolean;
  /** How many times to time the /metrics and /api/v1/clusters renders. */
  renders: number;
  /** Write a CPU profile of the window here (and summarise it). */
  profilePath?: string;
  /** Write a heap snapshot after the window here (needs the worker's --expose-gc). */
  heapSnapshotPath?: string;
  /** Extra node flags for the worker (measureScale), e.g. ['--max-old-space-size=192']. */
  nodeFlags?: string[];
}

export interface ScaleResult {
  clusters: number;
  members: number;
  intervalMs: number;
  timeoutMs: number;
  memberMetrics: boolean;
  /** Node flags the worker ran with besides --expose-gc (e.g. a heap limit). */
  nodeFlags: string[];
  historyPointsPerCluster: number;
  windowSeconds: number;
  /** CPU of the whole process (all threads) over the window, in cores (1 = one CPU busy all the time). */
  cpu: { cores: number; userCores: number; systemCores: number; msPerClusterRound: number };
  /** Share of the window the event loop was busy. */
  eventLoopUtilization: number;
  /**
   * The process could not keep up (event loop busy > 95% of the window, fewer than 90% of the expected
   * rounds, or more than 5% of rounds with errors): its figures are those of an overloaded process
   * (work queued up), not a steady state.
   */
  saturated: boolean;
  /** perf_hooks.monitorEventLoopDelay over the window, ms. */
  eventLoopDelayMs: { p50: number; p99: number; max: number };
  memory: {
    /** RSS once the engine, exporter and API server exist, before any cluster. */
    baselineRssMiB: number;
    /** RSS after every cluster's first round, before the history was filled. */
    afterFirstRoundsRssMiB: number;
    rssMiB: { end: number; max: number };
    heapUsedMiB: number;
    /** V8 heap reserved (used + free space it keeps), part of the RSS. */
    heapTotalMiB: number;
    /** Heap still in use after a full garbage collection (live data), when the worker can force one. */
    heapLiveMiB?: number;
    externalMiB: number;
  };
  rounds: {
    count: number;
    expected: number;
    durationMs: Quantiles | undefined;
    withErrors: number;
    errorSamples: string[];
  };
  phases: Record<string, number>;
  render: {
    metrics: { ms: Quantiles; bytes: number; lines: number };
    /** Through the API server; `failed` counts answers other than 200 (an overloaded server times requests out). */
    metricsHttp: { ms: Quantiles; bytes: number; failed: number };
    clustersJson: { ms: Quantiles; bytes: number };
    clustersJsonHttp: { ms: Quantiles; bytes: number; failed: number };
  };
  profile?: { file: string; summary: ProfileSummary };
}

export interface ScaleHooks {
  /** Called when the measured window starts and ends (the parent samples the etcd members' CPU). */
  onWindow?(phase: 'start' | 'end'): void | Promise<void>;
  log?(msg: string): void;
}

const MiB = 1024 * 1024;
const mib = (b: number): number => Math.round((b / MiB) * 10) / 10;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** GET a URL; status 0 when it failed or took longer than a minute. */
function httpGet(url: string): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: 60_000 }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
      res.on('error', () => resolve({ status: 0, bytes }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ status: 0, bytes: 0 }));
  });
}

/** Monitor `clusters` clusters in this process and measure it. Use measureScale() for a clean process. */
export async function runScale(o: ScaleOptions, hooks: ScaleHooks = {}): Promise<ScaleResult> {
  const log = hooks.log ?? (() => undefined);
  const silent = silentLogger();
  const registry = new MonitorRegistry();
  registry.setMaxListeners(0);
  const exporter = new MetricsExporter(registry);
  const dashboard = createDashboard(registry, {});
  const api = new ApiServer(
    registry,
    exporter,
    { host: '127.0.0.1', port: 0, ready: () => true, extraRoutes: dashboard.routes },
    silent,
  );
  const addr = await api.listen();
  const base = `http://127.0.0.1:${addr.port}`;
  const targets = o.targets.map((t) => parseEndpoints(t));
  const baselineRss = process.memoryUsage().rss;
  let members = 0;
  try {
    const width = String(o.clusters).length;
    for (let i = 0; i < o.clusters; i++) {
      const eps = targets[i % targets.length]!;
      members += eps.length;
      const name = `bench/cluster-${String(i).padStart(width, '0')}`;
      // Its own prober: its own gRPC channels and HTTP requests, as a separate cluster would need.
      const prober = new EtcdProber(eps, {}, { timeoutMs: o.timeoutMs, metrics: o.memberMetrics });
      const mon = new ClusterMonitor(
        { name, intervalMs: o.intervalMs, timeoutMs: o.timeoutMs, thresholds: DEFAULT_THRESHOLDS },
        prober,
        silent,
      );
      registry.add(mon);
      mon.start(spreadDelay(name, o.intervalMs));
    }
    // Every cluster's first round lands within one interval (spread); wait for all of them.
    const firstDeadline = Date.now() + o.intervalMs + 2 * o.timeoutMs + 30_000;
    while (registry.list().some((m) => m.rounds === 0)) {
      if (Date.now() > firstDeadline)
        throw new Error(`not every cluster completed a first round within ${firstDeadline}ms`);
      await sleep(250);
    }
    log(`${o.clusters} clusters: every first round done`);
    const afterFirstRss = process.memoryUsage().rss;
    let historyPoints = 0;
    if (o.fillHistory) {
      // The dashboard keeps `capacity` rounds per cluster: fill it as a long-running process would have.
      for (const m of registry.list()) {
        const r = m.latest;
        if (!r) continue;
        for (let i = dashboard.history.points(m.name).length; i < dashboard.history.capacity; i++) {
          dashboard.history.record({
            ...r,
            observation: { ...r.observation, time: r.observation.time - (i + 1) * o.intervalMs },
          });
        }
      }
      historyPoints = dashboard.history.capacity;
    }
    await sleep(o.settleMs);

    // The window.
    const durations: number[] = [];
    let withErrors = 0;
    const errorSamples = new Set<string>();
    const onRound = (r: RoundResult): void => {
      durations.push(r.durationMs);
      const errs = probeErrors(r.observation).map((e) => e.message);
      if (errs.length) {
        withErrors++;
        if (errorSamples.size < 5) errorSamples.add(errs[0]!.replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:*'));
      }
    };
    await hooks.onWindow?.('start');
    let session: Session | undefined;
    if (o.profilePath) {
      session = new Session();
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: 500 });
      await session.post('Profiler.start');
    }
    registry.on('round', onRound);
    const eld = monitorEventLoopDelay({ resolution: 10 });
    eld.enable();
    const elu0 = performance.eventLoopUtilization();
    const cpu0 = process.cpuUsage();
    const w0 = performance.now();
    let rssMax = 0;
    const rssTicker = setInterval(() => (rssMax = Math.max(rssMax, process.memoryUsage().rss)), 500);
    await sleep(o.windowMs);
    clearInterval(rssTicker);
    const windowMs = performance.now() - w0;
    const cpu = process.cpuUsage(cpu0);
    const elu = performance.eventLoopUtilization(elu0);
    eld.disable();
    registry.off('round', onRound);
    let profile: ScaleResult['profile'];
    if (session) {
      const { profile: p } = (await session.post('Profiler.stop')) as unknown as { profile: CpuProfile };
      session.disconnect();
      fs.mkdirSync(path.dirname(o.profilePath!), { recursive: true });
      fs.writeFileSync(o.profilePath!, JSON.stringify(p));
      profile = { file: o.profilePath!, summary: summariseProfile(p) };
    }
    await hooks.onWindow?.('end');
    const mem = process.memoryUsage();
    rssMax = Math.max(rssMax, mem.rss);
    const gc = (globalThis as { gc?: () => void }).gc;
    let heapLiveMiB: number | undefined;
    if (gc) {
      gc();
      heapLiveMiB = mib(process.memoryUsage().heapUsed);
      if (o.heapSnapshotPath) writeHeapSnapshot(o.heapSnapshotPath);
    }

    const phases: Record<string, number> = {};
    for (const m of registry.list()) {
      const ph = m.status?.phase ?? 'Pending';
      phases[ph] = (phases[ph] ?? 0) + 1;
    }

    // 3. Renders, with the monitors still running (as a scrape would meet them).
    const renderMs: number[] = [];
    const httpMs: number[] = [];
    const jsonMs: number[] = [];
    const jsonHttpMs: number[] = [];
    let body = '';
    let httpBytes = 0;
    let jsonBytes = 0;
    let jsonHttpBytes = 0;
    let httpFailed = 0;
    let jsonHttpFailed = 0;
    const rendersUntil = Date.now() + 60_000; // an overloaded process answers slowly: cap the time spent here
    for (let i = 0; i < o.renders && (i === 0 || Date.now() < rendersUntil); i++) {
      let t0 = performance.now();
      body = (await exporter.render()).body;
      renderMs.push(performance.now() - t0);
      t0 = performance.now();
      const h = await httpGet(`${base}/metrics`);
      httpMs.push(performance.now() - t0);
      if (h.status === 200) httpBytes = h.bytes;
      else httpFailed++;
      t0 = performance.now();
      // What GET /api/v1/clusters builds and serialises (src/api/server.ts), without the socket.
      const text = JSON.stringify({ clusters: registry.list().map((m) => clusterSummaryOf(m)) }, null, 2);
      jsonMs.push(performance.now() - t0);
      jsonBytes = text.length;
      t0 = performance.now();
      const j = await httpGet(`${base}/api/v1/clusters`);
      jsonHttpMs.push(performance.now() - t0);
      if (j.status === 200) jsonHttpBytes = j.bytes;
      else jsonHttpFailed++;
      await sleep(50);
    }
    const ws = windowMs / 1000;
    const expected = Math.round((o.clusters * windowMs) / o.intervalMs);
    const saturated =
      elu.utilization > 0.95 || durations.length < 0.9 * expected || withErrors > 0.05 * durations.length;
    return {
      clusters: o.clusters,
      members,
      intervalMs: o.intervalMs,
      timeoutMs: o.timeoutMs,
      memberMetrics: o.memberMetrics,
      nodeFlags: o.nodeFlags ?? [],
      historyPointsPerCluster: historyPoints,
      windowSeconds: r3(ws),
      cpu: {
        cores: r3((cpu.user + cpu.system) / 1e6 / ws),
        userCores: r3(cpu.user / 1e6 / ws),
        systemCores: r3(cpu.system / 1e6 / ws),
        msPerClusterRound: r3((cpu.user + cpu.system) / 1000 / Math.max(1, durations.length)),
      },
      eventLoopUtilization: r3(elu.utilization),
      saturated,
      eventLoopDelayMs: {
        p50: r3(eld.percentile(50) / 1e6),
        p99: r3(eld.percentile(99) / 1e6),
        max: r3(eld.max / 1e6),
      },
      memory: {
        baselineRssMiB: mib(baselineRss),
        afterFirstRoundsRssMiB: mib(afterFirstRss),
        rssMiB: { end: mib(mem.rss), max: mib(rssMax) },
        heapUsedMiB: mib(mem.heapUsed),
        heapTotalMiB: mib(mem.heapTotal),
        heapLiveMiB,
        externalMiB: mib(mem.external),
      },
      rounds: {
        count: durations.length,
        expected,
        durationMs: quantiles(durations),
        withErrors,
        errorSamples: [...errorSamples],
      },
      phases,
      render: {
        metrics: {
          ms: quantiles(renderMs)!,
          bytes: Buffer.byteLength(body),
          lines: body.split('\n').filter((l) => l && !l.startsWith('#')).length,
        },
        metricsHttp: { ms: quantiles(httpMs)!, bytes: httpBytes, failed: httpFailed },
        clustersJson: { ms: quantiles(jsonMs)!, bytes: jsonBytes },
        clustersJsonHttp: { ms: quantiles(jsonHttpMs)!, bytes: jsonHttpBytes, failed: jsonHttpFailed },
      },
      profile,
    };
  } finally {
    dashboard.close();
    await registry.stopAll();
    await api.close();
  }
}

/**
 * Run runScale() in a fresh child process so the RSS is that N's alone. The worker is
 * src/benchmark/costWorker (run through tsx when this file is TypeScript), or `worker`: a compiled
 * costWorker.js run by plain node, as production runs (tsx's loader alone adds tens of MiB of RSS).
 */
export function measureScale(o: ScaleOptions, hooks: ScaleHooks = {}, worker?: string): Promise<ScaleResult> {
  const self = fileURLToPath(import.meta.url);
  const script = worker ?? path.join(path.dirname(self), `costWorker${path.extname(self)}`);
  // --expose-gc only to measure the live heap after the window (runScale calls gc() once, at the end).
  const execArgv = [
    '--expose-gc',
    ...(o.nodeFlags ?? []),
    ...(script.endsWith('.js')
      ? []
      : process.execArgv.some((a) => a.includes('tsx'))
        ? process.execArgv
        : [...process.execArgv, '--import', 'tsx']),
  ];
  return new Promise((resolve, reject) => {
    const child = fork(script, [], {
      execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
    });
    let result: ScaleResult | undefined;
    let failure: Error | undefined;
    child.on('message', (msg: WorkerMessage) => {
      if (msg.type === 'window') {
        void Promise.resolve(hooks.onWindow?.(msg.phase)).finally(() => child.send({ type: 'window-ack' }));
      } else if (msg.type === 'log') hooks.log?.(msg.text);
      else if (msg.type === 'result') result = msg.result;
      else if (msg.type === 'error') failure = new Error(msg.message);
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (result) resolve(result);
      else reject(failure ?? new Error(`cost worker exited (${signal ?? code}) without a result`));
    });
    child.send({ type: 'run', options: o });
  });
}

export type WorkerMessage =
  | { type: 'window'; phase: 'start' | 'end' }
  | { type: 'log'; text: string }
  | { type: 'result'; result: ScaleResult }
  | { type: 'error'; message: string };

// ---------------------------------------------------------------------------------------------------
// CPU profiles

interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

export interface CpuProfile {
  nodes: CpuProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  /** Share of sampled time by category, percent. */
  categories: Record<string, number>;
  /** The functions with the most self time (percent of all samples, idle included). */
  topFunctions: Array<{ fn: string; percent: number }>;
}

function profileCategory(n: CpuProfileNode): string {
  const { url, functionName: f } = n.callFrame;
  if (f === '(idle)') return 'idle';
  if (f === '(garbage collector)') return 'garbage collection';
  if (f === '(program)') return 'V8/native (program)';
  if (/protobufjs|\/long\//.test(url)) return 'protobuf encode/decode';
  if (/@grpc\/grpc-js/.test(url)) return 'grpc-js';
  if (/prom-client/.test(url)) return 'prom-client';
  if (/src\/etcd\/(promtext|memberMetrics)/.test(url)) return 'etcd-monitor: member /metrics parsing';
  if (
    /src\/etcd\/scrape|node:_http|node:http|node:internal\/http|node:net|node:internal\/stream/.test(url) &&
    !/http2/.test(url)
  )
    return 'HTTP client (member /metrics fetch) + streams';
  if (/node:internal\/http2|node:http2/.test(url)) return 'node http2';
  if (/src\/health\//.test(url)) return 'etcd-monitor: evaluate';
  if (/src\/|\/dist\//.test(url)) return 'etcd-monitor: other';
  if (/node:/.test(url) || f === 'runMicrotasks') return 'node core (timers, events, promises)';
  return 'other';
}

export function summariseProfile(p: CpuProfile): ProfileSummary {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const cats = new Map<string, number>();
  const fns = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i] ?? 0;
    const n = byId.get(p.samples[i]!);
    if (!n) continue;
    total += dt;
    const c = profileCategory(n);
    cats.set(c, (cats.get(c) ?? 0) + dt);
    const { functionName, url, lineNumber } = n.callFrame;
    const key = `${functionName || '(anonymous)'} ${url.replace(/^.*\/(node_modules|src)\//, '$1/')}:${lineNumber + 1}`;
    fns.set(key, (fns.get(key) ?? 0) + dt);
  }
  const pct = (v: number): number => Math.round((1000 * v) / Math.max(1, total)) / 10;
  return {
    categories: Object.fromEntries([...cats].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, pct(v)])),
    topFunctions: [...fns]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 15)
      .map(([fn, v]) => ({ fn, percent: pct(v) })),
  };
}

// ---------------------------------------------------------------------------------------------------
// Reporting

export interface MachineInfo {
  cpuModel: string;
  cpuCount: number;
  node: string;
  platform: string;
  memoryBytes: number;
  loadavg: number[];
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model ?? 'unknown',
    cpuCount: cpus.length,
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    memoryBytes: os.totalmem(),
    loadavg: os.loadavg().map((v) => Math.round(v * 100) / 100),
  };
}

export interface CostTargets {
  coresAt1000: number;
  rssMiBAt1000: number;
  metricsRenderMsAt1000: number;
}

export const COST_TARGETS: CostTargets = { coresAt1000: 0.5, rssMiBAt1000: 300, metricsRenderMsAt1000: 100 };

export interface ScaleRow extends ScaleResult {
  /** CPU the real etcd members used over the window (all of them together), in cores. */
  etcdCores?: number;
  loadavgAfter: number[];
}

/**
 * CPU the engine would need for `clusters` clusters at `intervalMs`, from the largest measured row that
 * was not saturated: its CPU per cluster round x rounds per second.
 */
export function estimateCores(
  scale: readonly ScaleRow[],
  clusters: number,
  memberMetrics: boolean,
): { cores: number; fromClusters: number } | undefined {
  const rows = scale
    .filter((r) => !r.saturated && r.memberMetrics === memberMetrics && !r.nodeFlags?.length)
    .sort((a, b) => b.clusters - a.clusters);
  const row = rows[0];
  if (!row) return undefined;
  return { cores: r3((row.cpu.msPerClusterRound * clusters) / row.intervalMs), fromClusters: row.clusters };
}

export interface CostReport {
  when: string;
  machine: MachineInfo;
  etcd: string;
  setup: string;
  /** Size of one member's own /metrics, which every probe round reads from every member. */
  memberMetricsExposition?: { bytes: number; sampleLines: number };
  probeRound?: ProbeRoundResult;
  scale: ScaleRow[];
  /** Sizes whose worker failed, with why. */
  failures?: Array<{ clusters: number; memberMetrics: boolean; error: string }>;
  targets: CostTargets & { met?: Record<string, boolean | null> };
  /** CPU at 1000 clusters estimated from the largest unsaturated row (with and without member /metrics). */
  estimateAt1000?: {
    withMemberMetrics?: { cores: number; fromClusters: number };
    withoutMemberMetrics?: { cores: number; fromClusters: number };
  };
  /** What limits the figures, in words (filled in by whoever ran it; see docs). */
  notes?: string[];
}

/** Which targets the 1000-cluster row meets (null: that row was not measured). */
export function judgeTargets(scale: readonly ScaleRow[]): Record<string, boolean | null> {
  const row =
    scale.find((r) => r.clusters === 1000 && r.memberMetrics) ?? scale.find((r) => r.clusters === 1000);
  return judgeRow(row);
}

/** Which targets one row meets (null for no row); meaningful for a 1000-cluster row. */
export function judgeRow(row: ScaleRow | undefined): Record<string, boolean | null> {
  if (!row) return { cpu: null, rss: null, metricsRender: null };
  return {
    cpu: row.cpu.cores < COST_TARGETS.coresAt1000,
    rss: row.memory.rssMiB.max < COST_TARGETS.rssMiBAt1000,
    metricsRender: row.render.metrics.ms.p50 < COST_TARGETS.metricsRenderMsAt1000,
  };
}

function pad(s: string | number, n: number): string {
  return String(s).padStart(n);
}

/** The human summary `npm run bench:cost` prints. */
export function formatCostSummary(r: CostReport): string {
  const out: string[] = [];
  out.push(
    `etcd-monitor own cost — ${r.machine.cpuCount} CPUs (${r.machine.cpuModel}), node ${r.machine.node}, ${r.etcd}`,
  );
  out.push(`load average at start: ${r.machine.loadavg.join(' ')}`);
  out.push(r.setup);
  if (r.memberMetricsExposition)
    out.push(
      `one member's /metrics: ${Math.round(r.memberMetricsExposition.bytes / 1024)} KiB, ${r.memberMetricsExposition.sampleLines} samples`,
    );
  const p = r.probeRound;
  if (p) {
    out.push('');
    out.push(`One probe round, ${p.members} members on loopback, ${p.rounds} rounds (ms):`);
    out.push(`  ${'variant'.padEnd(44)} ${pad('p50', 8)} ${pad('p99', 8)} ${pad('cpu/round', 10)} failed`);
    for (const [name, v] of [
      ['raw Status x members (MemberClient)', p.rawStatus],
      ['raw: same RPCs as a probe round', p.rawSameRpcs],
      ['EtcdProber, no member /metrics', p.probe],
      ['EtcdProber, with member /metrics', p.probeWithMetrics],
    ] as const) {
      out.push(
        `  ${name.padEnd(44)} ${pad(v.latencyMs.p50.toFixed(2), 8)} ${pad(v.latencyMs.p99.toFixed(2), 8)} ${pad(v.cpuMsPerRound.toFixed(2), 10)} ${v.failedRounds}`,
      );
    }
    const o = p.overhead;
    out.push(
      `  overhead: probe vs raw Status +${o.probeVsRawStatus.p50Ms.toFixed(2)} ms p50 / +${o.probeVsRawStatus.p99Ms.toFixed(2)} ms p99; ` +
        `vs the same RPCs issued directly ${o.probeVsRawSameRpcs.p50Ms >= 0 ? '+' : ''}${o.probeVsRawSameRpcs.p50Ms.toFixed(2)} ms p50; ` +
        `member /metrics adds +${o.metricsScrape.p50Ms.toFixed(2)} ms p50, +${o.metricsScrape.cpuMsPerRound.toFixed(2)} ms CPU per round`,
    );
  }
  if (r.scale.length) {
    out.push('');
    out.push('Many clusters in one process (10 s interval unless noted):');
    out.push(
      `  ${pad('N', 5)} ${pad('metrics', 7)} ${pad('cores', 6)} ${pad('ms/round', 8)} ${pad('RSS MiB', 8)} ${pad('heap', 6)} ${pad('ELD p99', 8)} ${pad('ELU', 5)} ${pad('round p50', 9)} ${pad('p99', 7)} ${pad('errors', 7)} ${pad('/metrics ms', 11)} ${pad('clusters ms', 11)} ${pad('etcd cores', 10)}`,
    );
    for (const s of r.scale) {
      out.push(
        `  ${pad(s.clusters, 5)} ${pad(s.memberMetrics ? 'yes' : 'no', 7)} ${pad(s.cpu.cores.toFixed(3), 6)} ${pad(s.cpu.msPerClusterRound.toFixed(2), 8)} ${pad(s.memory.rssMiB.max.toFixed(0), 8)} ${pad(s.memory.heapUsedMiB.toFixed(0), 6)} ` +
          `${pad(s.eventLoopDelayMs.p99.toFixed(1), 8)} ${pad(s.eventLoopUtilization.toFixed(2), 5)} ${pad(s.rounds.durationMs?.p50.toFixed(1) ?? '-', 9)} ${pad(s.rounds.durationMs?.p99.toFixed(1) ?? '-', 7)} ` +
          `${pad(`${s.rounds.withErrors}/${s.rounds.count}`, 7)} ${pad(s.render.metrics.ms.p50.toFixed(1), 11)} ${pad(s.render.clustersJson.ms.p50.toFixed(1), 11)} ${pad(s.etcdCores?.toFixed(2) ?? '-', 10)}` +
          (s.nodeFlags.length ? `  (${s.nodeFlags.join(' ')})` : '') +
          (s.saturated ? '  SATURATED' : ''),
      );
    }
    if (r.scale.some((s) => s.saturated))
      out.push(
        '  SATURATED: the process could not keep up on this machine (see ScaleResult.saturated); not a steady state.',
      );
    for (const [label, e] of [
      ['with member /metrics', r.estimateAt1000?.withMemberMetrics],
      ['without member /metrics', r.estimateAt1000?.withoutMemberMetrics],
    ] as const) {
      if (e)
        out.push(
          `  CPU needed at 1000 clusters ${label}, from the ${e.fromClusters}-cluster row: ${e.cores} cores`,
        );
    }
    const yn = (b: boolean | null | undefined): string => (b ? 'met' : 'MISSED');
    for (const row of r.scale.filter((x) => x.clusters === 1000)) {
      const met = judgeRow(row);
      const what = [
        row.memberMetrics ? 'with member /metrics' : 'without member /metrics',
        ...row.nodeFlags,
      ].join(', ');
      out.push(
        `  targets at 1000 clusters (${what}${row.saturated ? ', SATURATED' : ''}): < ${r.targets.coresAt1000} core ${yn(met.cpu)}, ` +
          `< ${r.targets.rssMiBAt1000} MiB RSS ${yn(met.rss)}, /metrics < ${r.targets.metricsRenderMsAt1000} ms ${yn(met.metricsRender)}`,
      );
    }
  }
  for (const n of r.notes ?? []) out.push(`note: ${n}`);
  return out.join('\n');
}
