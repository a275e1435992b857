/**
 * Latency figures and their judgement (pure; SPEC §3, "a latency figure is etcd's, not the monitor's").
 *
 * - From the members' gRPC histograms when they export them: p99 of the requests of the last interval.
 * - Else from the monitor's own timed calls (health reads; the opt-in write probe): a window of samples,
 *   where a call that had to set up its connection, or during which this process's event loop was
 *   stalled for a good part of it, is not a sample.
 * - A figure from fewer than MIN_P99_SAMPLES samples (requests) is their maximum, said so (`kind: 'max'`).
 * - What is judged against the threshold is fresh each round, so one slow sample never crosses it alone
 *   and an old one never keeps it crossed: an interval's p99 (its median when it holds too few requests
 *   for a p99); for the monitor's own calls, the median of this round's samples (a few per round cannot
 *   show a p99; the window's p99 is the figure shown).
 * - Crossing the threshold takes SUSTAIN_ROUNDS judged rounds in a row over it, spanning at least
 *   SUSTAIN_MS (a round with nothing to judge neither extends nor breaks the run); clearing it, a judged
 *   value below LATENCY_CLEAR_RATIO of the threshold (hysteresis).
 */
import type { Histogram, MemberMetricsSnapshot } from '../etcd/memberMetrics.js';
import type { ClusterObservation, MemberObservation } from '../etcd/observation.js';
import { humanMs, round } from './format.js';
import { histogramDelta, histogramQuantile, sampleQuantile, sumHistograms } from './histogram.js';

/** Samples kept per figure: the newest this many, none older than SAMPLE_MAX_AGE_MS. */
export const SAMPLE_WINDOW = 120;
export const SAMPLE_MAX_AGE_MS = 15 * 60_000;
/** Below this many samples a nearest-rank p99 is simply the maximum: the figure says so. */
export const MIN_P99_SAMPLES = 100;
/** A crossing needs the figure over the threshold this many rounds in a row… */
export const SUSTAIN_ROUNDS = 3;
/** …spanning at least this long. */
export const SUSTAIN_MS = 30_000;
/** Hysteresis: once crossed, only a figure below this share of the threshold clears it. */
export const LATENCY_CLEAR_RATIO = 0.8;
/** A call during which the event loop stalled at least this long, and for at least STALL_SHARE of its time, timed the monitor. */
export const STALL_MIN_MS = 2;
export const STALL_SHARE = 0.25;

export interface LatencySample {
  /** Round time (epoch ms). */
  t: number;
  ms: number;
}

/** What carries over between rounds for the latency figures and their judgement. */
export interface LatencyMemory {
  readSamples: LatencySample[];
  writeSamples: LatencySample[];
  /** Consecutive rounds the worst figure has been over the threshold, and since when. */
  overRounds: number;
  overSince?: number;
  /** The threshold is crossed (until a figure falls below LATENCY_CLEAR_RATIO of it). */
  high: boolean;
}

export function emptyLatencyMemory(): LatencyMemory {
  return { readSamples: [], writeSamples: [], overRounds: 0, high: false };
}

export type FigureKind = 'p99' | 'max';

export interface LatencyFigure {
  field: 'readP99Ms' | 'writeP99Ms';
  source: 'histograms' | 'samples';
  /** The figure shown: p99 (or max) of the interval's requests, or of the window's samples. */
  ms: number;
  kind: FigureKind;
  samples: number;
  /**
   * What this round compares with the threshold: the interval's p99 (its median below MIN_P99_SAMPLES
   * requests), or the median of this round's own samples; absent when this round has none.
   */
  judgedMs?: number;
}

export interface LatencyVerdict {
  /** Degraded on latency this round. */
  high: boolean;
  /** The figure judged worst this round, if any. */
  worst?: LatencyFigure;
  overRounds: number;
  overSince?: number;
}

export interface LatencyFacts {
  read?: LatencyFigure;
  write?: LatencyFigure;
  /** The health reads' own p99 (or max): `latency.probeP99Ms`. */
  probe?: LatencyFigure;
  notes: string[];
  /** Members whose health read this round was a latency sample. */
  acceptedReads: ReadonlySet<string>;
  verdict: LatencyVerdict;
  /** The memory for the next round (taken by transitions()). */
  next: LatencyMemory;
}

/** A figure from the window's samples (nearest-rank p99; the max below MIN_P99_SAMPLES), judged by this round's median. */
export function sampleFigure(
  field: LatencyFigure['field'],
  window: readonly number[],
  thisRound: readonly number[],
): LatencyFigure | undefined {
  const p99 = sampleQuantile(0.99, window);
  if (p99 === undefined) return undefined;
  const f: LatencyFigure = {
    field,
    source: 'samples',
    ms: round(p99),
    kind: window.length >= MIN_P99_SAMPLES ? 'p99' : 'max',
    samples: window.length,
  };
  const median = sampleQuantile(0.5, thisRound);
  if (median !== undefined) f.judgedMs = round(median);
  return f;
}

/** A figure from an interval's histogram (the same rule by its request count). */
export function histogramFigure(field: LatencyFigure['field'], h: Histogram): LatencyFigure | undefined {
  const p99 = histogramQuantile(0.99, h);
  if (p99 === undefined) return undefined;
  const count = h.buckets.length > 0 ? h.buckets[h.buckets.length - 1]![1] : 0;
  const kind: FigureKind = count >= MIN_P99_SAMPLES ? 'p99' : 'max';
  const judged = kind === 'p99' ? p99 : (histogramQuantile(0.5, h) ?? p99);
  return {
    field,
    source: 'histograms',
    ms: round(p99 * 1000),
    kind,
    samples: count,
    judgedMs: round(judged * 1000),
  };
}

/** Why a timed call is no latency sample, or undefined when it is one. */
export function notASample(
  ms: number | undefined,
  setup: boolean | undefined,
  stallMs: number | undefined,
): 'none' | 'setup' | 'stall' | undefined {
  if (ms === undefined) return 'none';
  if (setup) return 'setup';
  if (stallMs !== undefined && stallMs >= STALL_MIN_MS && stallMs >= STALL_SHARE * ms) return 'stall';
  return undefined;
}

/** Append this round's samples to a window and drop what fell out of it. */
export function pushSamples(
  win: readonly LatencySample[],
  t: number,
  values: readonly number[],
): LatencySample[] {
  const next = [...win, ...values.map((ms) => ({ t, ms }))].filter((s) => t - s.t <= SAMPLE_MAX_AGE_MS);
  return next.length > SAMPLE_WINDOW ? next.slice(next.length - SAMPLE_WINDOW) : next;
}

interface CallSamples {
  accepted: number[];
  /** Endpoints whose call was a sample. */
  from: Set<string>;
  setup: number;
  stalled: number;
  maxStallMs: number;
}

function collect(
  members: readonly MemberObservation[],
  pick: (m: MemberObservation) => [number | undefined, boolean | undefined, number | undefined],
): CallSamples {
  const out: CallSamples = { accepted: [], from: new Set(), setup: 0, stalled: 0, maxStallMs: 0 };
  for (const m of members) {
    const [ms, setup, stall] = pick(m);
    const why = notASample(ms, setup, stall);
    if (why === undefined) {
      out.accepted.push(ms!);
      out.from.add(m.endpoint);
    } else if (why === 'setup') out.setup++;
    else if (why === 'stall') {
      out.stalled++;
      out.maxStallMs = Math.max(out.maxStallMs, stall ?? 0);
    }
  }
  return out;
}

/** The interval p99 of one histogram family across members, or a note on why there is none. */
function intervalFigure(
  field: LatencyFigure['field'],
  pick: (s: MemberMetricsSnapshot) => Histogram | undefined,
  obs: ClusterObservation,
  prev: PrevMetrics,
): { figure?: LatencyFigure; note?: string } | undefined {
  const deltas: Histogram[] = [];
  let anyHist = false;
  for (const m of obs.members) {
    const curr = m.metrics ? pick(m.metrics) : undefined;
    if (!curr) continue;
    anyHist = true;
    const before = prev[m.endpoint]?.snapshot;
    const p = before ? pick(before) : undefined;
    if (p) deltas.push(histogramDelta(p, curr));
  }
  if (!anyHist) return undefined;
  if (deltas.length === 0)
    return { note: `${field}: waiting for a second scrape of the members' gRPC histograms` };
  const total = sumHistograms(deltas);
  const figure = total ? histogramFigure(field, total) : undefined;
  if (!figure) return { note: `${field}: no such requests in the last interval` };
  return {
    figure,
    note:
      figure.kind === 'max'
        ? `${field}: only ${figure.samples} requests in the last interval, too few for a p99: the figure is their slowest (judged by their median, ${humanMs(figure.judgedMs)})`
        : undefined,
  };
}

/** Notes on this round's calls that were not samples. */
function sampleNotes(field: string, what: string, c: CallSamples): string[] {
  const out: string[] = [];
  if (c.setup > 0)
    out.push(
      `${field}: ${c.setup} ${what} of this round not counted: they set up their connection first (the first round after connecting times TCP/TLS set-up, not etcd)`,
    );
  if (c.stalled > 0)
    out.push(
      `${field}: ${c.stalled} ${what} of this round not counted: the monitor's event loop was stalled up to ${humanMs(c.maxStallMs)} during them (see etcd_monitor_event_loop_lag_seconds)`,
    );
  return out;
}

function fallbackNote(field: string, source: string, f: LatencyFigure): string {
  const base = `${field}: from the monitor's ${source} (members export no grpc_server_handling_seconds; run etcd with --metrics=extensive)`;
  const what =
    f.kind === 'max'
      ? `max of ${f.samples} samples (a p99 needs ${MIN_P99_SAMPLES})`
      : `p99 of the last ${f.samples} samples`;
  const judged =
    f.judgedMs !== undefined ? `this round's median ${humanMs(f.judgedMs)}` : 'no sample this round';
  return `${base}; ${what}; the threshold is judged on each round's median (${judged})`;
}

/** The previous metrics snapshot per member endpoint, for interval deltas. */
export type PrevMetrics = Record<string, { time: number; snapshot: MemberMetricsSnapshot }>;

export interface LatencyInput {
  obs: ClusterObservation;
  memory: LatencyMemory;
  prevMetrics: PrevMetrics;
  thresholdMs: number;
}

/** The latency figures of a round and their judgement; `next` is the memory the next round starts from. */
export function analyseLatency({ obs, memory, prevMetrics, thresholdMs }: LatencyInput): LatencyFacts {
  const notes: string[] = [];
  const reads = collect(obs.members, (m) => [m.healthLatencyMs, m.healthSetup, m.healthStallMs]);
  const writes = collect(obs.members, (m) => [m.writeLatencyMs, m.writeSetup, m.writeStallMs]);
  const readSamples = pushSamples(memory.readSamples, obs.time, reads.accepted);
  const writeSamples = pushSamples(memory.writeSamples, obs.time, writes.accepted);
  const probe = sampleFigure(
    'readP99Ms',
    readSamples.map((s) => s.ms),
    reads.accepted,
  );

  const readH = intervalFigure('readP99Ms', (s) => s.readHistogram, obs, prevMetrics);
  let read: LatencyFigure | undefined;
  if (readH) {
    read = readH.figure;
    if (readH.note) notes.push(readH.note);
  } else {
    read = probe;
    if (probe) notes.push(fallbackNote('readP99Ms', 'own health reads', probe));
    else if (reads.setup > 0)
      notes.push(
        'readP99Ms: no sample yet: the first round after connecting times the connection set-up, not etcd',
      );
    else notes.push('readP99Ms: no measurement (no member answered a read)');
    notes.push(...sampleNotes('readP99Ms', 'health reads', reads));
  }

  const writeH = intervalFigure('writeP99Ms', (s) => s.writeHistogram, obs, prevMetrics);
  let write: LatencyFigure | undefined;
  if (writeH) {
    write = writeH.figure;
    if (writeH.note) notes.push(writeH.note);
  } else {
    write = sampleFigure(
      'writeP99Ms',
      writeSamples.map((s) => s.ms),
      writes.accepted,
    );
    if (write) notes.push(fallbackNote('writeP99Ms', 'write probe', write));
    else if (writes.setup > 0)
      notes.push(
        'writeP99Ms: no sample yet: the first round after connecting times the connection set-up, not etcd',
      );
    else
      notes.push(
        'writeP99Ms: no measurement (members export no grpc_server_handling_seconds and the write probe is off)',
      );
    notes.push(...sampleNotes('writeP99Ms', 'write probes', writes));
  }

  const verdict = judgeLatency([read, write], memory, thresholdMs, obs.time);
  const pending = pendingNote(verdict, thresholdMs);
  if (pending) notes.push(pending);
  const next: LatencyMemory = {
    readSamples,
    writeSamples,
    overRounds: verdict.overRounds,
    high: verdict.high,
  };
  if (verdict.overSince !== undefined) next.overSince = verdict.overSince;
  return { read, write, probe, notes, acceptedReads: reads.from, verdict, next };
}

/**
 * The sustained-window state machine over the round's worst judged figure. A round with nothing to judge
 * (no figure, or no sample of its own) keeps the state as it is.
 */
export function judgeLatency(
  figures: ReadonlyArray<LatencyFigure | undefined>,
  memory: Pick<LatencyMemory, 'overRounds' | 'overSince' | 'high'>,
  thresholdMs: number,
  now: number,
): LatencyVerdict {
  const judged = figures.filter((f): f is LatencyFigure & { judgedMs: number } => f?.judgedMs !== undefined);
  const worst = judged.reduce<(LatencyFigure & { judgedMs: number }) | undefined>(
    (w, f) => (!w || f.judgedMs > w.judgedMs ? f : w),
    undefined,
  );
  const keep = (): LatencyVerdict => ({
    high: memory.high,
    overRounds: memory.overRounds,
    ...(memory.overSince !== undefined ? { overSince: memory.overSince } : {}),
  });
  if (!worst) return keep();
  const over = worst.judgedMs > thresholdMs;
  const overRounds = over ? memory.overRounds + 1 : 0;
  const overSince = over ? (memory.overSince ?? now) : undefined;
  const high = memory.high
    ? worst.judgedMs >= thresholdMs * LATENCY_CLEAR_RATIO
    : over && overRounds >= SUSTAIN_ROUNDS && now - overSince! >= SUSTAIN_MS;
  const v: LatencyVerdict = { high, overRounds, worst };
  if (overSince !== undefined) v.overSince = overSince;
  return v;
}

/** The judged figure in words: "read p99 latency 150ms", "read latency median 150ms of this round's reads (p99 210ms)". */
export function describeFigure(f: LatencyFigure): string {
  const what = f.field === 'readP99Ms' ? 'read' : 'write';
  const judged = humanMs(f.judgedMs);
  if (f.source === 'histograms')
    return f.kind === 'p99'
      ? `${what} p99 latency ${humanMs(f.ms)}`
      : `${what} latency median ${judged} of ${f.samples} requests (max ${humanMs(f.ms)})`;
  return `${what} latency median ${judged} of this round's ${f.field === 'readP99Ms' ? 'health reads' : 'write probes'} (${f.kind} ${humanMs(f.ms)} of the last ${f.samples})`;
}

export function roundsText(rounds: number, sinceMs: number | undefined, now: number): string {
  const span = sinceMs !== undefined ? ` (${Math.round((now - sinceMs) / 1000)}s)` : '';
  return `${rounds} round${rounds === 1 ? '' : 's'}${span}`;
}

/** The Degraded reason while the threshold is crossed. */
export function latencyReason(v: LatencyVerdict, thresholdMs: number, now: number): string | undefined {
  if (!v.high) return undefined;
  if (!v.worst)
    return `latency above ${thresholdMs}ms for ${roundsText(v.overRounds, v.overSince, now)}; nothing to judge this round`;
  const clearBelow = thresholdMs * LATENCY_CLEAR_RATIO;
  if ((v.worst.judgedMs ?? 0) > thresholdMs)
    return `${describeFigure(v.worst)} above ${thresholdMs}ms for ${roundsText(v.overRounds, v.overSince, now)}`;
  return `${describeFigure(v.worst)}, above ${thresholdMs}ms until it falls below ${humanMs(clearBelow)}`;
}

/** A note while a figure is over the threshold but not yet for long enough. */
function pendingNote(v: LatencyVerdict, thresholdMs: number): string | undefined {
  if (v.high || v.overRounds === 0 || !v.worst) return undefined;
  return `${v.worst.field}: over the ${thresholdMs}ms threshold for ${v.overRounds} round${v.overRounds === 1 ? '' : 's'}; Degraded once it stays over for ${SUSTAIN_ROUNDS} rounds and ${SUSTAIN_MS / 1000}s`;
}
