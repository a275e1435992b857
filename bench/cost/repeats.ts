/** The spread of repeated scale rows (`--repeat`): the same configuration, each in a fresh worker. */
import type { ScaleResult } from './measure.js';

export interface RepeatSummary {
  clusters: number;
  memberMetrics: boolean;
  metricsGzip?: boolean;
  metricsProtobuf?: boolean;
  nodeFlags: string[];
  runs: number;
  cores: { min: number; median: number; max: number; all: number[] };
  rssMaxMiB: { min: number; median: number; max: number; all: number[] };
  saturatedRuns: number;
}

function spread(xs: number[]): { min: number; median: number; max: number; all: number[] } {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  return { min: s[0]!, median: Math.round(m * 1000) / 1000, max: s[s.length - 1]!, all: xs };
}

export function summariseRepeats(rows: readonly ScaleResult[]): RepeatSummary[] {
  const groups = new Map<string, ScaleResult[]>();
  for (const r of rows) {
    const key = JSON.stringify([r.clusters, r.memberMetrics, r.metricsGzip, r.metricsProtobuf, r.nodeFlags]);
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.values()].map((g) => ({
    clusters: g[0]!.clusters,
    memberMetrics: g[0]!.memberMetrics,
    ...(g[0]!.metricsGzip !== undefined ? { metricsGzip: g[0]!.metricsGzip } : {}),
    ...(g[0]!.metricsProtobuf !== undefined ? { metricsProtobuf: g[0]!.metricsProtobuf } : {}),
    nodeFlags: g[0]!.nodeFlags,
    runs: g.length,
    cores: spread(g.map((r) => r.cpu.cores)),
    rssMaxMiB: spread(g.map((r) => r.memory.rssMiB.max)),
    saturatedRuns: g.filter((r) => r.saturated).length,
  }));
}
