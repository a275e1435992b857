/**
 * The protobuf /metrics exposition, from real etcd 3.4, 3.5 and 3.6: the probe asks for it (as
 * Prometheus does) and every member gives it; its snapshot is the text exposition's. A member's figures
 * move between two requests (its RSS always; peer RTT and commits now and then), so the protobuf snapshot
 * is taken between two text ones and must equal one of them (RSS aside); a few tries are allowed.
 */
import { expect } from 'chai';
import { extractMemberMetricsFromText, type MemberMetricsSnapshot } from '../../src/etcd/memberMetrics.js';
import {
  PROTOBUF_OR_TEXT,
  extractMemberMetricsFromProto,
  isProtobufExposition,
} from '../../src/etcd/memberMetricsProto.js';
import { parseEndpoints } from '../../src/etcd/endpoints.js';
import { EtcdProber } from '../../src/etcd/probe.js';
import { fetchChunks, fetchText } from '../../src/etcd/scrape.js';
import { EtcdCluster, etcdVersions } from '../helpers/etcdCluster.js';

async function protoSnapshot(url: string): Promise<{ contentType?: string; snap: MemberMetricsSnapshot }> {
  const chunks: Buffer[] = [];
  let contentType: string | undefined;
  await fetchChunks(url, 5000, undefined, (c) => chunks.push(c), {
    accept: PROTOBUF_OR_TEXT,
    onContentType: (t) => (contentType = t),
  });
  return { contentType, snap: extractMemberMetricsFromProto(Buffer.concat(chunks)) };
}

const steady = (s: MemberMetricsSnapshot): string => JSON.stringify({ ...s, residentMemoryBytes: 0 });

for (const version of etcdVersions())
  describe(`member /metrics as protobuf from a real ${version.name}`, function () {
    this.timeout(60_000);
    let cluster: EtcdCluster;
    before(async () => {
      cluster = await EtcdCluster.start({ size: 3, binary: version.binary, etcdctl: version.etcdctl });
      await cluster.etcdctl(['put', 'k', 'v']);
      await cluster.etcdctl(['get', 'k']);
    });
    after(async () => cluster?.stop());

    it('is what the member answers when asked, and reads as the text exposition does', async () => {
      const url = `${cluster.endpoints[0]}/metrics`;
      let last = '';
      for (let attempt = 0; attempt < 5; attempt++) {
        const before = steady(extractMemberMetricsFromText(await fetchText(url, 5000)));
        const p = await protoSnapshot(url);
        const after = steady(extractMemberMetricsFromText(await fetchText(url, 5000)));
        expect(isProtobufExposition(p.contentType), String(p.contentType)).to.equal(true);
        expect(p.snap.walFsync?.count, 'a histogram was read').to.be.greaterThan(0);
        expect(p.snap.readHistogram?.count, 'the KV Range histogram (--metrics=extensive)').to.be.greaterThan(
          0,
        );
        const got = steady(p.snap);
        if (got === before || got === after) return;
        last = `protobuf ${got}\ntext     ${before}\ntext     ${after}`;
      }
      expect.fail(`the protobuf snapshot never matched the text one:\n${last}`);
    });

    it('the probe, which asks for protobuf, reads every member’s /metrics', async () => {
      const prober = new EtcdProber(
        parseEndpoints(cluster.endpoints),
        {},
        { timeoutMs: 3000, metrics: true },
      );
      try {
        const obs = await prober.probe(Date.now());
        for (const m of obs.members) {
          expect(m.metricsError, m.endpoint).to.equal(undefined);
          expect(m.metrics?.hasLeader, m.endpoint).to.equal(1);
          expect(m.metrics?.backendCommit?.count, m.endpoint).to.be.greaterThan(0);
        }
      } finally {
        prober.close();
      }
    });
  });
