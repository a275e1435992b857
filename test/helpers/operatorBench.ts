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
import { crdYaml } from '../../src/crd/generate.js';
import type { EtcdMonitorStatus } from '../../src/crd/types.js';
import { firstRoundPlan } from '../../src/controller/controller.js';
import { createKubeClient, loadKubeConfig, type EtcdMonitorObject, type WatchHandle } from '../../src/controller/kube.js';
import { machineBasics, procCpuSeconds, procRssBytes } from '../../src/benchmark/proc.js';
import { percentile, sortedCopy } from '../../src/benchmark/stats.js';
import { parsePromText, type Sample } from '../../src/etcd/promtext.js';
import { startControlPlane, toolPath, type ControlPlane } from './controlPlane.js';
import { EtcdCluster } from './etcdCluster.js';
import { freePort } from './ports.js';
import { startProcess, stopProcess, waitFor } from './procs.js';

const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');

export interface OperatorBenchOptions {
  /** EtcdMonitors applied at once (all naming the same real etcd). */
  monitors: number;
  intervalSeconds: number;
  timeoutSeconds: number;
  /** How long to count status writes once every resource is Healthy. */
  steadySeconds: number;
  /** The operator's --max-concurrent-reconciles. */
  concurrency: number;
  /** How to run the operator: compiled JS (tsc into .cache, as production runs it) or through tsx. */
  runner: 'compiled' | 'tsx';
  /**
   * How the operator under test starts first rounds, for the "after the first probe can run" figures:
   * 'prompt' (this tree: new resources are probed at once) or 'spread' (older builds: at spreadDelay).
   */
  firstRounds: 'prompt' | 'spread';
  /** Another checkout's src/cli/main.ts to measure instead (with runner 'tsx'), e.g. the last commit. */
  operatorEntry?: string;
  /** Give up waiting for everything to turn Healthy after this long. */
  healthyTimeoutMs?: number;
  /** Progress lines. */
  log?: (line: string) => void;
  /** spec.thresholds.latencyWarningMs for every resource (default: unset, the product default of 100). */
  latencyWarningMs?: number;
  /** Keep every status update seen at steady state (before/after) in the report, for diagnosis. */
  keepSteadyUpdates?: boolean;
  /** Called with the directories to remove should the process be killed (the script's signal handlers). */
  onTempDir?: (dir: string) => void;
}

export interface Percentiles {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface ProcUsage {
  wallSeconds: number;
  cpuSeconds: number;
  /** cpuSeconds / wallSeconds, in percent of one core. */
  cpuPercentOfOneCore: number;
  rssMaxBytes?: number;
  rssEndBytes?: number;
}

export interface MonitorTiming {
  name: string;
  /** ms after `kubectl apply` started that our watch saw the resource created. */
  createdMs: number;
  /** The operator's planned wait before this resource's first probe round (0 when probed promptly). */
  firstRoundDelayMs: number;
  /** ms after creation: first status for this generation (any phase, Pending included). */
  ackMs?: number;
  ackPhase?: string;
  /** ms after creation: first verdict (a phase other than Pending) for this generation. */
  verdictMs?: number;
  verdictPhase?: string;
  /** ms after the first round started (its lastProbeTime) that the verdict was visible. */
  verdictAfterProbeStartMs?: number;
  healthyMs?: number;
}

export interface OperatorBenchReport {
  when: string;
  machine: {
    cpus: string[];
    cpuCount: number;
    node: string;
    platform: string;
    memoryBytes: number;
    loadavgStart: number[];
    loadavgEnd: number[];
  };
  kubernetes: string;
  etcd: string;
  parameters: {
    monitors: number;
    interval: string;
    timeout: string;
    steadySeconds: number;
    maxConcurrentReconciles: number;
    operator: string;
    firstRounds: 'prompt' | 'spread';
    statusHeartbeat: string;
    memberMetricsScrape: boolean;
    latencyWarningMs: number;
  };
  apply: { kubectlApplyMs: number; lastCreatedMs: number };
  /** Per resource, in ms (see MonitorTiming). */
  timeToStatus: {
    /** First status of any phase (Pending counts), from the start of `kubectl apply`. */
    acknowledgedFromApply?: Percentiles;
    acknowledgedFromCreated?: Percentiles;
    /** First probed verdict (phase other than Pending) with observedGeneration == generation. */
    verdictFromApply?: Percentiles;
    verdictFromCreated?: Percentiles;
    /** verdictFromCreated minus the operator's planned wait before the first round (the spread delay). */
    verdictAfterFirstProbeCanRun?: Percentiles;
    /** From the first round's start (status.lastProbeTime) until our watch saw the verdict. */
    verdictAfterProbeStart?: Percentiles;
    healthyFromCreated?: Percentiles;
    notHealthy: string[];
  };
  target: { what: string; targetMs: number; valueMs?: number; met: boolean };
  statusWrites: {
    windowSeconds: number;
    /** resourceVersion changes our watch saw on the benchmark's resources. */
    resourceVersionChanges: number;
    perMinute: number;
    /** Which status fields differed in those updates (top-level keys). */
    changedFields: Record<string, number>;
    /** Phase transitions among those updates ("Healthy→Degraded": n). */
    phaseChanges: Record<string, number>;
    /** Updates that did not change the phase (what the write policy could have saved). */
    withoutPhaseChange: number;
    /** The operator's own etcd_monitor_status_patches_total over the window, by reason/result. */
    operatorPatches: Record<string, number>;
    operatorPatchesPerMinute: number;
    /** Every status patch since the operator started (ramp included), by reason/result. */
    operatorPatchesTotal: Record<string, number>;
  };
  operator: {
    idleBeforeApply: ProcUsage;
    ramp: ProcUsage;
    steady: ProcUsage & { probeRounds: number; roundsPerSecond: number; cpuMsPerRound?: number };
    reconcilesTotal: number;
    rssEndBytes?: number;
    /** V8 heap in use (the operator's nodejs_heap_size_used_bytes): at the start and the end of the steady window. */
    heapUsedBytes: { steadyStart: number; steadyEnd: number };
    /** RSS during the steady window: [seconds into it, bytes], every 15s. */
    rssTimeline: Array<[number, number]>;
  };
  apiserverSteady?: ProcUsage;
  etcdMembersSteady: ProcUsage;
  apiserverRamp?: ProcUsage;
  etcdMembersRamp: ProcUsage;
  /** Whole machine busy, percent of all cores (other tenants included). */
  machineBusyPercent: { ramp: number; steady: number };
  /** From the operator's histograms: average time of one member probe and of one reconcile (status write included). */
  averagesMs: { ramp: { memberProbe?: number; reconcile?: number }; steady: { memberProbe?: number; reconcile?: number } };
  notes: string[];
  perMonitor: MonitorTiming[];
  steadyUpdates?: SteadyUpdate[];
}

export interface SteadyUpdate {
  name: string;
  before?: EtcdMonitorStatus;
  after?: EtcdMonitorStatus;
}

export function percentiles(values: number[]): Percentiles | undefined {
  if (values.length === 0) return undefined;
  const s = sortedCopy(values);
  const r = (x: number): number => Math.round(x);
  return { count: s.length, p50: r(percentile(s, 50)), p90: r(percentile(s, 90)), p99: r(percentile(s, 99)), max: r(s[s.length - 1]!) };
}

/** Busy and total CPU time of the whole machine (all cores), in clock ticks, from /proc/stat. */
function machineTicks(): { busy: number; total: number } {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  const all = f.slice(0, 8).reduce((a, x) => a + x, 0);
  return { busy: all - idle, total: all };
}

/** How busy the whole machine was between two readings, in percent of all its cores. */
class MachineMeter {
  private readonly t0 = machineTicks();
  stop(): number {
    const t1 = machineTicks();
    const total = t1.total - this.t0.total;
    return total > 0 ? Math.round(((t1.busy - this.t0.busy) / total) * 1000) / 10 : 0;
  }
}

/** Average of a histogram's observations between two scrapes, in ms (undefined without observations). */
function histogramAvgMs(a: Sample[], b: Sample[], name: string): number | undefined {
  const n = sum(b, `${name}_count`) - sum(a, `${name}_count`);
  if (n <= 0) return undefined;
  return Math.round(((sum(b, `${name}_sum`) - sum(a, `${name}_sum`)) / n) * 1000 * 10) / 10;
}

/** Our own child started with `needle` among its arguments (the control plane's kube-apiserver). */
function findPid(binary: string, needle: string): number | undefined {
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const args = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
      if (args[0] === binary && args.some((a) => a.includes(needle))) return Number(d);
    } catch {
      /* gone */
    }
  }
  return undefined;
}

/** CPU (and RSS high-water mark) of a set of processes between two moments. */
class UsageMeter {
  private readonly t0 = Date.now();
  private readonly cpu0: number;
  private rssMax: number | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pids: Array<number | undefined>, sampleMs = 500) {
    this.cpu0 = this.cpu();
    this.sample();
    this.timer = setInterval(() => this.sample(), sampleMs);
    this.timer.unref();
  }

  private cpu(): number {
    return this.pids.reduce<number>((a, p) => a + procCpuSeconds(p), 0);
  }

  private rss(): number | undefined {
    const v = this.pids.map((p) => procRssBytes(p));
    return v.some((x) => x === undefined) ? undefined : v.reduce<number>((a, x) => a + x!, 0);
  }

  private sample(): void {
    const r = this.rss();
    if (r !== undefined) this.rssMax = Math.max(this.rssMax ?? 0, r);
  }

  stop(): ProcUsage {
    clearInterval(this.timer);
    this.sample();
    const wallSeconds = (Date.now() - this.t0) / 1000;
    const cpuSeconds = Math.round((this.cpu() - this.cpu0) * 100) / 100;
    return {
      wallSeconds: Math.round(wallSeconds * 10) / 10,
      cpuSeconds,
      cpuPercentOfOneCore: wallSeconds > 0 ? Math.round((cpuSeconds / wallSeconds) * 1000) / 10 : 0,
      rssMaxBytes: this.rssMax,
      rssEndBytes: this.rss(),
    };
  }
}

async function scrape(url: string): Promise<Sample[]> {
  const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) });
  return parsePromText(await res.text());
}

function byLabels(samples: Sample[], name: string, labels: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of samples) {
    if (s.name !== name) continue;
    const k = labels.map((l) => s.labels[l] ?? '').join('/');
    out[k] = (out[k] ?? 0) + s.value;
  }
  return out;
}

function sum(samples: Sample[], name: string): number {
  return samples.filter((s) => s.name === name).reduce((a, s) => a + s.value, 0);
}

function diff(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const d = (b[k] ?? 0) - (a[k] ?? 0);
    if (d !== 0) out[k] = d;
  }
  return out;
}

const total = (r: Record<string, number>): number => Object.values(r).reduce((a, x) => a + x, 0);

/** Top-level status fields whose value differs (what a status update changed). */
function changedFields(a: EtcdMonitorStatus | undefined, b: EtcdMonitorStatus | undefined): string[] {
  const x = (a ?? {}) as unknown as Record<string, unknown>;
  const y = (b ?? {}) as unknown as Record<string, unknown>;
  return [...new Set([...Object.keys(x), ...Object.keys(y)])].filter((k) => JSON.stringify(x[k]) !== JSON.stringify(y[k])).sort();
}

interface Track {
  name: string;
  createdAt?: number;
  generation?: number;
  ackAt?: number;
  ackPhase?: string;
  verdictAt?: number;
  verdictPhase?: string;
  verdictProbeTime?: number;
  healthyAt?: number;
  phase?: string;
  status?: EtcdMonitorStatus;
}

/** Compile src/ into .cache/bench-operator/dist (inside the repo so package.json and node_modules resolve). */
const COMPILED = path.join(REPO, '.cache/bench-operator');

function compileOperator(): string {
  const out = path.join(COMPILED, 'dist');
  fs.rmSync(out, { recursive: true, force: true });
  execFileSync(path.join(REPO, 'node_modules/.bin/tsc'), ['-p', path.join(REPO, 'tsconfig.build.json'), '--outDir', out, '--sourceMap', 'false'], { cwd: REPO, stdio: 'inherit' });
  return path.join(out, 'cli/main.js');
}

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
    [cp, etcd] = await Promise.all([startControlPlane(), EtcdCluster.start({ size: 3 })]);
    o.onTempDir?.(cp.dir);
    o.onTempDir?.(etcd.dataRoot);
    fs.writeFileSync(path.join(tmp, 'crd.yaml'), crdYaml());
    const crd = await cp.kubectl(['apply', '-f', path.join(tmp, 'crd.yaml')]);
    if (crd.code !== 0) throw new Error(`applying the CRD failed: ${crd.stderr}`);
    await waitFor('CRD established', async () => (await cp!.kubectl(['wait', '--for=condition=Established', '--timeout=20s', 'crd/etcdmonitors.etcdmonitor.dev'])).code === 0, 30_000, 500);
    const nsr = await cp.kubectl(['create', 'namespace', ns]);
    if (nsr.code !== 0) throw new Error(`creating namespace ${ns} failed: ${nsr.stderr}`);
    const version = await cp.kubectl(['version', '-o', 'json']);
    const kubernetes = (JSON.parse(version.stdout || '{}') as { serverVersion?: { gitVersion?: string } }).serverVersion?.gitVersion ?? 'unknown';
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
      [...entry, 'operator', `--kubeconfig=${cp.kubeconfig}`, '--api-host=127.0.0.1', `--api-port=${apiPort}`, '--log-level=warn', `--max-concurrent-reconciles=${o.concurrency}`],
      { cwd: REPO, logFile: path.join(tmp, 'operator.log') },
    );
    await waitFor('operator ready', async () => (await fetch(`${url}/ready`).catch(() => undefined))?.status === 200, 60_000, 200);
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
    let window: { rvChanges: number; fields: Record<string, number>; phases: Record<string, number>; updates: SteadyUpdate[] } | undefined;
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
          setTimeout(() => void startWatch().catch((e: unknown) => log(`watch restart failed: ${String(e)}`)), 100);
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
          ...(o.latencyWarningMs !== undefined ? { thresholds: { latencyWarningMs: o.latencyWarningMs } } : {}),
        },
      })),
    };
    const file = path.join(tmp, 'monitors.json');
    fs.writeFileSync(file, JSON.stringify(list));
    const m0 = await scrape(url);
    log(`applying ${o.monitors} EtcdMonitors (interval ${o.intervalSeconds}s, timeout ${o.timeoutSeconds}s)…`);
    const ramp = new UsageMeter([opPid]);
    const apiRamp = new UsageMeter([apiPid]);
    const etcdRamp = new UsageMeter(etcdPids);
    const machineRamp = new MachineMeter();
    const applyAt = Date.now();
    const applied = await cp.kubectl(['apply', '-f', file]);
    const kubectlApplyMs = Date.now() - applyAt;
    if (applied.code !== 0) throw new Error(`kubectl apply failed: ${applied.stderr}`);
    const healthyTimeoutMs = o.healthyTimeoutMs ?? 3 * intervalMs + 60_000;
    await waitFor('every EtcdMonitor Healthy', async () => [...tracks.values()].every((t) => t.healthyAt !== undefined), healthyTimeoutMs, 100).catch((e: unknown) => {
      notes.push(`not every resource turned Healthy: ${(e as Error).message}`);
    });
    const rampUsage = ramp.stop();
    const apiRampUsage = apiRamp.stop();
    const etcdRampUsage = etcdRamp.stop();
    const machineRampBusy = machineRamp.stop();
    log(`all Healthy after ${((Date.now() - applyAt) / 1000).toFixed(1)}s; counting status writes for ${o.steadySeconds}s…`);

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
    const patchesWindow = diff(byLabels(m1, 'etcd_monitor_status_patches_total', patchesLabels), byLabels(m2, 'etcd_monitor_status_patches_total', patchesLabels));
    const patchesAll = diff(byLabels(m0, 'etcd_monitor_status_patches_total', patchesLabels), byLabels(m2, 'etcd_monitor_status_patches_total', patchesLabels));
    // One probe-duration observation per member per round.
    const rounds = (sum(m2, 'etcd_member_probe_duration_seconds_count') - sum(m1, 'etcd_member_probe_duration_seconds_count')) / etcd.members.length;
    const reconciles = sum(m2, 'etcd_monitor_reconcile_duration_seconds_count') - sum(m0, 'etcd_monitor_reconcile_duration_seconds_count');

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
        verdictAfterProbeStartMs: t.verdictAt !== undefined && t.verdictProbeTime !== undefined ? t.verdictAt - t.verdictProbeTime : undefined,
        healthyMs: rel(t.healthyAt),
      };
    });
    const pick = (f: (m: MonitorTiming) => number | undefined): Percentiles | undefined => percentiles(timings.map(f).filter((x): x is number => x !== undefined));
    const afterProbeCanRun = pick((m) => (m.verdictMs === undefined ? undefined : m.verdictMs - m.firstRoundDelayMs));
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
        operator: o.operatorEntry ? `tsx ${o.operatorEntry}` : o.runner === 'compiled' ? 'compiled JS (tsc), child process' : 'tsx src/cli/main.ts, child process',
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
      target: { what: 'timeToStatus.verdictAfterFirstProbeCanRun.p50', targetMs: 1000, valueMs: afterProbeCanRun?.p50, met: afterProbeCanRun !== undefined && afterProbeCanRun.p50 < 1000 },
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
          cpuMsPerRound: rounds > 0 ? Math.round(((steadyUsage.cpuSeconds * 1000) / rounds) * 100) / 100 : undefined,
        },
        reconcilesTotal: reconciles,
        rssEndBytes: procRssBytes(opPid),
        heapUsedBytes: { steadyStart: sum(m1, 'nodejs_heap_size_used_bytes'), steadyEnd: sum(m2, 'nodejs_heap_size_used_bytes') },
        rssTimeline,
      },
      apiserverSteady: apiPid ? apiUsage : undefined,
      etcdMembersSteady: etcdUsage,
      apiserverRamp: apiPid ? apiRampUsage : undefined,
      etcdMembersRamp: etcdRampUsage,
      machineBusyPercent: { ramp: machineRampBusy, steady: machineSteadyBusy },
      averagesMs: {
        ramp: { memberProbe: histogramAvgMs(m0, m1, 'etcd_member_probe_duration_seconds'), reconcile: histogramAvgMs(m0, m1, 'etcd_monitor_reconcile_duration_seconds') },
        steady: { memberProbe: histogramAvgMs(m1, m2, 'etcd_member_probe_duration_seconds'), reconcile: histogramAvgMs(m1, m2, 'etcd_monitor_reconcile_duration_seconds') },
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
export function firstRoundDelayMs(key: string, intervalMs: number, design: 'prompt' | 'spread'): number {
  const plan = firstRoundPlan(key, intervalMs, design === 'prompt');
  return plan.prompt ? 0 : plan.periodicDelayMs;
}

const mib = (b: number | undefined): string => (b === undefined ? '-' : `${(b / 1048576).toFixed(0)} MiB`);
const pc = (p: Percentiles | undefined): string => (p ? `p50 ${p.p50}  p90 ${p.p90}  p99 ${p.p99}  max ${p.max} ms (n=${p.count})` : 'none');

export function formatSummary(r: OperatorBenchReport): string {
  const t = r.timeToStatus;
  const s = r.operator.steady;
  const lines = [
    `operator cost: ${r.parameters.monitors} EtcdMonitors, interval ${r.parameters.interval}, timeout ${r.parameters.timeout}, latency warning ${r.parameters.latencyWarningMs}ms, first rounds ${r.parameters.firstRounds}, ${r.parameters.maxConcurrentReconciles} concurrent`,
    `  machine: ${r.machine.cpuCount}× ${r.machine.cpus[0] ?? '?'}, node ${r.machine.node}, Kubernetes ${r.kubernetes}, ${r.etcd}; loadavg ${r.machine.loadavgStart.join(' ')} → ${r.machine.loadavgEnd.join(' ')}`,
    `  kubectl apply took ${r.apply.kubectlApplyMs} ms (last resource created at +${r.apply.lastCreatedMs} ms)`,
    `  first status (Pending counts), from apply:   ${pc(t.acknowledgedFromApply)}`,
    `  first verdict, from apply:                   ${pc(t.verdictFromApply)}`,
    `  first verdict, from creation:                ${pc(t.verdictFromCreated)}`,
    `  first verdict, after first probe can run:    ${pc(t.verdictAfterFirstProbeCanRun)}`,
    `  first verdict, after the probe started:      ${pc(t.verdictAfterProbeStart)}`,
    `  target ${r.target.what} < ${r.target.targetMs} ms: ${r.target.met ? 'met' : 'MISSED'} (${r.target.valueMs ?? '-'} ms)`,
    `  steady state (${r.statusWrites.windowSeconds}s): ${r.statusWrites.resourceVersionChanges} status updates (${r.statusWrites.perMinute}/min); operator patches ${JSON.stringify(r.statusWrites.operatorPatches)} (${r.statusWrites.operatorPatchesPerMinute}/min); phase changes ${JSON.stringify(r.statusWrites.phaseChanges)}, ${r.statusWrites.withoutPhaseChange} without one`,
    `  operator CPU: idle ${r.operator.idleBeforeApply.cpuPercentOfOneCore}%, ramp ${r.operator.ramp.cpuSeconds}s over ${r.operator.ramp.wallSeconds}s, steady ${s.cpuPercentOfOneCore}% of a core (${s.roundsPerSecond} rounds/s, ${s.cpuMsPerRound ?? '-'} ms CPU/round)`,
    `  operator RSS: idle ${mib(r.operator.idleBeforeApply.rssEndBytes)}, ramp max ${mib(r.operator.ramp.rssMaxBytes)}, steady max ${mib(s.rssMaxBytes)}, end ${mib(r.operator.rssEndBytes)}; V8 heap used ${mib(r.operator.heapUsedBytes.steadyStart)} → ${mib(r.operator.heapUsedBytes.steadyEnd)}`,
    `  ramp: kube-apiserver ${r.apiserverRamp?.cpuPercentOfOneCore ?? '-'}%, etcd members ${r.etcdMembersRamp.cpuPercentOfOneCore}% of a core; machine ${r.machineBusyPercent.ramp}% busy; avg member probe ${r.averagesMs.ramp.memberProbe ?? '-'} ms, reconcile ${r.averagesMs.ramp.reconcile ?? '-'} ms`,
    `  steady: kube-apiserver ${r.apiserverSteady?.cpuPercentOfOneCore ?? '-'}%, etcd members ${r.etcdMembersSteady.cpuPercentOfOneCore}% of a core; machine ${r.machineBusyPercent.steady}% busy; avg member probe ${r.averagesMs.steady.memberProbe ?? '-'} ms, reconcile ${r.averagesMs.steady.reconcile ?? '-'} ms`,
  ];
  if (t.notHealthy.length) lines.push(`  NOT Healthy: ${t.notHealthy.join(', ')}`);
  for (const n of r.notes) lines.push(`  note: ${n}`);
  return lines.join('\n');
}
