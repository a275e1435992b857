/**
 * Small time-series charts as inline SVG markup (pure string building: no DOM, unit-tested under Node).
 * Lines break where a figure is absent (null); series differ by dash pattern as well as colour.
 */

export interface ChartSeries {
  label: string;
  values: ReadonlyArray<number | null>;
  /** CSS class giving the colour (e.g. "s1"). */
  cls: string;
  dashed?: boolean;
  /** Shade the area under the line. */
  area?: boolean;
}

export interface ChartSpec {
  width: number;
  height: number;
  /** Epoch milliseconds, ascending, one per value of every series. */
  times: readonly number[];
  series: readonly ChartSeries[];
  kind?: 'line' | 'bars';
  /** Formats y-axis tick values. */
  format: (v: number) => string;
  /** Ticks on binary units (bytes). */
  binary?: boolean;
  /** Ticks on whole numbers (counts). */
  integer?: boolean;
  /** The x axis spans at least this long, so a fresh monitor's few points grow from the right. */
  minSpanMs?: number;
  /** Accessible name (the page also states the latest values in text). */
  label: string;
  timeLabel?: (t: number) => string;
  /** Draw a crosshair at this index. */
  hoverIndex?: number;
  /** Shown across the plot when no series has a value. */
  emptyText?: string;
}

export const PAD = { left: 52, right: 10, top: 10, bottom: 22 };

export interface Scale {
  max: number;
  ticks: number[];
}

/** 1, 2, 2.5 or 5 times a power of ten, at least x. */
export function niceStep(x: number): number {
  if (!(x > 0) || !Number.isFinite(x)) return 1;
  const mag = 10 ** Math.floor(Math.log10(x));
  const f = x / mag;
  const nice = f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10;
  return nice * mag;
}

/** A y scale from 0 with about four steps that end on a round number at or above `max`. */
export function niceScale(max: number, opts: { binary?: boolean; integer?: boolean } = {}): Scale {
  let top = Number.isFinite(max) && max > 0 ? max : opts.integer ? 1 : 1;
  let step: number;
  if (opts.binary && top >= 1) {
    const unit = 1024 ** Math.max(0, Math.floor(Math.log(top) / Math.log(1024)));
    step = niceStep(top / unit / 4) * unit;
  } else {
    step = niceStep(top / 4);
  }
  if (opts.integer) step = Math.max(1, Math.round(step));
  const n = Math.max(1, Math.ceil(top / step - 1e-9));
  top = n * step;
  const ticks: number[] = [];
  for (let i = 0; i <= n; i++) ticks.push(Number((i * step).toPrecision(12)));
  return { max: Number(top.toPrecision(12)), ticks };
}

const TIME_STEPS = [5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400].map((s) => s * 1000);

/** Round wall-clock instants inside [start, end], at most `maxTicks` of them. */
export function timeTicks(start: number, end: number, maxTicks = 6): number[] {
  if (!(end > start)) return [];
  const span = end - start;
  const step =
    TIME_STEPS.find((s) => Math.floor(span / s) + 1 <= maxTicks) ?? TIME_STEPS[TIME_STEPS.length - 1]!;
  const out: number[] = [];
  for (let t = Math.ceil(start / step) * step; t <= end; t += step) out.push(t);
  return out;
}

/** The x domain: the data's span, widened to the left to at least `minSpanMs`. */
export function xDomain(times: readonly number[], minSpanMs = 60_000): [number, number] {
  if (times.length === 0) return [0, 1];
  const end = times[times.length - 1]!;
  const start = Math.min(times[0]!, end - minSpanMs);
  return [start, end];
}

/** Index of the time nearest to t (times ascending); -1 when empty. */
export function nearestIndex(times: readonly number[], t: number): number {
  if (times.length === 0) return -1;
  let lo = 0;
  let hi = times.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (times[mid]! < t) lo = mid;
    else hi = mid;
  }
  return Math.abs(times[lo]! - t) <= Math.abs(times[hi]! - t) ? lo : hi;
}

const f1 = (n: number): string => (Math.round(n * 10) / 10).toString();

/** An SVG path through the points, broken where y is null. */
export function linePath(xs: readonly number[], ys: ReadonlyArray<number | null>): string {
  let d = '';
  let pen = false;
  for (let i = 0; i < xs.length; i++) {
    const y = ys[i];
    if (y === null || y === undefined || !Number.isFinite(y)) {
      pen = false;
      continue;
    }
    d += `${pen ? 'L' : 'M'}${f1(xs[i]!)} ${f1(y)}`;
    pen = true;
  }
  return d;
}

export function escapeXml(s: string): string {
  return s.replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

export function renderChart(spec: ChartSpec): string {
  const { width: W, height: H, times } = spec;
  const plotW = Math.max(10, W - PAD.left - PAD.right);
  const plotH = Math.max(10, H - PAD.top - PAD.bottom);
  const [t0, t1] = xDomain(times, spec.minSpanMs);
  const x = (t: number): number => PAD.left + ((t - t0) / (t1 - t0 || 1)) * plotW;
  let max = 0;
  let any = false;
  for (const s of spec.series) {
    for (const v of s.values) {
      if (v !== null && Number.isFinite(v)) {
        // A bar chart of counts has nothing to show when every count is 0.
        if (spec.kind !== 'bars' || v > 0) any = true;
        if (v > max) max = v;
      }
    }
  }
  const scale = niceScale(max, { binary: spec.binary, integer: spec.integer });
  const y = (v: number): number => PAD.top + plotH - (v / scale.max) * plotH;
  const timeLabel = spec.timeLabel ?? ((t: number) => new Date(t).toISOString().slice(11, 19));
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${escapeXml(spec.label)}">`,
    `<title>${escapeXml(spec.label)}</title>`,
  );
  out.push('<g class="grid">');
  for (const v of scale.ticks) {
    const yy = f1(y(v));
    out.push(
      `<line x1="${PAD.left}" x2="${PAD.left + plotW}" y1="${yy}" y2="${yy}"${v === 0 ? ' class="base"' : ''}/>`,
    );
    out.push(
      `<text x="${PAD.left - 6}" y="${yy}" text-anchor="end" dominant-baseline="middle">${escapeXml(spec.format(v))}</text>`,
    );
  }
  if (times.length > 0) {
    for (const t of timeTicks(t0, t1, Math.max(2, Math.floor(plotW / 90)))) {
      const xx = f1(x(t));
      out.push(
        `<line class="tick" x1="${xx}" x2="${xx}" y1="${PAD.top + plotH}" y2="${PAD.top + plotH + 4}"/>`,
      );
      out.push(`<text x="${xx}" y="${H - 4}" text-anchor="middle">${escapeXml(timeLabel(t))}</text>`);
    }
  }
  out.push('</g>');
  const xs = times.map(x);
  if (spec.kind === 'bars') {
    const bw = Math.max(3, Math.min(12, (plotW / Math.max(times.length, 1)) * 0.8));
    for (const s of spec.series) {
      s.values.forEach((v, i) => {
        if (v === null || !(v > 0)) return;
        const top = y(v);
        out.push(
          `<rect class="bar ${s.cls}" x="${f1(xs[i]! - bw / 2)}" y="${f1(top)}" width="${f1(bw)}" height="${f1(PAD.top + plotH - top)}"/>`,
        );
      });
    }
  } else {
    for (const s of spec.series) {
      const d = linePath(
        xs,
        s.values.map((v) => (v === null ? null : y(v))),
      );
      if (!d) continue;
      if (s.area) {
        // Close each unbroken run down to the baseline.
        const base = f1(PAD.top + plotH);
        const runs = d.split('M').filter(Boolean);
        const area = runs
          .map((run) => {
            const pts = run.split('L');
            const first = pts[0]!.split(' ')[0]!;
            const last = pts[pts.length - 1]!.split(' ')[0]!;
            return `M${first} ${base}L${run}L${last} ${base}Z`;
          })
          .join('');
        out.push(`<path class="area ${s.cls}" d="${area}"/>`);
      }
      out.push(`<path class="line ${s.cls}" d="${d}"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
      // Mark the newest value, and lone points a line cannot show.
      s.values.forEach((v, i) => {
        if (v === null || !Number.isFinite(v)) return;
        const prev = s.values[i - 1];
        const next = s.values[i + 1];
        const lone = (prev === null || prev === undefined) && (next === null || next === undefined);
        if (lone || i === s.values.length - 1)
          out.push(`<circle class="dot ${s.cls}" cx="${f1(xs[i]!)}" cy="${f1(y(v))}" r="2.5"/>`);
      });
    }
  }
  if (!any) {
    out.push(
      `<text class="empty" x="${f1(PAD.left + plotW / 2)}" y="${f1(PAD.top + plotH / 2)}" text-anchor="middle" dominant-baseline="middle">${escapeXml(spec.emptyText ?? 'No data yet')}</text>`,
    );
  }
  const hi = spec.hoverIndex;
  if (hi !== undefined && hi >= 0 && hi < times.length) {
    const xx = f1(xs[hi]!);
    out.push(`<line class="cross" x1="${xx}" x2="${xx}" y1="${PAD.top}" y2="${PAD.top + plotH}"/>`);
    if (spec.kind !== 'bars') {
      for (const s of spec.series) {
        const v = s.values[hi];
        if (v !== null && v !== undefined && Number.isFinite(v))
          out.push(`<circle class="dot hover ${s.cls}" cx="${xx}" cy="${f1(y(v))}" r="3.5"/>`);
      }
    }
  }
  out.push('</svg>');
  return out.join('');
}
