/** The cost tool's /metrics replay (bench/cost/replay.ts) and its repeat summary, against a real etcd member. */
import { expect } from 'chai';
import { MetricsReplay } from '../../bench/cost/replay.js';
import { summariseRepeats } from '../../bench/cost/repeats.js';
import type { ScaleResult } from '../../bench/cost/measure.js';
import { extractMemberMetricsFromText } from '../../src/etcd/memberMetrics.js';
import { fetchChunks, fetchText } from '../../src/etcd/scrape.js';
import { EtcdCluster } from '../helpers/etcdCluster.js';

describe('cost tool: member /metrics replay', function () {
  this.timeout(60_000);
  let cluster: EtcdCluster;
  let replay: MetricsReplay;
  before(async () => {
    cluster = await EtcdCluster.start({ size: 1 });
    replay = new MetricsReplay([`${cluster.endpoints[0]}/metrics`], 500);
    await replay.start();
  });
  after(async () => {
    await replay?.stop();
    await cluster?.stop();
  });

  it('answers what the member answered, gzip or plain as asked, in several pieces', async () => {
    const plain = await fetchText(replay.url(0), 5000, undefined, { gzip: false });
    const gzip = await fetchText(replay.url(7), 5000);
    expect(plain).to.match(/^# HELP /);
    expect(Object.keys(extractMemberMetricsFromText(gzip))).to.deep.equal(
      Object.keys(extractMemberMetricsFromText(plain)),
    );
    let pieces = 0;
    await fetchChunks(replay.url(0), 5000, undefined, () => pieces++, { gzip: false });
    expect(pieces).to.be.greaterThan(1);
    expect(replay.served).to.equal(3);
  });

  it('summarises repeated rows by configuration', () => {
    const row = (cores: number, rss: number, gzip: boolean): ScaleResult =>
      ({
        clusters: 1000,
        memberMetrics: true,
        metricsGzip: gzip,
        nodeFlags: [],
        saturated: false,
        cpu: { cores },
        memory: { rssMiB: { max: rss } },
      }) as unknown as ScaleResult;
    const s = summariseRepeats([row(0.6, 700, true), row(0.7, 600, false), row(0.5, 650, true)]);
    expect(s).to.have.length(2);
    expect(s[0]).to.deep.include({ runs: 2, metricsGzip: true, saturatedRuns: 0 });
    expect(s[0]!.cores).to.deep.equal({ min: 0.5, median: 0.55, max: 0.6, all: [0.6, 0.5] });
  });
});
