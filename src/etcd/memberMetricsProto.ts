/**
 * The member snapshot (memberSnapshot.ts) from a member's /metrics in the Prometheus protobuf
 * exposition (`application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily;
 * encoding=delimited`), which etcd's handler (client_golang's promhttp) gives when asked, as it gives
 * Prometheus itself: ~120 KiB instead of ~220 KiB of text, and each family is one length-prefixed
 * message whose name comes first, so a family the snapshot does not read is skipped by its length
 * without looking inside. The families it reads go through the same SnapshotBuilder as the text scanner,
 * as the samples the text exposition would have (`_bucket` with `le`, `+Inf` = the count, `_sum`, `_count`).
 *
 * io.prometheus.client (metrics.proto): MetricFamily{name 1, help 2, type 3, metric 4}; Metric{label 1,
 * gauge 2, counter 3, summary 4, untyped 5, timestamp_ms 6, histogram 7}; LabelPair{name 1, value 2};
 * Gauge/Counter/Untyped{value 1}; Histogram{sample_count 1, sample_sum 2, bucket 3, sample_count_float 4};
 * Bucket{cumulative_count 1, upper_bound 2, cumulative_count_float 4}.
 */
import {
  FAMILIES,
  FAMILY_NAMES,
  SnapshotBuilder,
  type Family,
  type MemberMetricsSnapshot,
} from './memberSnapshot.js';
import { ProtoReader, readVarint } from './wire/proto.js';

/** What the scrape asks for: protobuf first, the text format from servers that only have that. */
export const PROTOBUF_OR_TEXT =
  'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3';

/** Whether a response's Content-Type is the delimited protobuf exposition. */
export function isProtobufExposition(contentType: string | undefined): boolean {
  return (
    contentType !== undefined &&
    /^application\/vnd\.google\.protobuf\b/i.test(contentType) &&
    /proto=io\.prometheus\.client\.MetricFamily/i.test(contentType) &&
    /encoding=delimited/i.test(contentType)
  );
}

export class ProtoExpositionError extends Error {}

/** The length prefix at `o` of `b` and the offset after it. */
function lengthPrefix(b: Buffer, o: number): [number, number] {
  try {
    return readVarint(b, o);
  } catch {
    throw new ProtoExpositionError('protobuf exposition: truncated length prefix');
  }
}

/** In a gRPC histogram's labels: the KV service's (the only one the snapshot reads), as bytes. */
const KV_SERVICE = Buffer.from('etcdserverpb.KV');

/** The snapshot from a whole delimited protobuf exposition. */
export function extractMemberMetricsFromProto(body: Buffer): MemberMetricsSnapshot {
  const builder = new SnapshotBuilder();
  let o = 0;
  while (o < body.length) {
    const [len, start] = lengthPrefix(body, o);
    const end = start + len;
    if (end > body.length) throw new ProtoExpositionError('protobuf exposition: truncated metric family');
    o = end;
    const f = new ProtoReader(body, start, end);
    if (!f.next() || f.field !== 1 || f.wire !== 2) continue; // client_golang writes the name first
    const name = f.latin1();
    if (!FAMILY_NAMES.has(name)) continue;
    const single = FAMILIES.get(name);
    const bucket = FAMILIES.get(`${name}_bucket`);
    // (f.field is read afresh after each next(); the check above narrowed it for the compiler only.)
    while (f.next()) {
      if ((f.field as number) !== 4 || f.wire !== 2) continue;
      if (bucket) {
        // Of the gRPC histograms only the KV service's are used: skip the others before reading them.
        if (bucket.kind === 'grpcHist' && !f.contains(KV_SERVICE)) continue;
        histogram(builder, name, bucket, f.message());
      } else if (single) value(builder, name, single, f.message());
    }
  }
  return builder.result();
}

/** A counter, gauge or untyped Metric whose labels the snapshot does not need: its value. */
function value(b: SnapshotBuilder, name: string, fam: Family, m: ProtoReader): void {
  while (m.next()) {
    if ((m.field === 2 || m.field === 3 || m.field === 5) && m.wire === 2) {
      const g = m.message();
      while (g.next()) if (g.field === 1) b.add(name, fam, NO_LABELS, g.double());
      return;
    }
  }
}

const NO_LABELS: Record<string, string> = Object.freeze({}) as Record<string, string>;

/** A histogram Metric, as the text exposition's samples: `_bucket` with `le`, `+Inf` = the count, `_sum`, `_count`. */
function histogram(b: SnapshotBuilder, name: string, fam: Family, m: ProtoReader): void {
  const labels: Record<string, string> = {};
  let hist: ProtoReader | undefined;
  while (m.next()) {
    if (m.field === 1 && m.wire === 2) {
      const lp = m.message();
      let k = '';
      let v = '';
      while (lp.next()) {
        if (lp.field === 1) k = lp.latin1();
        else if (lp.field === 2) v = lp.string();
      }
      labels[k] = v;
    } else if (m.field === 7 && m.wire === 2) hist = m.message();
  }
  if (!hist) return;
  const bucketName = `${name}_bucket`;
  let count = 0;
  let sum = 0;
  while (hist.next()) {
    if (hist.field === 1) count = hist.uint();
    else if (hist.field === 4) count = hist.double();
    else if (hist.field === 2) sum = hist.double();
    else if (hist.field === 3 && hist.wire === 2) {
      const bk = hist.message();
      let c = 0;
      let le = Infinity;
      while (bk.next()) {
        if (bk.field === 1) c = bk.uint();
        else if (bk.field === 4) c = bk.double();
        else if (bk.field === 2) le = bk.double();
      }
      if (le === Infinity) continue;
      labels.le = String(le);
      b.add(bucketName, fam, labels, c);
    }
  }
  // The text exposition's +Inf bucket is the count (client_golang leaves it out of the protobuf one).
  labels.le = '+Inf';
  b.add(bucketName, fam, labels, count);
  delete labels.le;
  b.add(`${name}_sum`, fam, labels, sum);
  b.add(`${name}_count`, fam, labels, count);
}
