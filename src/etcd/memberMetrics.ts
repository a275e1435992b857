/**
 * The member snapshot (memberSnapshot.ts) straight from a member's /metrics text as it streams in:
 * MemberMetricsScanner reads only the families the snapshot needs and skips the rest unparsed.
 */
import { PromTextError, parseLabels, parseValue } from './promtext.js';
import {
  FAMILIES,
  FAMILY_NAMES,
  SnapshotBuilder,
  type Family,
  type MemberMetricsSnapshot,
} from './memberSnapshot.js';

export type { Histogram, MemberMetricsSnapshot } from './memberSnapshot.js';
export { extractMemberMetrics } from './memberSnapshot.js';

/** Longest line the scanner accepts (etcd's longest are a few hundred bytes). */
const MAX_LINE = 64 * 1024;
/** In a gRPC histogram's label set: the KV service's (the only one the snapshot reads). */
const KV_MARK = 'etcdserverpb.KV"';
/** Bytes decoded into one string at a time: small enough for V8's young generation. */
const DECODE_PIECE = 32 * 1024;

/**
 * The same snapshot straight from the exposition text, as it arrives, without building a sample per
 * line: a member's /metrics is ~200 KiB and ~2000 lines (with --metrics=extensive), of which the
 * snapshot needs a few hundred, and labels of fewer still. Lines of other families are skipped
 * unparsed (so not validated); the lines it reads are parsed as strictly as parsePromText does.
 * Chunks are decoded as latin1 (the names, label values and numbers read here are ASCII) one at a time,
 * so no single huge string is ever built.
 */
export class MemberMetricsScanner {
  private readonly b = new SnapshotBuilder();
  private carry = '';
  private lineNo = 0;

  /** Feed the next piece of the exposition. */
  push(chunk: Buffer | string): void {
    if (typeof chunk === 'string') return this.pushText(chunk);
    // Decoded in pieces: one string of a whole inflated exposition (> 128 KiB) is a large-object
    // allocation that costs more than scanning it (0.23 ms vs 0.015 ms for 218 KiB).
    for (let i = 0; i < chunk.length; i += DECODE_PIECE)
      this.pushText(chunk.toString('latin1', i, Math.min(chunk.length, i + DECODE_PIECE)));
  }

  private pushText(s: string): void {
    let from = 0;
    if (this.carry) {
      // Finish the line the previous chunk ended in on its own, so `s` stays a flat string.
      const nl = s.indexOf('\n');
      if (nl < 0) {
        this.carry += s;
        if (this.carry.length > MAX_LINE)
          throw new PromTextError(`line ${this.lineNo + 1}: longer than ${MAX_LINE} bytes`);
        return;
      }
      const line = this.carry + s.slice(0, nl + 1);
      this.carry = '';
      this.scan(line, line.length - 1, 0);
      from = nl + 1;
    }
    const last = s.lastIndexOf('\n');
    if (last < from) {
      this.carry = s.slice(from);
      if (this.carry.length > MAX_LINE)
        throw new PromTextError(`line ${this.lineNo + 1}: longer than ${MAX_LINE} bytes`);
      return;
    }
    this.scan(s, last, from);
    this.carry = s.slice(last + 1);
  }

  /** The snapshot of everything pushed. */
  finish(): MemberMetricsSnapshot {
    if (this.carry) {
      const s = this.carry;
      this.carry = '';
      this.scan(s + '\n', s.length, 0);
    }
    return this.b.result();
  }

  /** Inside the block of a family the snapshot does not read (after its `# TYPE` line). */
  private skipping = false;
  /** The name of the last sample line read, and its family. */
  private lastName = '';
  private lastFamily: Family | undefined;

  /** Scan the whole lines in s[from, end] (s[end] is a newline). */
  private scan(s: string, end: number, from: number): void {
    let a = from;
    while (a <= end) {
      if (this.skipping) {
        if (s.charCodeAt(a) !== 35) {
          // Jump over the rest of the block: to the next comment line (the next family's HELP/TYPE).
          const k = s.indexOf('\n#', a);
          if (k < 0 || k >= end) return;
          a = k + 1;
        }
        this.skipping = false;
      }
      let eol = s.indexOf('\n', a);
      if (eol < 0 || eol > end) eol = end;
      this.lineNo++;
      if (s.charCodeAt(a) === 35) this.comment(s, a, eol);
      else this.line(s, a, eol);
      a = eol + 1;
    }
  }

  /**
   * `# TYPE <family> <type>` of a family the snapshot does not read: skip its samples without looking
   * at them. Prometheus client libraries (etcd's client_golang among them) write every family as one
   * group right after its HELP and TYPE lines; an untyped family without them is never skipped.
   */
  private comment(s: string, a: number, eol: number): void {
    if (eol - a < 8 || s.charCodeAt(a + 2) !== 84 || !s.startsWith('# TYPE ', a)) return;
    const sp = s.indexOf(' ', a + 7);
    const family = s.slice(a + 7, sp < 0 || sp > eol ? eol : sp);
    if (!FAMILY_NAMES.has(family)) this.skipping = true;
  }

  /** Where KV_MARK next occurs in `kvText` at or after `kvFrom` (-1: nowhere), for kvWithin(). */
  private kvText = '';
  private kvFrom = 0;
  private kvAt = -1;

  /**
   * Whether KV_MARK occurs within s[from, to) — as s.slice(from, to).includes(KV_MARK), without a
   * slice and a search per line: the next occurrence is remembered, so a block's lines are searched once.
   */
  private kvWithin(s: string, from: number, to: number): boolean {
    if (s !== this.kvText || from < this.kvFrom || (this.kvAt >= 0 && this.kvAt < from)) {
      this.kvText = s;
      this.kvFrom = from;
      this.kvAt = s.indexOf(KV_MARK, from);
    }
    return this.kvAt >= 0 && this.kvAt + KV_MARK.length <= to;
  }

  private line(s: string, a: number, b: number): void {
    // Trim (spaces, tabs, CR); comment lines never get here.
    let c = s.charCodeAt(a);
    while (a < b && (c === 32 || c === 9)) c = s.charCodeAt(++a);
    if (a >= b || c === 35) return;
    while (b > a && isSpace(s.charCodeAt(b - 1))) b--;
    // A family's samples come together, so a line mostly starts with the previous line's name: compare
    // instead of slicing the name out and looking it up again.
    let name = this.lastName;
    let family = this.lastFamily;
    let j = a + name.length;
    if (!(family && j < b && isNameEnd(s.charCodeAt(j)) && sameAt(s, a, name))) {
      j = a;
      while (j < b && !isNameEnd(s.charCodeAt(j))) j++;
      name = s.slice(a, j);
      family = FAMILIES.get(name);
      if (!family) return;
      this.lastName = name;
      this.lastFamily = family;
    }
    try {
      let labels: Record<string, string> = {};
      let v = j;
      if (s.charCodeAt(j) === 123) {
        // The value cannot contain '}', so the last one on the line closes the label set.
        // (Searched by hand: the value is a few characters, lastIndexOf's call costs more than that.)
        let close = b - 1;
        while (close > j && s.charCodeAt(close) !== 125) close--;
        if (close <= j) throw new PromTextError('unterminated label set');
        if (family.labels) {
          // Of the gRPC histograms only the KV service's are used: skip the others before parsing labels.
          if (family.kind === 'grpcHist' && !this.kvWithin(s, j, close + 1)) return;
          labels = parseLabels(s.slice(j, close + 1), 0)[0];
        }
        v = close + 1;
      }
      while (v < b && isSpace(s.charCodeAt(v))) v++;
      let e = v;
      while (e < b && !isSpace(s.charCodeAt(e))) e++;
      // Most values are one digit (a zero counter): no string for those.
      const d = e - v === 1 ? s.charCodeAt(v) - 48 : -1;
      this.b.add(name, family, labels, d >= 0 && d <= 9 ? d : parseValue(s.slice(v, e)));
    } catch (e) {
      throw new PromTextError(`line ${this.lineNo}: ${(e as Error).message}`);
    }
  }
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 13;
}

/** s.startsWith(name, a), without the builtin's cost per call (it dominated the scan). */
function sameAt(s: string, a: number, name: string): boolean {
  return s.slice(a, a + name.length) === name;
}

/** Where a sample's name ends: its label set or the space before its value. */
function isNameEnd(c: number): boolean {
  return c === 123 || c === 32 || c === 9;
}

/** The snapshot of a whole exposition text (the scanner's result). */
export function extractMemberMetricsFromText(text: string): MemberMetricsSnapshot {
  const sc = new MemberMetricsScanner();
  sc.push(text);
  return sc.finish();
}
