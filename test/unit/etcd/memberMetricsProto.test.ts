/**
 * The member snapshot from the protobuf exposition (src/etcd/memberMetricsProto.ts) equals the one from
 * the same figures in the text exposition (memberMetrics.ts): families skipped or read, counters summed
 * over label sets, histograms with the +Inf bucket the protobuf form leaves out, only the KV service's
 * gRPC histograms. The messages are encoded here by hand, in io.prometheus.client's field numbers.
 */
import { expect } from 'chai';
import { extractMemberMetricsFromText } from '../../../src/etcd/memberMetrics.js';
import { extractMemberMetricsFromProto, isProtobufExposition } from '../../../src/etcd/memberMetricsProto.js';

const varint = (v: number): Buffer => {
  const out: number[] = [];
  while (v >= 128) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
};
const ld = (n: number, b: Buffer | string): Buffer => {
  const body = typeof b === 'string' ? Buffer.from(b) : b;
  return Buffer.concat([varint((n << 3) | 2), varint(body.length), body]);
};
const u = (n: number, v: number): Buffer => Buffer.concat([varint(n << 3), varint(v)]);
const dbl = (n: number, v: number): Buffer => {
  const b = Buffer.alloc(9);
  b[0] = (n << 3) | 1;
  b.writeDoubleLE(v, 1);
  return b;
};
const labels = (l: Record<string, string>): Buffer[] =>
  Object.entries(l).map(([k, v]) => ld(1, Buffer.concat([ld(1, k), ld(2, v)])));
/** MetricType: COUNTER 0, GAUGE 1, UNTYPED 3, HISTOGRAM 4. */
const family = (name: string, type: number, metrics: Buffer[]): Buffer => {
  const body = Buffer.concat([ld(1, name), ld(2, 'help text'), u(3, type), ...metrics.map((m) => ld(4, m))]);
  return Buffer.concat([varint(body.length), body]);
};
const counter = (v: number, l: Record<string, string> = {}): Buffer =>
  Buffer.concat([...labels(l), ld(3, dbl(1, v))]);
const gauge = (v: number): Buffer => ld(2, dbl(1, v));
const hist = (
  l: Record<string, string>,
  buckets: Array<[number, number]>,
  count: number,
  sum: number,
): Buffer =>
  Buffer.concat([
    ...labels(l),
    ld(
      7,
      Buffer.concat([
        u(1, count),
        dbl(2, sum),
        ...buckets.map(([le, c]) => ld(3, Buffer.concat([u(1, c), dbl(2, le)]))),
      ]),
    ),
  ]);

const FSYNC = 'etcd_disk_wal_fsync_duration_seconds';
const GRPC = 'grpc_server_handling_seconds';
const kv = (m: string) => ({ grpc_method: m, grpc_service: 'etcdserverpb.KV', grpc_type: 'unary' });

const PROTO = Buffer.concat([
  family('go_goroutines', 1, [gauge(97)]), // not read: skipped by its length
  family('etcd_server_proposals_committed_total', 1, [gauge(1234)]),
  family('etcd_server_has_leader', 1, [gauge(1)]),
  family('grpc_server_started_total', 0, [counter(10, kv('Range')), counter(5, kv('Put'))]),
  family('grpc_server_handled_total', 0, [
    counter(9, { ...kv('Range'), grpc_code: 'OK' }),
    counter(5, { ...kv('Put'), grpc_code: 'OK' }),
  ]),
  family('etcd_mvcc_db_total_size_in_bytes', 1, [gauge(20480)]),
  family(FSYNC, 4, [
    hist(
      {},
      [
        [0.001, 3],
        [0.002, 7],
        [0.004, 7],
      ],
      8,
      0.0125,
    ),
  ]),
  family(GRPC, 4, [
    hist(
      kv('Range'),
      [
        [0.005, 9],
        [0.01, 9],
      ],
      9,
      0.002,
    ),
    hist(
      kv('Put'),
      [
        [0.005, 4],
        [0.01, 5],
      ],
      5,
      0.02,
    ),
    hist(
      { grpc_method: 'Watch', grpc_service: 'etcdserverpb.Watch', grpc_type: 'bidi_stream' },
      [[0.005, 1]],
      1,
      9,
    ),
  ]),
]);

const TEXT = `# HELP go_goroutines help text
# TYPE go_goroutines gauge
go_goroutines 97
# TYPE etcd_server_proposals_committed_total gauge
etcd_server_proposals_committed_total 1234
# TYPE etcd_server_has_leader gauge
etcd_server_has_leader 1
# TYPE grpc_server_started_total counter
grpc_server_started_total{grpc_method="Range",grpc_service="etcdserverpb.KV",grpc_type="unary"} 10
grpc_server_started_total{grpc_method="Put",grpc_service="etcdserverpb.KV",grpc_type="unary"} 5
# TYPE grpc_server_handled_total counter
grpc_server_handled_total{grpc_code="OK",grpc_method="Range",grpc_service="etcdserverpb.KV",grpc_type="unary"} 9
grpc_server_handled_total{grpc_code="OK",grpc_method="Put",grpc_service="etcdserverpb.KV",grpc_type="unary"} 5
# TYPE etcd_mvcc_db_total_size_in_bytes gauge
etcd_mvcc_db_total_size_in_bytes 20480
# TYPE ${FSYNC} histogram
${FSYNC}_bucket{le="0.001"} 3
${FSYNC}_bucket{le="0.002"} 7
${FSYNC}_bucket{le="0.004"} 7
${FSYNC}_bucket{le="+Inf"} 8
${FSYNC}_sum 0.0125
${FSYNC}_count 8
# TYPE ${GRPC} histogram
${GRPC}_bucket{grpc_method="Range",grpc_service="etcdserverpb.KV",grpc_type="unary",le="0.005"} 9
${GRPC}_bucket{grpc_method="Range",grpc_service="etcdserverpb.KV",grpc_type="unary",le="0.01"} 9
${GRPC}_bucket{grpc_method="Range",grpc_service="etcdserverpb.KV",grpc_type="unary",le="+Inf"} 9
${GRPC}_sum{grpc_method="Range",grpc_service="etcdserverpb.KV",grpc_type="unary"} 0.002
${GRPC}_count{grpc_method="Range",grpc_service="etcdserverpb.KV",grpc_type="unary"} 9
${GRPC}_bucket{grpc_method="Put",grpc_service="etcdserverpb.KV",grpc_type="unary",le="0.005"} 4
${GRPC}_bucket{grpc_method="Put",grpc_service="etcdserverpb.KV",grpc_type="unary",le="0.01"} 5
${GRPC}_bucket{grpc_method="Put",grpc_service="etcdserverpb.KV",grpc_type="unary",le="+Inf"} 5
${GRPC}_sum{grpc_method="Put",grpc_service="etcdserverpb.KV",grpc_type="unary"} 0.02
${GRPC}_count{grpc_method="Put",grpc_service="etcdserverpb.KV",grpc_type="unary"} 5
${GRPC}_bucket{grpc_method="Watch",grpc_service="etcdserverpb.Watch",grpc_type="bidi_stream",le="0.005"} 1
${GRPC}_bucket{grpc_method="Watch",grpc_service="etcdserverpb.Watch",grpc_type="bidi_stream",le="+Inf"} 1
${GRPC}_sum{grpc_method="Watch",grpc_service="etcdserverpb.Watch",grpc_type="bidi_stream"} 9
${GRPC}_count{grpc_method="Watch",grpc_service="etcdserverpb.Watch",grpc_type="bidi_stream"} 1
`;

describe('member /metrics in the protobuf exposition', () => {
  it('gives the snapshot the text exposition of the same figures gives', () => {
    const fromProto = extractMemberMetricsFromProto(PROTO);
    expect(fromProto).to.deep.equal(extractMemberMetricsFromText(TEXT));
    expect(fromProto).to.include({
      proposalsCommitted: 1234,
      hasLeader: 1,
      openGrpcCalls: 1,
      grpcHandledTotal: 14,
    });
    expect(fromProto.walFsync).to.deep.equal({
      buckets: [
        [0.001, 3],
        [0.002, 7],
        [0.004, 7],
        [Infinity, 8],
      ],
      count: 8,
      sum: 0.0125,
    });
    expect(fromProto.readHistogram?.count).to.equal(9);
    expect(fromProto.writeHistogram?.count).to.equal(5);
  });

  it('rejects a truncated exposition with a clear error', () => {
    expect(() => extractMemberMetricsFromProto(PROTO.subarray(0, PROTO.length - 3))).to.throw(
      /protobuf exposition: truncated/,
    );
    expect(extractMemberMetricsFromProto(Buffer.alloc(0))).to.deep.equal({});
  });

  it('recognises the delimited protobuf Content-Type, and nothing else', () => {
    expect(
      isProtobufExposition(
        'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited',
      ),
    ).to.equal(true);
    expect(isProtobufExposition('text/plain; version=0.0.4; charset=utf-8')).to.equal(false);
    expect(
      isProtobufExposition(
        'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=text',
      ),
    ).to.equal(false);
    expect(isProtobufExposition(undefined)).to.equal(false);
  });
});
