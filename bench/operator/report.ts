/** What the operator benchmark reports (see run.ts), its percentiles and the summary `npm run bench:operator` prints. */
import type { EtcdMonitorStatus } from '../../src/crd/types.js';
import { percentile, sortedCopy } from '../../src/benchmark/stats.js';

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
  averagesMs: {
    ramp: { memberProbe?: number; reconcile?: number };
    steady: { memberProbe?: number; reconcile?: number };
  };
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
  return {
    count: s.length,
    p50: r(percentile(s, 50)),
    p90: r(percentile(s, 90)),
    p99: r(percentile(s, 99)),
    max: r(s[s.length - 1]!),
  };
}

const mib = (b: number | undefined): string => (b === undefined ? '-' : `${(b / 1048576).toFixed(0)} MiB`);
const pc = (p: Percentiles | undefined): string =>
  p ? `p50 ${p.p50}  p90 ${p.p90}  p99 ${p.p99}  max ${p.max} ms (n=${p.count})` : 'none';

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
