/**
 * Prometheus exposition of every monitored cluster (SPEC §4). Gauges are read at scrape time from the
 * registry's latest rounds, so a removed cluster's series vanish with it; the histogram and counters that
 * accumulate per round are dropped explicitly when a cluster goes.
 *
 * The per-cluster and per-member series are written straight from that state as text (one pass, no
 * per-series objects): with 1000 clusters that is ~100k lines, which prom-client's generic gauges and
 * histograms took ~0.4 s to refill and render. prom-client keeps the process metrics and the operator's
 * own metrics (`registry`), rendered first; the output is the same text prom-client would write.
 */
import client from 'prom-client';
import { processLoopLag } from '../etcd/loopLag.js';
import { PROBE_ERROR_REASONS, probeErrors } from '../etcd/observation.js';
import type { RoundResult } from '../monitor/clusterMonitor.js';
import type { MonitorRegistry } from '../monitor/registry.js';
import { BACKUP_FAILURE_REASONS } from '../maintenance/scheduler.js';

import { BACKUP_BUCKETS, BACKUP_LES, FAMILIES, PROBE_BUCKETS, PROBE_LES } from './families.js';

/** Cumulative-on-render histogram of one member's probe durations. */
interface ProbeHistogram {
  /** Observations per bucket (not cumulative); the last slot is +Inf. */
  counts: Float64Array;
  sum: number;
  count: number;
}

/** A label value as the exposition format wants it (prom-client's escaping). */
function escapeLabel(v: string): string {
  return /[\\\n"]/.test(v) ? v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"') : v;
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** A sample value as prom-client writes it. */
function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'Nan';
  if (!Number.isFinite(v)) return v < 0 ? '-Inf' : '+Inf';
  return `${v}`;
}

const OPENMETRICS_EOF = '# EOF\n';

export class MetricsExporter {
  /** prom-client registry for the process metrics and the operator's self-metrics. */
  readonly registry = new client.Registry();
  private readonly probeHistograms = new Map<string, Map<string, ProbeHistogram>>();
  private readonly probeErrors = new Map<string, Map<string, number>>();
  private readonly leaderChangeCount = new Map<string, number>();
  /** Each cluster's rendered sample lines per family, from its latest round (see buildFragments). */
  private readonly fragments = new Map<string, string[]>();
  /** Renders one at a time: prom-client renames counters while it writes OpenMetrics. */
  private rendering: Promise<unknown> = Promise.resolve();

  constructor(private readonly monitors: MonitorRegistry) {
    client.collectDefaultMetrics({ register: this.registry });
    const lag = processLoopLag();
    new client.Gauge({
      name: 'etcd_monitor_event_loop_lag_seconds',
      help: 'Largest event-loop delay of this monitor process over the last 10-20 s. Timed calls (health reads, write probe) during which it was stalled are not latency samples; see status.latency.notes.',
      registers: [this.registry],
      collect() {
        this.set(lag.recentMaxMs() / 1000);
      },
    });
    monitors.on('round', (r) => this.onRound(r));
    monitors.on('removed', (name) => this.forget(name));
  }

  private onRound(r: RoundResult): void {
    const cluster = r.cluster;
    this.leaderChangeCount.set(cluster, r.evaluation.status.leaderChanges);
    let hists = this.probeHistograms.get(cluster);
    if (!hists) this.probeHistograms.set(cluster, (hists = new Map()));
    for (const m of r.evaluation.members) {
      let h = hists.get(m.name);
      if (!h)
        hists.set(m.name, (h = { counts: new Float64Array(PROBE_BUCKETS.length + 1), sum: 0, count: 0 }));
      const v = m.probeSeconds;
      if (v === undefined) continue;
      let i = 0;
      while (i < PROBE_BUCKETS.length && v > PROBE_BUCKETS[i]!) i++;
      h.counts[i]! += 1;
      h.sum += v;
      h.count += 1;
    }
    const errs: Record<string, number> = {};
    for (const e of probeErrors(r.observation)) errs[e.reason] = (errs[e.reason] ?? 0) + 1;
    for (const [reason, n] of Object.entries(errs)) {
      let byReason = this.probeErrors.get(cluster);
      if (!byReason) this.probeErrors.set(cluster, (byReason = new Map()));
      byReason.set(reason, (byReason.get(reason) ?? 0) + n);
    }
    this.fragments.set(cluster, this.buildFragments(r));
  }

  private forget(cluster: string): void {
    this.leaderChangeCount.delete(cluster);
    this.probeHistograms.delete(cluster);
    this.probeErrors.delete(cluster);
    this.fragments.delete(cluster);
  }

  contentType(accept: string | undefined): string {
    return accept && accept.includes('application/openmetrics-text')
      ? client.openMetricsContentType
      : client.prometheusContentType;
  }

  async render(accept?: string): Promise<{ contentType: string; body: string }> {
    const contentType = this.contentType(accept);
    const openMetrics = contentType === client.openMetricsContentType;
    const run = this.rendering.then(() => this.renderNow(openMetrics));
    this.rendering = run.catch(() => undefined);
    return { contentType, body: await run };
  }

  private async renderNow(openMetrics: boolean): Promise<string> {
    this.registry.setContentType(
      (openMetrics
        ? client.openMetricsContentType
        : client.prometheusContentType) as typeof client.prometheusContentType,
    );
    // prom-client strips `_total` from its counters' names for OpenMetrics and never puts it back:
    // restore them, or every later Prometheus-format scrape would lose the suffix.
    const names = this.registry
      .getMetricsAsArray()
      .map((m) => [m, (m as unknown as { name: string }).name] as const);
    let base: string;
    try {
      base = await this.registry.metrics();
    } finally {
      for (const [m, name] of names) (m as unknown as { name: string }).name = name;
    }
    const parts: string[] = [];
    if (openMetrics)
      parts.push(base.endsWith(OPENMETRICS_EOF) ? base.slice(0, -OPENMETRICS_EOF.length) : base);
    else parts.push(base, '\n');
    this.renderClusters(openMetrics, parts);
    parts.push(openMetrics ? `\n${OPENMETRICS_EOF}` : '\n');
    return parts.join('');
  }

  /**
   * One cluster's sample lines for every family (FAMILIES order), each line starting with a newline;
   * '' where it has none. Built once per round, so a scrape only concatenates.
   */
  private buildFragments(r: RoundResult): string[] {
    const out: string[] = [];
    const c = `cluster="${escapeLabel(r.cluster)}"`;
    const members = r.evaluation.members.map((m) => ({ l: `${c},member="${escapeLabel(m.name)}"`, m }));
    for (const f of FAMILIES) {
      const lines: string[] = [];
      switch (f.kind) {
        case 'cluster': {
          const v = f.value(r);
          if (v !== undefined && Number.isFinite(v)) lines.push(`\n${f.name}{${c}} ${formatValue(v)}`);
          break;
        }
        case 'member':
          for (const { l, m } of members) {
            const v = f.value(m);
            if (v !== undefined && Number.isFinite(v)) lines.push(`\n${f.name}{${l}} ${formatValue(v)}`);
          }
          break;
        case 'alarm':
          if (!r.observation.members.some((m) => m.alarms !== undefined)) break;
          for (const { l, m } of members) {
            if (!m.id) continue;
            for (const alarm of ['NOSPACE', 'CORRUPT'] as const)
              lines.push(`\n${f.name}{${l},alarm="${alarm}"} ${m.alarms.includes(alarm) ? 1 : 0}`);
          }
          break;
        case 'advice':
          for (const a of r.evaluation.status.advice ?? []) {
            const m = a.member ? `,member="${escapeLabel(a.member)}"` : '';
            lines.push(`\n${f.name}{${c},code="${a.code}",severity="${a.severity}"${m}} 1`);
          }
          break;
        case 'leaderChanges': {
          const n = this.leaderChangeCount.get(r.cluster);
          if (n !== undefined) lines.push(`\n${f.name}{${c}} ${formatValue(n)}`);
          break;
        }
        case 'probeDuration': {
          const hists = this.probeHistograms.get(r.cluster);
          for (const { l, m } of members) {
            const h = hists?.get(m.name);
            if (!h || h.count === 0) continue;
            let cum = 0;
            for (let i = 0; i < PROBE_LES.length; i++) {
              cum += h.counts[i]!;
              lines.push(`\n${f.name}_bucket{le="${PROBE_LES[i]}",${l}} ${formatValue(cum)}`);
            }
            lines.push(
              `\n${f.name}_sum{${l}} ${formatValue(h.sum)}`,
              `\n${f.name}_count{${l}} ${formatValue(h.count)}`,
            );
          }
          break;
        }
        case 'backupDuration': {
          const d = r.maintenance?.counters.backupDurations;
          if (!r.maintenance?.hasBackup || !d) break;
          let sum = 0;
          for (let i = 0; i < BACKUP_LES.length; i++) {
            const le = i < BACKUP_BUCKETS.length ? BACKUP_BUCKETS[i]! : Infinity;
            lines.push(
              `\n${f.name}_bucket{le="${BACKUP_LES[i]}",${c}} ${formatValue(d.filter((x) => x <= le).length)}`,
            );
          }
          for (const x of d) sum += x;
          lines.push(
            `\n${f.name}_sum{${c}} ${formatValue(sum)}`,
            `\n${f.name}_count{${c}} ${formatValue(d.length)}`,
          );
          break;
        }
        case 'backupFailures': {
          if (!r.maintenance?.hasBackup) break;
          // Every reason from 0, so rate() and increase() work from the first failure.
          for (const reason of BACKUP_FAILURE_REASONS)
            lines.push(
              `\n${f.name}{${c},reason="${reason}"} ${formatValue(r.maintenance.counters.backupFailures.get(reason) ?? 0)}`,
            );
          break;
        }
        case 'defragReclaimed':
          if (r.maintenance?.hasDefragmentation)
            lines.push(`\n${f.name}{${c}} ${formatValue(r.maintenance.counters.defragReclaimedBytes)}`);
          break;
        case 'probeErrors': {
          const byReason = this.probeErrors.get(r.cluster);
          for (const reason of PROBE_ERROR_REASONS) {
            const n = byReason?.get(reason);
            if (n !== undefined) lines.push(`\n${f.name}{${c},reason="${reason}"} ${formatValue(n)}`);
          }
          break;
        }
      }
      // One flat string per family (a join, not a chain of +=, so a scrape copies it in one go).
      out.push(lines.join(''));
    }
    return out;
  }

  /** Append every monitored cluster's series, family by family, in prom-client's text format. */
  private renderClusters(openMetrics: boolean, parts: string[]): void {
    const frags: string[][] = [];
    for (const mon of this.monitors.list()) {
      const r = mon.latest;
      if (!r) continue;
      let f = this.fragments.get(mon.name);
      if (!f) this.fragments.set(mon.name, (f = this.buildFragments(r)));
      frags.push(f);
    }
    FAMILIES.forEach((f, i) => {
      // Counters: OpenMetrics names the family without `_total` and the samples with it.
      const name = openMetrics && f.type === 'counter' ? f.name.replace(/_total$/, '') : f.name;
      if (i > 0) parts.push(openMetrics ? '\n' : '\n\n');
      parts.push(`# HELP ${name} ${escapeHelp(f.help)}\n# TYPE ${name} ${f.type}`);
      for (const x of frags) if (x[i]) parts.push(x[i]!);
    });
  }
}
