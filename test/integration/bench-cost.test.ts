/**
 * The cost tool (`npm run bench:cost`, bench/cost/) on a tiny load against real etcd: it runs
 * and reports what it says it measures. No timing assertions: timings belong to the full run.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { measureScale } from '../../bench/cost/measure.js';
import { measureProbeRound, type ProbeVariantResult } from '../../bench/cost/probeRound.js';
import {
  estimateCores,
  formatCostSummary,
  judgeTargets,
  machineInfo,
  type CostReport,
  type ScaleRow,
} from '../../bench/cost/report.js';
import { extractMemberMetrics, extractMemberMetricsFromText } from '../../src/etcd/memberMetrics.js';
import { parsePromText } from '../../src/etcd/promtext.js';
import { fetchText } from '../../src/etcd/scrape.js';
import { EtcdCluster } from '../helpers/etcdCluster.js';

const execFileP = promisify(execFile);

describe('cost tool (bench:cost) on a tiny load against a real 3-member etcd', function () {
  this.timeout(180_000);
  let cluster: EtcdCluster;

  before(async () => {
    cluster = await EtcdCluster.start({ size: 3 });
  });
  after(async () => {
    await cluster?.stop();
  });

  it("reads a real member's /metrics the same way with the scanner as by parsing every line", async () => {
    for (const ep of cluster.endpoints) {
      const text = await fetchText(`${ep}/metrics`, 5000);
      const want = extractMemberMetrics(parsePromText(text));
      expect(want.grpcHandledTotal, 'a real member exports grpc_server_handled_total').to.be.a('number');
      expect(want.readHistogram, 'and, with --metrics=extensive, the KV handling histograms').to.not.equal(
        undefined,
      );
      expect(extractMemberMetricsFromText(text)).to.deep.equal(want);
    }
  });

  it('measures one probe round against the raw round trips', async () => {
    const r = await measureProbeRound({ endpoints: cluster.endpoints, rounds: 8, warmupRounds: 2 });
    expect(r.members).to.equal(3);
    const variants: ProbeVariantResult[] = [
      r.rawStatus,
      r.rawStatusWire,
      r.rawSameRpcs,
      r.probe,
      r.probeWithMetrics,
    ];
    for (const v of variants) {
      expect(v.latencyMs.count, v.what).to.equal(8);
      expect(v.failedRounds, v.what).to.equal(0);
      expect(v.latencyMs.p50).to.be.greaterThan(0);
      expect(v.latencyMs.p99).to.be.at.least(v.latencyMs.p50);
      expect(v.cpuMsPerRound).to.be.greaterThan(0);
    }
    expect(r.overhead.probeVsRawStatus.p50Ms).to.equal(
      Math.round((r.probe.latencyMs.p50 - r.rawStatus.latencyMs.p50) * 1000) / 1000,
    );
  });

  it('monitors 5 clusters in a child process and reports CPU, memory, rounds and render times', async () => {
    const phases: string[] = [];
    const res = await measureScale(
      {
        clusters: 5,
        targets: [cluster.endpoints],
        intervalMs: 1000,
        timeoutMs: 800,
        memberMetrics: true,
        settleMs: 200,
        windowMs: 2000,
        fillHistory: true,
        renders: 2,
      },
      { onWindow: (p) => void phases.push(p) },
    );
    expect(phases).to.deep.equal(['start', 'end']);
    expect(res).to.include({ clusters: 5, members: 15, memberMetrics: true, historyPointsPerCluster: 360 });
    expect(res.windowSeconds).to.be.within(1.9, 5);
    expect(res.rounds.count).to.be.greaterThan(0);
    expect(res.rounds.withErrors, res.rounds.errorSamples.join('; ')).to.equal(0);
    expect(res.rounds.durationMs!.p99).to.be.at.least(res.rounds.durationMs!.p50);
    expect(res.phases).to.deep.equal({ Healthy: 5 });
    expect(res.cpu.cores).to.be.greaterThan(0);
    expect(res.cpu.msPerClusterRound).to.be.greaterThan(0);
    expect(res.memory.rssMiB.max).to.be.at.least(res.memory.baselineRssMiB);
    expect(res.memory.heapLiveMiB, 'the worker runs with --expose-gc').to.be.a('number');
    expect(res.eventLoopDelayMs.p99).to.be.at.least(res.eventLoopDelayMs.p50);
    expect(res.saturated).to.be.a('boolean');
    // 5 clusters x 3 members: every cluster and member series is in the rendered /metrics.
    expect(res.render.metrics.lines).to.be.greaterThan(5 * 11 + 15 * 12);
    expect(res.render.metricsHttp.bytes).to.be.closeTo(res.render.metrics.bytes, 2000);
    expect(res.render.clustersJsonHttp.bytes).to.be.greaterThan(0);
    expect(res.render.metrics.ms.count).to.equal(2);
  });

  it('runs as a command and writes its JSON report and summary', async () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bench-cost-')), 'cost.json');
    const { stdout } = await execFileP(
      process.execPath,
      [
        '--import',
        'tsx',
        'scripts/bench-cost.ts',
        '--sizes=3',
        '--targets=1',
        '--interval=1000',
        '--also-without-metrics=false',
        '--also-heap-limit=none',
        '--timeout=800',
        '--window=1500',
        '--settle=200',
        '--probe-rounds=5',
        '--worker=tsx',
        `--out=${out}`,
      ],
      { timeout: 150_000, maxBuffer: 16 * 1024 * 1024 },
    );
    const report = JSON.parse(fs.readFileSync(out, 'utf8')) as CostReport;
    expect(report.machine.cpuCount).to.equal(os.cpus().length);
    expect(report.machine.node).to.equal(process.version);
    expect(report.machine.loadavg).to.have.length(3);
    expect(report.etcd).to.match(/etcd Version: 3\./);
    expect(report.setup).to.match(/round-robin/);
    expect(report.probeRound!.rounds).to.equal(5);
    expect(report.scale).to.have.length(1);
    // Workers run with the heap limit the binary's shebang sets (src/cli/main.ts).
    expect(report.scale[0]!.nodeFlags).to.deep.equal(['--max-old-space-size=512']);
    expect(report.scale[0]).to.include({ clusters: 3, members: 9, intervalMs: 1000 });
    expect(report.scale[0]!.etcdCores).to.be.a('number');
    expect(report.scale[0]!.loadavgAfter).to.have.length(3);
    expect(report.targets.met).to.deep.equal({ cpu: null, rss: null, metricsRender: null });
    expect(report.memberMetricsExposition!.sampleLines).to.be.greaterThan(100);
    expect(report.notes).to.be.an('array');
    expect(stdout).to.include('One probe round, 3 members on loopback, 5 rounds');
    expect(stdout).to.match(/^\s+3\s+yes\s/m);
    expect(stdout).to.include(`wrote ${out}`);
    fs.rmSync(path.dirname(out), { recursive: true, force: true });
  });

  it('judges the targets on the 1000-cluster row and says so in the summary', () => {
    const report: CostReport = {
      when: '',
      machine: machineInfo(),
      etcd: 'etcd Version: 3.4.23',
      setup: 'x',
      scale: [],
      targets: { coresAt1000: 0.5, rssMiBAt1000: 300, metricsRenderMsAt1000: 100 },
    };
    expect(judgeTargets(report.scale)).to.deep.equal({ cpu: null, rss: null, metricsRender: null });
    expect(formatCostSummary(report)).to.include('etcd-monitor own cost');
    // A 1000-cluster row is judged against the targets; an estimate comes from the largest unsaturated row.
    const row = (clusters: number, cores: number, saturated: boolean): ScaleRow =>
      ({
        clusters,
        memberMetrics: true,
        saturated,
        intervalMs: 10_000,
        cpu: { cores, userCores: cores, systemCores: 0, msPerClusterRound: (cores * 10_000) / clusters },
        memory: { rssMiB: { max: 250, end: 250 } },
        render: { metrics: { ms: { p50: 40 } } },
      }) as unknown as ScaleRow;
    const scale = [row(100, 0.06, false), row(500, 0.3, false), row(1000, 0.9, true)];
    expect(judgeTargets(scale)).to.deep.equal({ cpu: false, rss: true, metricsRender: true });
    expect(estimateCores(scale, 1000, true)).to.deep.equal({ cores: 0.6, fromClusters: 500 });
    expect(estimateCores(scale, 1000, false)).to.equal(undefined);
  });
});
