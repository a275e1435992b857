/** The cost report: machine, targets, CPU estimates and the human summary `npm run bench:cost` prints. */
import { machineBasics } from '../lib/proc.js';
import os from 'node:os';
import type { ProbeRoundResult } from './probeRound.js';
import type { ScaleResult } from './measure.js';
import { r3 } from './quantiles.js';
import type { RepeatSummary } from './repeats.js';

export interface MachineInfo {
  cpuModel: string;
  cpuCount: number;
  node: string;
  platform: string;
  memoryBytes: number;
  loadavg: number[];
}

export function machineInfo(): MachineInfo {
  const { cpus, cpuCount, node, platform, memoryBytes } = machineBasics();
  return {
    cpuModel: cpus[0] ?? 'unknown',
    cpuCount,
    node,
    platform,
    memoryBytes,
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
  /** CPU of the parent process (the MetricsReplay serving the members' /metrics) over the window. */
  replayCores?: number;
  loadavgAfter: number[];
}

/**
 * CPU the engine would need for `clusters` clusters at `intervalMs`, from the largest measured row that
 * was not saturated and ran with `nodeFlags` (the default run's): its CPU per cluster round x rounds per second.
 */
export function estimateCores(
  scale: readonly ScaleRow[],
  clusters: number,
  memberMetrics: boolean,
  nodeFlags: readonly string[] = [],
): { cores: number; fromClusters: number } | undefined {
  const flags = JSON.stringify(nodeFlags);
  const rows = scale
    .filter(
      (r) =>
        !r.saturated &&
        r.memberMetrics === memberMetrics &&
        JSON.stringify(r.nodeFlags ?? []) === flags &&
        r.metricsGzip !== false &&
        r.metricsProtobuf !== false,
    )
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
  /** The same row run several times (`--repeat`): the spread of its CPU and RSS. */
  repeats?: RepeatSummary[];
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

/** A signed difference in ms: "+1.20" / "-0.40". */
function sign(v: number): string {
  return `${v >= 0 ? '+' : ''}${v.toFixed(2)}`;
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
      ['raw Status x members (MemberClient, grpc-js)', p.rawStatus],
      ['raw Status x members (ProbeClient, wire)', p.rawStatusWire],
      ['raw: same RPCs as a probe round (grpc-js)', p.rawSameRpcs],
      ['raw: same RPCs as a probe round (wire)', p.rawSameRpcsWire],
      ['EtcdProber, no member /metrics', p.probe],
      ['EtcdProber, with member /metrics', p.probeWithMetrics],
    ] as const) {
      out.push(
        `  ${name.padEnd(44)} ${pad(v.latencyMs.p50.toFixed(2), 8)} ${pad(v.latencyMs.p99.toFixed(2), 8)} ${pad(v.cpuMsPerRound.toFixed(2), 10)} ${v.failedRounds}`,
      );
    }
    const o = p.overhead;
    out.push(
      `  overhead: probe vs raw Status (grpc-js) ${sign(o.probeVsRawStatus.p50Ms)} ms p50 / ${sign(o.probeVsRawStatus.p99Ms)} ms p99; ` +
        `vs raw Status on the probe's transport ${sign(o.probeVsRawStatusWire.p50Ms)} ms p50 / ${sign(o.probeVsRawStatusWire.p99Ms)} ms p99; ` +
        `vs the same RPCs issued directly ${sign(o.probeVsRawSameRpcs.p50Ms)} ms p50 (grpc-js) / ${sign(o.probeVsRawSameRpcsWire.p50Ms)} ms p50 (wire); ` +
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
          (s.metricsSource === 'replay' ? `  (replayed /metrics, ${s.replayCores ?? '?'} cores)` : '') +
          (s.metricsGzip === false ? '  (uncompressed /metrics)' : '') +
          (s.metricsProtobuf === false ? '  (text /metrics)' : '') +
          (s.nodeFlags.length ? `  (${s.nodeFlags.join(' ')})` : '') +
          (s.saturated ? '  SATURATED' : ''),
      );
    }
    for (const g of r.repeats ?? [])
      out.push(
        `  ${g.clusters} clusters${g.memberMetrics ? '' : ' without member /metrics'}${g.metricsGzip === false ? ' (uncompressed)' : ''}${g.metricsProtobuf === false ? ' (text)' : ''}${g.nodeFlags.length ? ` (${g.nodeFlags.join(' ')})` : ''}, ${g.runs} runs: ` +
          `cores ${g.cores.min}–${g.cores.max} (median ${g.cores.median}), RSS max ${g.rssMaxMiB.min}–${g.rssMaxMiB.max} MiB (median ${g.rssMaxMiB.median})` +
          (g.saturatedRuns ? `, ${g.saturatedRuns} saturated` : ''),
      );
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
