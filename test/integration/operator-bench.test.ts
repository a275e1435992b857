/**
 * The operator-cost benchmark tool (scripts/bench-operator.ts) runs and reports sensibly on a tiny load.
 * No timing assertions: figures on a shared machine are the benchmark's business, not the test's.
 */
import { expect } from 'chai';
import { formatSummary, percentiles, type OperatorBenchReport } from '../../bench/operator/report.js';
import { runOperatorBench } from '../../bench/operator/run.js';

describe('operator cost benchmark (tiny load)', function () {
  this.timeout(300_000);
  let report: OperatorBenchReport;

  before(async () => {
    report = await runOperatorBench({
      monitors: 3,
      intervalSeconds: 2,
      timeoutSeconds: 1,
      steadySeconds: 3,
      concurrency: 2,
      runner: 'tsx',
      firstRounds: 'prompt',
    });
  });

  it('sees every resource get a status, a verdict and turn Healthy', () => {
    const t = report.timeToStatus;
    expect(t.notHealthy).to.deep.equal([]);
    expect(report.perMonitor.map((m) => m.name)).to.deep.equal(['bench-000', 'bench-001', 'bench-002']);
    for (const m of report.perMonitor) {
      expect(m.ackMs, m.name).to.be.a('number');
      expect(m.verdictPhase, m.name).to.equal('Healthy');
      expect(m.verdictMs!, m.name).to.be.at.least(m.ackMs!);
      expect(m.healthyMs, m.name).to.be.a('number');
      expect(m.firstRoundDelayMs).to.equal(0);
      expect(m.verdictAfterProbeStartMs, m.name).to.be.a('number');
    }
    for (const p of [
      t.acknowledgedFromApply,
      t.verdictFromApply,
      t.verdictFromCreated,
      t.verdictAfterFirstProbeCanRun,
      t.healthyFromCreated,
    ]) {
      expect(p?.count).to.equal(3);
      expect(p!.p50).to.be.at.most(p!.p90).and.at.most(p!.max);
    }
    expect(report.target.valueMs).to.equal(t.verdictAfterFirstProbeCanRun!.p50);
  });

  it('reports status writes, the operator’s own patch counter, CPU, RSS and the machine', () => {
    const w = report.statusWrites;
    expect(w.windowSeconds).to.be.at.least(3);
    expect(w.resourceVersionChanges).to.be.at.least(0);
    // Every resource got at least a first status and a verdict, as the operator's counter says too.
    const patches = Object.entries(w.operatorPatchesTotal)
      .filter(([k]) => k.endsWith('/ok'))
      .reduce((a, [, v]) => a + v, 0);
    expect(patches).to.be.at.least(3);
    expect(report.operator.steady.probeRounds).to.be.greaterThan(0);
    expect(report.operator.ramp.cpuSeconds).to.be.greaterThan(0);
    expect(report.operator.steady.rssMaxBytes).to.be.greaterThan(10 * 1024 * 1024);
    expect(report.etcdMembersSteady.wallSeconds).to.be.at.least(3);
    expect(report.machine.cpuCount).to.be.greaterThan(0);
    expect(report.machine.loadavgStart).to.have.length(3);
    expect(report.kubernetes).to.match(/^v1\.\d+/);
    expect(report.etcd).to.match(/etcd Version: 3\./i);
    const text = formatSummary(report);
    expect(text).to.include('3 EtcdMonitors');
    expect(text).to.match(/first verdict, after first probe can run: +p50 \d+/);
  });

  it('computes nearest-rank percentiles', () => {
    expect(percentiles([])).to.equal(undefined);
    expect(percentiles([5, 1, 3, 2, 4])).to.deep.equal({ count: 5, p50: 3, p90: 5, p99: 5, max: 5 });
  });
});
