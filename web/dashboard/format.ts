/**
 * Pure formatting and small decisions for the dashboard page (no DOM: unit-tested under Node).
 * An absent figure is shown as an em dash, never as 0.
 */
import type { HistoryPoint, Phase } from './types.js';
import type { LatencyStatus } from '../../src/crd/types.js';

export const DASH = '—';

const isNum = (v: number | null | undefined): v is number => typeof v === 'number' && Number.isFinite(v);

/** Bytes in binary units: "512 B", "20.0 KiB", "2.2 MiB", "180 MiB". */
export function humanBytes(n: number | null | undefined): string {
  if (!isNum(n)) return DASH;
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = Math.abs(n);
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  const sign = n < 0 ? '-' : '';
  if (i === 0) return `${sign}${Math.round(v)} B`;
  return `${sign}${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}

/** Milliseconds: "0.42 ms", "1.8 ms", "120 ms", "1.25 s". */
export function humanMs(ms: number | null | undefined): string {
  if (!isNum(ms)) return DASH;
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 100) return `${ms.toFixed(0)} ms`;
  if (ms >= 1) return `${ms.toFixed(1)} ms`;
  return `${ms.toFixed(2)} ms`;
}

/** A rate per second: "0.5/s", "42/s", "1.2k/s". */
export function humanRate(r: number | null | undefined): string {
  if (!isNum(r)) return DASH;
  if (r >= 1e6) return `${(r / 1e6).toFixed(1)}M/s`;
  if (r >= 1e4) return `${(r / 1e3).toFixed(0)}k/s`;
  if (r >= 1e3) return `${(r / 1e3).toFixed(1)}k/s`;
  if (r >= 10) return `${r.toFixed(0)}/s`;
  return `${r.toFixed(1)}/s`;
}

export function humanPercent(p: number | null | undefined): string {
  if (!isNum(p)) return DASH;
  if (p > 0 && p < 0.1) return '<0.1%';
  return `${p >= 10 ? p.toFixed(0) : p.toFixed(1)}%`;
}

/** An integer with thousands separators: 1234567 → "1,234,567". */
export function humanInt(n: number | null | undefined): string {
  if (!isNum(n)) return DASH;
  return Math.round(n)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** A duration in words: "45 s", "6 min", "1 h 30 min". */
export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 90) return `${s} s`;
  const min = Math.round(s / 60);
  if (min < 90) return `${min} min`;
  const h = Math.floor(min / 60);
  const rest = min % 60;
  return rest ? `${h} h ${rest} min` : `${h} h`;
}

/** How long ago: "just now", "12 s ago", "3 min ago". */
export function ago(ms: number): string {
  if (ms < 1500) return 'just now';
  return `${humanDuration(ms)} ago`;
}

export type Tone = 'ok' | 'warn' | 'bad' | 'off' | 'neutral';

export interface PhaseInfo {
  /** The icon id in the page's SVG sprite. */
  icon: string;
  tone: Tone;
  /** One sentence for people who cannot see the colour or icon. */
  meaning: string;
}

const PHASES: Record<Phase, PhaseInfo> = {
  Healthy: { icon: 'i-ok', tone: 'ok', meaning: 'Quorum, one agreed leader, no alarm.' },
  Degraded: {
    icon: 'i-warn',
    tone: 'warn',
    meaning: 'Still quorate, but a member is down or lagging, or a threshold is crossed.',
  },
  Unhealthy: {
    icon: 'i-bad',
    tone: 'bad',
    meaning: 'No quorum, no leader, an alarm, or members disagree about the leader.',
  },
  Unreachable: { icon: 'i-off', tone: 'bad', meaning: 'No member answered.' },
  Pending: { icon: 'i-pending', tone: 'neutral', meaning: 'Waiting for the first probe round.' },
  Paused: { icon: 'i-pause', tone: 'neutral', meaning: 'Monitoring is paused.' },
};

export function phaseInfo(phase: string): PhaseInfo {
  return PHASES[phase as Phase] ?? { icon: 'i-pending', tone: 'neutral', meaning: '' };
}

/** Stale: no update for more than `factor` probe intervals. */
export function isStale(lastUpdateMs: number, nowMs: number, intervalMs: number, factor = 3): boolean {
  return nowMs - lastUpdateMs > factor * Math.max(intervalMs, 1);
}

/** Per-round increase of the leader-change counter (a decrease means the monitor restarted: counts as 0). */
export function leaderChangeDeltas(points: readonly Pick<HistoryPoint, 'leaderChanges'>[]): number[] {
  return points.map((p, i) => {
    if (i === 0) return 0;
    const d = p.leaderChanges - points[i - 1]!.leaderChanges;
    return d > 0 ? d : 0;
  });
}

/** The in-use part of a DB size: "1.1 MiB in use (50%)"; empty when unknown. */
export function dbInUseText(size: number | null | undefined, inUse: number | null | undefined): string {
  if (!isNum(inUse)) return '';
  const pct = isNum(size) && size > 0 ? ` (${Math.round((inUse / size) * 100)}%)` : '';
  return `${humanBytes(inUse)} in use${pct}`;
}

/** Wall-clock time "14:03:20" (local time, 24 h), independent of the browser's locale. */
export function clockTime(t: number): string {
  const d = new Date(t);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** One line saying why the cluster is in its phase, from its conditions. */
export function phaseReason(
  phase: string,
  conditions: ReadonlyArray<{ type: string; status: string; message: string }>,
): string {
  const find = (t: string): { status: string; message: string } | undefined =>
    conditions.find((c) => c.type === t);
  if (phase === 'Degraded') return find('Degraded')?.message ?? '';
  if (phase === 'Paused' || phase === 'Pending') return '';
  const config = find('ConfigValid');
  if (config?.status === 'False') return config.message;
  return find('Healthy')?.message ?? '';
}

const trimZero = (s: string): string => s.replace(/\.0+(?=\D|$)/, '');

/** Compact y-axis labels. */
export function tickMs(v: number): string {
  if (v === 0) return '0';
  if (v >= 1000) return `${trimZero((v / 1000).toFixed(1))} s`;
  return `${Number(v.toPrecision(3))} ms`;
}

export function tickBytes(v: number): string {
  return v === 0 ? '0' : trimZero(humanBytes(v));
}

export function tickRate(v: number): string {
  return v === 0 ? '0' : trimZero(humanRate(v));
}

const NOTE_FIELDS: Record<string, string> = {
  readP99Ms: 'Read p99',
  writeP99Ms: 'Write p99',
  probeP99Ms: 'Probe p99',
};

/** The status's latency notes ("writeP99Ms: no such requests …") in words for people. */
export function latencyNotes(notes: readonly string[] | undefined): string[] {
  return (notes ?? []).map((n) => {
    const m = /^(\w+):\s*(.*)$/.exec(n);
    if (!m) return n;
    const label = NOTE_FIELDS[m[1]!];
    return label ? `${label}: ${m[2]}` : n;
  });
}

/** Short text for an absent latency figure, from its note. */
export function absentLatencyText(
  field: 'readP99Ms' | 'writeP99Ms',
  notes: readonly string[] | undefined,
): string {
  const note = (notes ?? []).find((n) => n.startsWith(`${field}:`));
  if (!note) return 'not measured';
  const why = note.slice(note.indexOf(':') + 1).trim();
  if (/no such requests/.test(why))
    return field === 'writeP99Ms' ? 'no writes in the last interval' : 'no reads in the last interval';
  return why;
}

/** The latency part of a status that labels its figures (see LatencyStatus in src/crd/types.ts). */
export type LatencyFigures = Pick<
  LatencyStatus,
  'readP99Ms' | 'readP99Kind' | 'readSamples' | 'writeP99Ms' | 'writeP99Kind' | 'writeSamples' | 'notes'
>;

/**
 * What a read/write figure is, under it: "last interval" (the members' histograms), "slowest of 40 requests"
 * (too few for a p99), "max of 12 health reads" / "p99 of the last 120 health reads" (the monitor's own), or
 * why there is none.
 */
export function latencyFigureText(field: 'readP99Ms' | 'writeP99Ms', l: LatencyFigures): string {
  const read = field === 'readP99Ms';
  if ((read ? l.readP99Ms : l.writeP99Ms) === undefined) return absentLatencyText(field, l.notes);
  const kind = read ? l.readP99Kind : l.writeP99Kind;
  const n = read ? l.readSamples : l.writeSamples;
  const own = (l.notes ?? []).some((x) => x.startsWith(`${field}: from the monitor's`));
  const what = read ? 'health reads' : 'write probes';
  if (own) return kind === 'max' ? `max of ${n ?? '?'} ${what}` : `p99 of the last ${n ?? '?'} ${what}`;
  return kind === 'max' ? `slowest of ${n ?? '?'} requests, last interval` : 'last interval';
}

/* ---------- capacity and advice (SPEC §10) ---------- */

/** A long duration: "45 s", "6 min", "5 h 20 min", "3 d 4 h" (days from 48 h on). */
export function humanLongDuration(ms: number): string {
  const h = Math.floor(Math.max(0, ms) / 3_600_000);
  if (h < 48) return humanDuration(ms);
  const d = Math.floor(h / 24);
  const rest = h % 24;
  return rest ? `${d} d ${rest} h` : `${d} d`;
}

/** Local date and time "2026-12-04 14:03", independent of the browser's locale. */
export function dateTime(t: number): string {
  const d = new Date(t);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** Growth per hour: "1.2 MiB/h"; absent (no trend yet) as a dash. */
export function growthText(bytesPerHour: number | null | undefined): string {
  return isNum(bytesPerHour) ? `${humanBytes(bytesPerHour)}/h` : DASH;
}

/**
 * When the quota is full: "in 3 d 4 h"; "now" when it is due; "not growing" when the trend is flat; a
 * dash without a trend. `at` is status.capacity.quotaExhaustionTime.
 */
export function quotaFullText(
  at: string | undefined,
  growthPerHour: number | undefined,
  nowMs: number,
): string {
  const t = at ? Date.parse(at) : NaN;
  if (Number.isFinite(t)) return t <= nowMs ? 'now' : `in ${humanLongDuration(t - nowMs)}`;
  if (isNum(growthPerHour)) return 'not growing';
  return DASH;
}

const TIER_TEXT: Record<string, string> = {
  small: 'small',
  medium: 'medium',
  large: 'large',
  xlarge: 'xlarge',
  'beyond-xlarge': 'beyond xlarge',
};

/** The hardware-guide tier the workload needs. */
export function tierText(tier: string | undefined): string {
  return tier ? (TIER_TEXT[tier] ?? tier) : DASH;
}

const CAPACITY_FIELDS: Record<string, string> = {
  dbGrowthBytesPerHour: 'Growth',
  quotaExhaustionTime: 'Quota full',
  requestsPerSecond: 'Requests',
  writeRevisionsPerSecond: 'Write revisions',
};

/** status.capacity.notes ("dbGrowthBytesPerHour: a trend needs …") in words for people. */
export function capacityNotes(notes: readonly string[] | undefined): string[] {
  return (notes ?? []).map((n) => {
    const m = /^(\w+):\s*(.*)$/.exec(n);
    const label = m ? CAPACITY_FIELDS[m[1]!] : undefined;
    return label ? `${label}: ${m![2]}` : n;
  });
}

export interface SeverityInfo {
  tone: Tone;
  /** The icon id in the page's SVG sprite. */
  icon: string;
  label: string;
}

const SEVERITIES: Record<string, SeverityInfo> = {
  critical: { tone: 'bad', icon: 'i-bad', label: 'Critical' },
  warning: { tone: 'warn', icon: 'i-warn', label: 'Warning' },
  info: { tone: 'neutral', icon: 'i-info', label: 'Info' },
};

/** An advice severity as a badge: tone, icon and word (never colour alone). */
export function severityInfo(severity: string): SeverityInfo {
  return SEVERITIES[severity] ?? { tone: 'neutral', icon: 'i-info', label: severity };
}

const roundTo = (v: number, digits: number): string => String(Number(v.toFixed(digits)));

/** One evidence figure in its unit: "12.3 ms", "240 MiB", "18.5 h", "3.4.0" (a version figure is minor + patch/100 of 3.x). */
export function evidenceFigure(value: number, unit: string): string {
  if (!isNum(value)) return DASH;
  switch (unit) {
    case 'ms':
      return Number.isInteger(value) ? `${value} ms` : humanMs(value);
    case 'bytes':
      return humanBytes(value);
    case 'hours':
      return `${roundTo(value, 1)} h`;
    case 'minutes':
      return `${roundTo(value, 0)} min`;
    case 'requests/s':
      return humanRate(value);
    case 'version': {
      const minor = Math.floor(value);
      return `3.${minor}.${Math.round((value - minor) * 100)}`;
    }
    default:
      return `${roundTo(value, 2)} ${unit}`;
  }
}

/** "12.3 ms (threshold 10 ms, over 5m)": what an advice is based on. */
export function evidenceText(e: { value: number; threshold: number; unit: string; window?: string }): string {
  const over = e.window ? `, over ${e.window}` : '';
  return `${evidenceFigure(e.value, e.unit)} (threshold ${evidenceFigure(e.threshold, e.unit)}${over})`;
}

/** Only https links to documentation become links; anything else is shown as text. */
export function safeDocUrl(doc: string | undefined): string | undefined {
  if (!doc) return undefined;
  try {
    const u = new URL(doc);
    return u.protocol === 'https:' ? u.href : undefined;
  } catch {
    return undefined;
  }
}
