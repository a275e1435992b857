import { expect } from 'chai';
import { extractMemberMetrics } from '../../src/etcd/memberMetrics.js';
import { parsePromText, PromTextError } from '../../src/etcd/promtext.js';
import { histogramDelta, histogramQuantile, sampleQuantile, sumHistograms } from '../../src/health/histogram.js';

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
    expect(m).to.include({ proposalsCommitted: 42, proposalsPending: 1, dbTotalSizeBytes: 24576, watchers: 3, openGrpcCalls: 1, grpcHandledTotal: 9 });
    expect(m.readHistogram!.count).to.equal(9);
    expect(m.writeHistogram).to.equal(undefined);
    expect(m.proposalsFailed).to.equal(undefined); // absent, not a fake 0
  });
});

describe('histogram arithmetic', () => {
  const a = { buckets: [[0.005, 8], [0.01, 9], [Infinity, 9]] as Array<[number, number]>, count: 9, sum: 0.02 };
  const b = { buckets: [[0.005, 8], [0.01, 19], [Infinity, 20]] as Array<[number, number]>, count: 20, sum: 0.2 };

  it('takes the interval delta and its p99 like histogram_quantile', () => {
    const d = histogramDelta(a, b);
    expect(d.count).to.equal(11);
    expect(d.buckets).to.deep.equal([[0.005, 0], [0.01, 10], [Infinity, 11]]);
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
    expect(sumHistograms([a, a])!.buckets).to.deep.equal([[0.005, 16], [0.01, 18], [Infinity, 18]]);
  });
});
