/**
 * The operator-cost benchmark (`npm run bench:operator`, scripts/bench-operator.ts): on the real test control
 * plane and a real 3-member etcd, run the operator as a child process, apply N EtcdMonitors at once and
 * measure how soon each gets a status, how often status is written once everything is steady, and what the
 * operator costs in CPU and memory meanwhile. Measuring only; the script prints and saves the report.
 *
 * Clocks: every time here is Date.now() on this host (the operator runs here too), so a status's
 * lastProbeTime can be compared with the moment our own watch saw the status.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { firstRoundPlan } from '../../src/monitor/schedule.js';
import {
  createKubeClient,
  loadKubeConfig,
  type EtcdMonitorObject,
  type WatchHandle,
} from '../../src/controller/kube.js';
import { machineBasics, procRssBytes } from '../lib/proc.js';
import { startControlPlane, toolPath, type ControlPlane } from '../../test/helpers/controlPlane.js';
import { EtcdCluster } from '../../test/helpers/etcdCluster.js';
import { installEtcdMonitorCrd } from '../../test/helpers/operator.js';
import { freePort } from '../../test/helpers/ports.js';
import { startProcess, stopProcess, waitFor, startTogether } from '../../test/helpers/procs.js';
import {
  MachineMeter,
  histogramAvgMs,
  findPid,
  UsageMeter,
  scrape,
  byLabels,
  sum,
  diff,
  total,
  changedFields,
  type Track,
  COMPILED,
  compileOperator,
} from './meters.js';
import {
  percentiles,
  type MonitorTiming,
  type OperatorBenchOptions,
  type OperatorBenchReport,
  type Percentiles,
  type SteadyUpdate,
} from './report.js';

const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');

export async function runOperatorBench(o: OperatorBenchOptions): Promise<OperatorBenchReport> {
  const log = o.log ?? (() => undefined);
  const notes: string[] = [];
  const loadavgStart = os.loadavg().map((x) => Math.round(x * 100) / 100);
  const ns = 'etcd-monitor-bench';
  const intervalMs = o.intervalSeconds * 1000;
  let cp: ControlPlane | undefined;
  let etcd: EtcdCluster | undefined;
  let op: ChildProcess | undefined;
  let watch: WatchHandle | undefined;
  let watching = true;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-operator-'));
  o.onTempDir?.(tmp);
  try {
    let entry: string[];
    if (o.operatorEntry) entry = ['--import', 'tsx', o.operatorEntry];
    else if (o.runner === 'compiled') {
      log('compiling the operator (tsc)…');
      entry = [compileOperator()];
    } else entry = ['--import', 'tsx', path.join(REPO, 'src/cli/main.ts')];

    log('starting the control plane and a 3-member etcd…');
    [cp, etcd] = await startTogether([startControlPlane(), EtcdCluster.start({ size: 3 })]);
    o.onTempDir?.(cp.dir);
    o.onTempDir?.(etcd.dataRoot);
    await installEtcdMonitorCrd(cp, tmp);
    const nsr = await cp.kubectl(['create', 'namespace', ns]);
    if (nsr.code !== 0) throw new Error(`creating namespace ${ns} failed: ${nsr.stderr}`);
    const version = await cp.kubectl(['version', '-o', 'json']);
    const kubernetes =
      (JSON.parse(version.stdout || '{}') as { serverVersion?: { gitVersion?: string } }).serverVersion
        ?.gitVersion ?? 'unknown';
    let etcdVersion = 'unknown';
    try {
      etcdVersion = execFileSync(etcd.binary, ['--version'], { encoding: 'utf8' }).split('\n')[0]!.trim();
    } catch {
      /* unknown */
    }

    // The operator, as a child process (its CPU and RSS are its own).
    const apiPort = await freePort();
    const url = `http://127.0.0.1:${apiPort}`;
    op = startProcess(
      process.execPath,
      [
        ...entry,
        'operator',
        `--kubeconfig=${cp.kubeconfig}`,
        '--api-host=127.0.0.1',
        `--api-port=${apiPort}`,
        '--log-level=warn',
        `--max-concurrent-reconciles=${o.concurrency}`,
      ],
      { cwd: REPO, logFile: path.join(tmp, 'operator.log') },
    );
    await waitFor(
      'operator ready',
      async () => (await fetch(`${url}/ready`).catch(() => undefined))?.status === 200,
      60_000,
      200,
    );
    const opPid = op.pid;
    const apiPid = findPid(toolPath('kube-apiserver'), cp.dir);
    if (!apiPid) notes.push('kube-apiserver process not found: its CPU is not reported');
    const etcdPids = etcd.members.map((m) => m.proc?.pid);
    const endpoints = etcd.endpoints;

    // Our own watch on the benchmark's namespace: when each resource appeared and got its statuses.
    const kube = createKubeClient(loadKubeConfig(cp.kubeconfig));
    const tracks = new Map<string, Track>();
    const names = Array.from({ length: o.monitors }, (_, i) => `bench-${String(i).padStart(3, '0')}`);
    for (const n of names) tracks.set(n, { name: n });
    let window:
      | {
          rvChanges: number;
          fields: Record<string, number>;
          phases: Record<string, number>;
          updates: SteadyUpdate[];
        }
      | undefined;
    const onEvent = (type: string, obj: EtcdMonitorObject): void => {
      const now = Date.now();
      const t = tracks.get(obj.metadata.name);
      if (!t || type === 'BOOKMARK' || type === 'DELETED') return;
      if (type === 'ADDED') t.createdAt ??= now;
      if (type === 'MODIFIED' && window) {
        window.rvChanges++;
        for (const f of changedFields(t.status, obj.status)) window.fields[f] = (window.fields[f] ?? 0) + 1;
        if (t.status?.phase !== obj.status?.phase) {
          const k = `${t.status?.phase ?? '-'}→${obj.status?.phase ?? '-'}`;
          window.phases[k] = (window.phases[k] ?? 0) + 1;
        }
        if (o.keepSteadyUpdates) window.updates.push({ name: t.name, before: t.status, after: obj.status });
      }
      t.generation = obj.metadata.generation;
      t.status = obj.status;
      const s = obj.status;
      if (!s?.phase || s.observedGeneration !== t.generation) return;
      t.phase = s.phase;
      if (t.ackAt === undefined) {
        t.ackAt = now;
        t.ackPhase = s.phase;
      }
      if (t.verdictAt === undefined && s.phase !== 'Pending') {
        t.verdictAt = now;
        t.verdictPhase = s.phase;
        if (s.lastProbeTime) t.verdictProbeTime = Date.parse(s.lastProbeTime);
      }
      if (t.healthyAt === undefined && s.phase === 'Healthy') t.healthyAt = now;
    };
    let rv = (await kube.listMonitors(ns, undefined)).resourceVersion;
    const startWatch = async (): Promise<void> => {
      watch = await kube.watchMonitors(
        ns,
        undefined,
        rv,
        (type, obj) => {
          if (obj.metadata?.resourceVersion) rv = obj.metadata.resourceVersion;
          onEvent(type, obj);
        },
        (err) => {
          if (!watching) return;
          if (err) log(`benchmark watch ended (${String(err)}); resuming`);
          setTimeout(
            () => void startWatch().catch((e: unknown) => log(`watch restart failed: ${String(e)}`)),
            100,
          );
        },
      );
    };
    await startWatch();

    // Idle cost before anything is applied.
    const idle = new UsageMeter([opPid]);
    await new Promise((r) => setTimeout(r, 3000));
    const idleUsage = idle.stop();

    // Apply them all at once: one kubectl apply of a List.
    const list = {
      apiVersion: 'v1',
      kind: 'List',
      items: names.map((name) => ({
        apiVersion: 'etcdmonitor.dev/v1alpha1',
        kind: 'EtcdMonitor',
        metadata: { name, namespace: ns },
        spec: {
          endpoints,
          interval: `${o.intervalSeconds}s`,
          timeout: `${o.timeoutSeconds}s`,
          ...(o.latencyWarningMs !== undefined
            ? { thresholds: { latencyWarningMs: o.latencyWarningMs } }
            : {}),
        },
      })),
    };
    const file = path.join(tmp, 'monitors.json');
    fs.writeFileSync(file, JSON.stringify(list));
    const m0 = await scrape(url);
    log(
      `applying ${o.monitors} EtcdMonitors (interval ${o.intervalSeconds}s, timeout ${o.timeoutSeconds}s)…`,
    );
    const ramp = new UsageMeter([opPid]);
    const apiRamp = new UsageMeter([apiPid]);
    const etcdRamp = new UsageMeter(etcdPids);
    const machineRamp = new MachineMeter();
    const applyAt = Date.now();
    const applied = await cp.kubectl(['apply', '-f', file]);
    const kubectlApplyMs = Date.now() - applyAt;
    if (applied.code !== 0) throw new Error(`kubectl apply failed: ${applied.stderr}`);
    const healthyTimeoutMs = o.healthyTimeoutMs ?? 3 * intervalMs + 60_000;
    await waitFor(
      'every EtcdMonitor Healthy',
      async () => [...tracks.values()].every((t) => t.healthyAt !== undefined),
      healthyTimeoutMs,
      100,
    ).catch((e: unknown) => {
      notes.push(`not every resource turned Healthy: ${(e as Error).message}`);
    });
    const rampUsage = ramp.stop();
    const apiRampUsage = apiRamp.stop();
    const etcdRampUsage = etcdRamp.stop();
    const machineRampBusy = machineRamp.stop();
    log(
      `all Healthy after ${((Date.now() - applyAt) / 1000).toFixed(1)}s; counting status writes for ${o.steadySeconds}s…`,
    );

    // Steady state: every resource probed every interval, nothing changing.
    const m1 = await scrape(url);
    window = { rvChanges: 0, fields: {}, phases: {}, updates: [] };
    const steady = new UsageMeter([opPid]);
    const apiMeter = new UsageMeter([apiPid]);
    const etcdMeter = new UsageMeter(etcdPids);
    const machineSteady = new MachineMeter();
    const steadyAt = Date.now();
    const rssTimeline: Array<[number, number]> = [];
    const rssPoint = (): void => {
      const b = procRssBytes(opPid);
      if (b !== undefined) rssTimeline.push([Math.round((Date.now() - steadyAt) / 1000), b]);
    };
    rssPoint();
    const rssTimer = setInterval(rssPoint, 15_000);
    await new Promise((r) => setTimeout(r, o.steadySeconds * 1000));
    clearInterval(rssTimer);
    rssPoint();
    const steadyUsage = steady.stop();
    const apiUsage = apiMeter.stop();
    const etcdUsage = etcdMeter.stop();
    const machineSteadyBusy = machineSteady.stop();
    const m2 = await scrape(url);
    const w = window;
    window = undefined;

    const patchesLabels = ['reason', 'result'];
    const patchesWindow = diff(
      byLabels(m1, 'etcd_monitor_status_patches_total', patchesLabels),
      byLabels(m2, 'etcd_monitor_status_patches_total', patchesLabels),
    );
    const patchesAll = diff(
      byLabels(m0, 'etcd_monitor_status_patches_total', patchesLabels),
      byLabels(m2, 'etcd_monitor_status_patches_total', patchesLabels),
    );
    // One probe-duration observation per member per round.
    const rounds =
      (sum(m2, 'etcd_member_probe_duration_seconds_count') -
        sum(m1, 'etcd_member_probe_duration_seconds_count')) /
      etcd.members.length;
    const reconciles =
      sum(m2, 'etcd_monitor_reconcile_duration_seconds_count') -
      sum(m0, 'etcd_monitor_reconcile_duration_seconds_count');

    const timings: MonitorTiming[] = [...tracks.values()].map((t) => {
      const created = t.createdAt ?? applyAt;
      const delay = firstRoundDelayMs(`${ns}/${t.name}`, intervalMs, o.firstRounds);
      const rel = (x: number | undefined): number | undefined => (x === undefined ? undefined : x - created);
      return {
        name: t.name,
        createdMs: created - applyAt,
        firstRoundDelayMs: delay,
        ackMs: rel(t.ackAt),
        ackPhase: t.ackPhase,
        verdictMs: rel(t.verdictAt),
        verdictPhase: t.verdictPhase,
        verdictAfterProbeStartMs:
          t.verdictAt !== undefined && t.verdictProbeTime !== undefined
            ? t.verdictAt - t.verdictProbeTime
            : undefined,
        healthyMs: rel(t.healthyAt),
      };
    });
    const pick = (f: (m: MonitorTiming) => number | undefined): Percentiles | undefined =>
      percentiles(timings.map(f).filter((x): x is number => x !== undefined));
    const afterProbeCanRun = pick((m) =>
      m.verdictMs === undefined ? undefined : m.verdictMs - m.firstRoundDelayMs,
    );
    const steadyMin = steadyUsage.wallSeconds / 60;
    if (o.latencyWarningMs !== undefined)
      notes.push(
        `thresholds.latencyWarningMs set to ${o.latencyWarningMs} so that latency on this shared machine does not flip the verdict between Healthy and Degraded: steady state here measures the write policy, not threshold crossings`,
      );
    if (o.steadySeconds < 300)
      notes.push(
        `the steady window (${o.steadySeconds}s) is shorter than the 5m status heartbeat: over longer windows expect on average one heartbeat write per resource per 5m (${o.monitors / 5}/min here) on top of the figures above`,
      );
    const report: OperatorBenchReport = {
      when: new Date().toISOString(),
      machine: {
        ...machineBasics(),
        loadavgStart,
        loadavgEnd: os.loadavg().map((x) => Math.round(x * 100) / 100),
      },
      kubernetes,
      etcd: etcdVersion,
      parameters: {
        monitors: o.monitors,
        interval: `${o.intervalSeconds}s`,
        timeout: `${o.timeoutSeconds}s`,
        steadySeconds: o.steadySeconds,
        maxConcurrentReconciles: o.concurrency,
        operator: o.operatorEntry
          ? `tsx ${o.operatorEntry}`
          : o.runner === 'compiled'
            ? 'compiled JS (tsc), child process'
            : 'tsx src/cli/main.ts, child process',
        firstRounds: o.firstRounds,
        statusHeartbeat: '5m (default)',
        memberMetricsScrape: true,
        latencyWarningMs: o.latencyWarningMs ?? 100,
      },
      apply: { kubectlApplyMs, lastCreatedMs: Math.max(0, ...timings.map((m) => m.createdMs)) },
      timeToStatus: {
        acknowledgedFromApply: pick((m) => (m.ackMs === undefined ? undefined : m.ackMs + m.createdMs)),
        acknowledgedFromCreated: pick((m) => m.ackMs),
        verdictFromApply: pick((m) => (m.verdictMs === undefined ? undefined : m.verdictMs + m.createdMs)),
        verdictFromCreated: pick((m) => m.verdictMs),
        verdictAfterFirstProbeCanRun: afterProbeCanRun,
        verdictAfterProbeStart: pick((m) => m.verdictAfterProbeStartMs),
        healthyFromCreated: pick((m) => m.healthyMs),
        notHealthy: [...tracks.values()].filter((t) => t.healthyAt === undefined).map((t) => t.name),
      },
      target: {
        what: 'timeToStatus.verdictAfterFirstProbeCanRun.p50',
        targetMs: 1000,
        valueMs: afterProbeCanRun?.p50,
        met: afterProbeCanRun !== undefined && afterProbeCanRun.p50 < 1000,
      },
      statusWrites: {
        windowSeconds: steadyUsage.wallSeconds,
        resourceVersionChanges: w.rvChanges,
        perMinute: Math.round((w.rvChanges / steadyMin) * 100) / 100,
        changedFields: w.fields,
        phaseChanges: w.phases,
        withoutPhaseChange: w.rvChanges - total(w.phases),
        operatorPatches: patchesWindow,
        operatorPatchesPerMinute: Math.round((total(patchesWindow) / steadyMin) * 100) / 100,
        operatorPatchesTotal: patchesAll,
      },
      operator: {
        idleBeforeApply: idleUsage,
        ramp: rampUsage,
        steady: {
          ...steadyUsage,
          probeRounds: Math.round(rounds),
          roundsPerSecond: Math.round((rounds / steadyUsage.wallSeconds) * 100) / 100,
          cpuMsPerRound:
            rounds > 0 ? Math.round(((steadyUsage.cpuSeconds * 1000) / rounds) * 100) / 100 : undefined,
        },
        reconcilesTotal: reconciles,
        rssEndBytes: procRssBytes(opPid),
        heapUsedBytes: {
          steadyStart: sum(m1, 'nodejs_heap_size_used_bytes'),
          steadyEnd: sum(m2, 'nodejs_heap_size_used_bytes'),
        },
        rssTimeline,
      },
      apiserverSteady: apiPid ? apiUsage : undefined,
      etcdMembersSteady: etcdUsage,
      apiserverRamp: apiPid ? apiRampUsage : undefined,
      etcdMembersRamp: etcdRampUsage,
      machineBusyPercent: { ramp: machineRampBusy, steady: machineSteadyBusy },
      averagesMs: {
        ramp: {
          memberProbe: histogramAvgMs(m0, m1, 'etcd_member_probe_duration_seconds'),
          reconcile: histogramAvgMs(m0, m1, 'etcd_monitor_reconcile_duration_seconds'),
        },
        steady: {
          memberProbe: histogramAvgMs(m1, m2, 'etcd_member_probe_duration_seconds'),
          reconcile: histogramAvgMs(m1, m2, 'etcd_monitor_reconcile_duration_seconds'),
        },
      },
      notes,
      perMonitor: timings,
    };
    if (o.keepSteadyUpdates) report.steadyUpdates = w.updates;
    return report;
  } finally {
    watching = false;
    watch?.stop();
    if (op) await stopProcess(op, 5000);
    await etcd?.stop().catch(() => undefined);
    await cp?.stop().catch(() => undefined);
    fs.rmSync(tmp, { recursive: true, force: true });
    if (!o.operatorEntry && o.runner === 'compiled') fs.rmSync(COMPILED, { recursive: true, force: true });
  }
}

/** The operator's planned wait before a new resource's first round (what the spread costs a new resource). */
function firstRoundDelayMs(key: string, intervalMs: number, design: 'prompt' | 'spread'): number {
  const plan = firstRoundPlan(key, intervalMs, design === 'prompt');
  return plan.prompt ? 0 : plan.periodicDelayMs;
}
