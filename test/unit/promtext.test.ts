import { expect } from 'chai';
import {
  extractMemberMetrics,
  extractMemberMetricsFromText,
  MemberMetricsScanner,
} from '../../src/etcd/memberMetrics.js';
import { parsePromText, PromTextError } from '../../src/etcd/promtext.js';
import {
  histogramDelta,
  histogramQuantile,
  sampleQuantile,
  sumHistograms,
} from '../../src/health/histogram.js';

const TEXT = `# HELP etcd_server_proposals_committed_total The total number of consensus proposals committed.
# TYPE etcd_server_proposals_committed_total gauge
etcd_server_proposals_committed_total 42
etcd_server_proposals_pending 1
etcd_mvcc_db_total_size_in_bytes 24576
etcd_server_quota_backend_bytes 2.147483648e+09
etcd_debugging_mvcc_watcher_total 3
process_resident_memory_bytes 3.3e+07
grpc_server_started_total{grpc_method="Range",grpc_service="etcdserverpb.KV",grpc_type="unary"} 10
grpc_server_handled_total{grpc_code="OK",grpc_method="Range",grpc_service="etcdserverpb.KV",grpc_type="unary"} 9
grpc_server_handling_seconds_bucket{grpc_method="Range",grpc_service="etcdserverpb.KV",grpc_type="unary",le="0.005"} 8
grpc_server_handling_seconds_bucket{grpc_method="Range",grpc_service="etcdserverpb.KV",grpc_type="unary",le="0.01"} 9
grpc_server_handling_seconds_bucket{grpc_method="Range",grpc_service="etcdserverpb.KV",grpc_type="unary",le="+Inf"} 9
grpc_server_handling_seconds_sum{grpc_method="Range",grpc_service="etcdserverpb.KV",grpc_type="unary"} 0.02
grpc_server_handling_seconds_count{grpc_method="Range",grpc_service="etcdserverpb.KV",grpc_type="unary"} 9
weird{path="a\\"b\\\\c\\n"} NaN
`;

describe('Prometheus text parsing', () => {
  it('parses samples, labels with escapes and special values', () => {
    const s = parsePromText(TEXT);
    expect(s.find((x) => x.name === 'etcd_server_quota_backend_bytes')!.value).to.equal(2147483648);
    const w = s.find((x) => x.name === 'weird')!;
    expect(w.labels.path).to.equal('a"b\\c\n');
    expect(Number.isNaN(w.value)).to.equal(true);
  });

  it('rejects malformed lines with the line number', () => {
    expect(() => parsePromText('ok 1\nbad{x="1" 2\n')).to.throw(PromTextError, /line 2/);
    expect(() => parsePromText('metric notanumber')).to.throw(PromTextError);
  });

  it('extracts what the monitor needs from a member', () => {
    const m = extractMemberMetrics(parsePromText(TEXT));
    expect(m).to.include({
      proposalsCommitted: 42,
      proposalsPending: 1,
      dbTotalSizeBytes: 24576,
      watchers: 3,
      openGrpcCalls: 1,
      grpcHandledTotal: 9,
    });
    expect(m.readHistogram!.count).to.equal(9);
    expect(m.writeHistogram).to.equal(undefined);
    expect(m.proposalsFailed).to.equal(undefined); // absent, not a fake 0
  });
});

/** An exposition shaped like etcd's: HELP/TYPE groups, families the snapshot skips between those it reads. */
const GROUPED = `# HELP go_gc_duration_seconds A summary of the GC invocation durations.
# TYPE go_gc_duration_seconds summary
go_gc_duration_seconds{quantile="0"} 1.2e-05
go_gc_duration_seconds_sum 0.01
go_gc_duration_seconds_count 12
# HELP grpc_server_handled_total Total number of RPCs completed on the server.
# TYPE grpc_server_handled_total counter
grpc_server_handled_total{grpc_code="OK",grpc_method="Range",grpc_service="etcdserverpb.KV",grpc_type="unary"} 9
grpc_server_handled_total{grpc_code="OK",grpc_method="Status",grpc_service="etcdserverpb.Maintenance",grpc_type="unary"} 4
grpc_server_handled_total{grpc_code="Unavailable",grpc_method="Put",grpc_service="etcdserverpb.KV",grpc_type="unary"} 0
# HELP grpc_server_handling_seconds Histogram of response latency.
# TYPE grpc_server_handling_seconds histogram
grpc_server_handling_seconds_bucket{grpc_method="Status",grpc_service="etcdserverpb.Maintenance",grpc_type="unary",le="0.005"} 4
grpc_server_handling_seconds_bucket{grpc_method="Status",grpc_service="etcdserverpb.Maintenance",grpc_type="unary",le="+Inf"} 4
grpc_server_handling_seconds_sum{grpc_method="Status",grpc_service="etcdserverpb.Maintenance",grpc_type="unary"} 0.001
grpc_server_handling_seconds_count{grpc_method="Status",grpc_service="etcdserverpb.Maintenance",grpc_type="unary"} 4
grpc_server_handling_seconds_bucket{grpc_method="Put",grpc_service="etcdserverpb.KV",grpc_type="unary",le="0.005"} 2
grpc_server_handling_seconds_bucket{grpc_method="Put",grpc_service="etcdserverpb.KV",grpc_type="unary",le="+Inf"} 3
grpc_server_handling_seconds_sum{grpc_method="Put",grpc_service="etcdserverpb.KV",grpc_type="unary"} 0.02
grpc_server_handling_seconds_count{grpc_method="Put",grpc_service="etcdserverpb.KV",grpc_type="unary"} 3
# HELP grpc_server_started_total Total number of RPCs started on the server.
# TYPE grpc_server_started_total counter
grpc_server_started_total{grpc_method="Range",grpc_service="etcdserverpb.KV",grpc_type="unary"} 10
grpc_server_started_total{grpc_method="Watch",grpc_service="etcdserverpb.Watch",grpc_type="bidi_stream"} 2
# HELP etcd_disk_wal_fsync_duration_seconds The latency distributions of fsync called by WAL.
# TYPE etcd_disk_wal_fsync_duration_seconds histogram
etcd_disk_wal_fsync_duration_seconds_bucket{le="0.001"} 5
etcd_disk_wal_fsync_duration_seconds_bucket{le="+Inf"} 7
etcd_disk_wal_fsync_duration_seconds_sum 0.03
etcd_disk_wal_fsync_duration_seconds_count 7
# HELP etcd_network_peer_round_trip_time_seconds Round-Trip-Time histogram between peers
# TYPE etcd_network_peer_round_trip_time_seconds histogram
etcd_network_peer_round_trip_time_seconds_bucket{To="8e9e05c52164694d",le="0.0001"} 0
etcd_network_peer_round_trip_time_seconds_bucket{To="8e9e05c52164694d",le="+Inf"} 3
etcd_network_peer_round_trip_time_seconds_sum{To="8e9e05c52164694d"} 0.004
etcd_network_peer_round_trip_time_seconds_count{To="8e9e05c52164694d"} 3
# HELP etcd_server_has_leader Whether or not a leader exists. 1 is existence, 0 is not.
# TYPE etcd_server_has_leader gauge
etcd_server_has_leader 1
# HELP process_resident_memory_bytes Resident memory size in bytes.
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes 3.3e+07
untyped_without_help 5
etcd_server_proposals_pending 2
`;

describe('member /metrics scanner (only the families the snapshot reads)', () => {
  for (const [name, text] of [
    ['the flat fixture', TEXT],
    ['an etcd-shaped exposition', GROUPED],
  ] as const) {
    it(`gives the same snapshot as parsing every line: ${name}, in one piece and split anywhere`, () => {
      const want = extractMemberMetrics(parsePromText(text));
      expect(extractMemberMetricsFromText(text)).to.deep.equal(want);
      const bytes = Buffer.from(text);
      for (let cut = 1; cut < bytes.length; cut++) {
        const sc = new MemberMetricsScanner();
        sc.push(bytes.subarray(0, cut));
        sc.push(bytes.subarray(cut));
        expect(sc.finish(), `split at ${cut}`).to.deep.equal(want);
      }
      for (const size of [1, 3, 64]) {
        const sc = new MemberMetricsScanner();
        for (let i = 0; i < bytes.length; i += size) sc.push(bytes.subarray(i, i + size));
        expect(sc.finish(), `chunks of ${size}`).to.deep.equal(want);
      }
    });
  }

  it('reads what it needs from an etcd-shaped exposition', () => {
    const m = extractMemberMetricsFromText(GROUPED);
    expect(m).to.include({
      grpcHandledTotal: 13,
      openGrpcCalls: 0,
      hasLeader: 1,
      residentMemoryBytes: 3.3e7,
      proposalsPending: 2,
    });
    expect(m.writeHistogram).to.deep.equal({
      buckets: [
        [0.005, 2],
        [Infinity, 3],
      ],
      count: 3,
      sum: 0.02,
    });
    expect(m.readHistogram).to.equal(undefined); // only Maintenance and Put histograms present
    expect(m.walFsync!.count).to.equal(7);
    expect(m.peerRtt!.buckets).to.deep.equal([
      [0.0001, 0],
      [Infinity, 3],
    ]);
  });

  it("rejects a malformed line of a family it reads; skips the group after another family's TYPE line unread, up to the next comment", () => {
    expect(() => extractMemberMetricsFromText('etcd_server_has_leader{x="1" 1\n')).to.throw(
      PromTextError,
      /line 1/,
    );
    expect(() => extractMemberMetricsFromText('etcd_server_has_leader abc\n')).to.throw(PromTextError);
    expect(
      extractMemberMetricsFromText('# TYPE skipped gauge\nskipped{broken 1\netcd_server_has_leader 1\n'),
    ).to.deep.equal({});
    expect(
      extractMemberMetricsFromText(
        '# TYPE skipped gauge\nskipped{broken 1\n# TYPE etcd_server_has_leader gauge\netcd_server_has_leader 1\n',
      ),
    ).to.deep.equal({ hasLeader: 1 });
  });
});

describe('histogram arithmetic', () => {
  const a = {
    buckets: [
      [0.005, 8],
      [0.01, 9],
      [Infinity, 9],
    ] as Array<[number, number]>,
    count: 9,
    sum: 0.02,
  };
  const b = {
    buckets: [
      [0.005, 8],
      [0.01, 19],
      [Infinity, 20],
    ] as Array<[number, number]>,
    count: 20,
    sum: 0.2,
  };

  it('takes the interval delta and its p99 like histogram_quantile', () => {
    const d = histogramDelta(a, b);
    expect(d.count).to.equal(11);
    expect(d.buckets).to.deep.equal([
      [0.005, 0],
      [0.01, 10],
      [Infinity, 11],
    ]);
    // rank 10.89 falls in +Inf bucket → highest finite bound
    expect(histogramQuantile(0.99, d)).to.equal(0.01);
    expect(histogramQuantile(0.5, d)).to.be.closeTo(0.005 + 0.005 * (5.5 / 10), 1e-9);
  });

  it('treats a counter reset as a restart', () => {
    expect(histogramDelta(b, a)).to.equal(a);
  });

  it('has no quantile without observations', () => {
    expect(histogramQuantile(0.99, histogramDelta(a, a))).to.equal(undefined);
    expect(sampleQuantile(0.99, [])).to.equal(undefined);
    expect(sampleQuantile(0.5, [3, 1, 2])).to.equal(2);
  });

  it('sums members', () => {
    expect(sumHistograms([a, a])!.buckets).to.deep.equal([
      [0.005, 16],
      [0.01, 18],
      [Infinity, 18],
    ]);
  });
});
