/**
 * Cost parts 2 + 3: one process monitoring N clusters with the operator's engine (ClusterMonitor +
 * MonitorRegistry + MetricsExporter + API server with the dashboard's history), first rounds spread over
 * the interval like the controller does: CPU, RSS, event-loop delay and round durations over a steady
 * window; then the time to render `/metrics` and `/api/v1/clusters` with N clusters' real state.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Session } from 'node:inspector/promises';
import { writeHeapSnapshot } from 'node:v8';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { createDashboard } from '../../src/api/dashboard/index.js';
import { ApiServer } from '../../src/api/server.js';
import { clusterSummary as clusterSummaryOf } from '../../src/api/views.js';
import { spreadDelay } from '../../src/monitor/schedule.js';
import { parseEndpoints } from '../../src/etcd/endpoints.js';
import { probeErrors } from '../../src/etcd/observation.js';
import { EtcdProber } from '../../src/etcd/probe.js';
import { DEFAULT_THRESHOLDS } from '../../src/health/evaluate.js';
import { silentLogger } from '../../src/log.js';
import { MetricsExporter } from '../../src/metrics/exporter.js';
import { ClusterMonitor, type RoundResult } from '../../src/monitor/clusterMonitor.js';
import { MonitorRegistry } from '../../src/monitor/registry.js';
import { mib, quantiles, r3 } from './quantiles.js';
import type { ScaleHooks, ScaleOptions, ScaleResult } from './measure.js';
import { summariseProfile, type CpuProfile } from '../lib/profile.js';
import { costProfileCategory } from './profile.js';

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
      const prober = new EtcdProber(
        eps,
        {},
        {
          timeoutMs: o.timeoutMs,
          metrics: o.memberMetrics,
          metricsUrls: o.metricsUrls?.[i % targets.length],
          metricsGzip: o.metricsGzip,
          metricsProtobuf: o.metricsProtobuf,
        },
      );
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
      profile = { file: o.profilePath!, summary: summariseProfile(p, costProfileCategory) };
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
      ...(o.memberMetrics
        ? {
            metricsSource: o.metricsUrls ? 'replay' : 'etcd',
            metricsGzip: o.metricsGzip !== false,
            metricsProtobuf: o.metricsProtobuf !== false,
          }
        : {}),
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
