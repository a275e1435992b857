/**
 * The fallback read p99 (the monitor's own health reads) against etcd's own numbers: a real 3-member etcd
 * runs with --metrics=extensive as the oracle, and the monitor scrapes each member's /metrics through a
 * loopback proxy that removes grpc_server_handling_seconds (so the monitor falls back to its health reads,
 * as on most real clusters) and keeps those lines for the test. Every status, from the first, is compared
 * with etcd's Range p99 over the same window: the Range requests etcd handled between the scrape before
 * the monitor's oldest sample and the scrape of that round. SPEC §3: within 2 ms + 2×.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { startStandalone, type StandaloneApp } from '../../src/cli/monitorCommand.js';
import { parseEndpoints } from '../../src/etcd/endpoints.js';
import { MemberMetricsScanner, type Histogram } from '../../src/etcd/memberMetrics.js';
import { DEFAULT_THRESHOLDS } from '../../src/health/evaluate.js';
import { histogramDelta, histogramQuantile, sumHistograms } from '../../src/health/histogram.js';
import { silentLogger } from '../../src/log.js';
import type { RoundResult } from '../../src/monitor/clusterMonitor.js';
import { makePki, type Pki } from '../helpers/certs.js';
import { EtcdCluster } from '../helpers/etcdCluster.js';
import { startProcess, stopProcess, waitFor } from '../helpers/procs.js';

const HIDDEN = 'grpc_server_handling_seconds';

/** A member's /metrics minus the gRPC handling histograms, which it keeps: what etcd itself measured. */
interface OracleProxy {
  url: string;
  /** The Range histogram of the last scrape that went through. */
  latest(): Histogram | undefined;
  close(): Promise<void>;
}

async function oracleProxy(target: string): Promise<OracleProxy> {
  let latest: Histogram | undefined;
  const server = http.createServer((req, res) => {
    const up = http.get(target, { timeout: 5000 }, (r) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => {
        const kept: string[] = [];
        const hidden: string[] = [];
        for (const line of Buffer.concat(chunks).toString('utf8').split('\n')) {
          const name = line.startsWith('# ') ? line.split(' ')[2] : line;
          (name?.startsWith(HIDDEN) ? hidden : kept).push(line);
        }
        const scanner = new MemberMetricsScanner();
        scanner.push(Buffer.from(hidden.join('\n') + '\n'));
        latest = scanner.finish().readHistogram;
        res.writeHead(r.statusCode ?? 502, { 'content-type': r.headers['content-type'] ?? 'text/plain' });
        res.end(kept.join('\n'));
      });
      r.on('error', () => res.destroy());
    });
    up.on('error', () => res.destroy());
    req.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`,
    latest: () => latest,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

interface Recorded {
  round: RoundResult;
  /** Per member: etcd's cumulative Range histogram at this round's scrape. */
  oracle: Array<Histogram | undefined>;
}

interface Comparison {
  round: number;
  oursMs: number;
  kind: string | undefined;
  samples: number | undefined;
  theirsMs: number;
  requests: number;
}

/** etcd's Range p99 over the window of samples behind this round's figure. */
function compare(rec: Recorded[], k: number): Comparison | undefined {
  const r = rec[k]!.round;
  const ours = r.evaluation.status.latency.readP99Ms;
  const samples = r.evaluation.memory.latency.readSamples;
  if (ours === undefined || samples.length === 0) return undefined;
  const first = rec.findIndex((x) => x.round.observation.time === samples[0]!.t);
  expect(first, 'the round of the oldest sample').to.be.greaterThan(0);
  const before = rec[first - 1]!.oracle;
  const deltas = rec[k]!.oracle.map((h, i) =>
    h && before[i] ? histogramDelta(before[i], h) : undefined,
  ).filter((h): h is Histogram => h !== undefined);
  const total = sumHistograms(deltas)!;
  const theirs = histogramQuantile(0.99, total)! * 1000;
  const s = r.evaluation.status.latency;
  return {
    round: k,
    oursMs: ours,
    kind: s.readP99Kind,
    samples: s.readSamples,
    theirsMs: theirs,
    requests: total.count,
  };
}

function summary(label: string, cs: Comparison[]): string {
  const last = cs[cs.length - 1]!;
  const worst = cs.reduce((w, c) => (c.oursMs - 2 * c.theirsMs > w.oursMs - 2 * w.theirsMs ? c : w));
  return `${label}: ${cs.length} statuses; last: ours ${last.oursMs}ms (${last.kind} of ${last.samples}) vs etcd ${last.theirsMs.toFixed(2)}ms (${last.requests} Range requests); tightest: round ${worst.round} ours ${worst.oursMs}ms vs etcd ${worst.theirsMs.toFixed(2)}ms`;
}

describe("fallback read p99 against etcd's own grpc_server_handling_seconds (oracle)", function () {
  this.timeout(180_000);
  let cluster: EtcdCluster;
  let proxies: OracleProxy[] = [];
  let app: StandaloneApp | undefined;
  const rec: Recorded[] = [];

  before(async () => {
    cluster = await EtcdCluster.start({ size: 3, extensiveMetrics: true });
    proxies = await Promise.all(cluster.endpoints.map((e) => oracleProxy(`${e}/metrics`)));
    app = await startStandalone(
      { endpoints: parseEndpoints(cluster.endpoints), conn: {}, timeoutMs: 500, clusterName: 'oracle' },
      { interval: 1000, apiHost: '127.0.0.1', apiPort: 0, thresholds: DEFAULT_THRESHOLDS, logLevel: 'error' },
      { metrics: true, metricsUrls: proxies.map((p) => p.url), writeProbe: false },
      silentLogger(),
    );
    // Attached before the first round runs (it is scheduled on a timer).
    app.monitor.on('round', (round) => rec.push({ round, oracle: proxies.map((p) => p.latest()) }));
  });

  after(async () => {
    await app?.stop();
    await Promise.all(proxies.map((p) => p.close()));
    await cluster?.stop();
  });

  function check(from: number, to: number): Comparison[] {
    const out: Comparison[] = [];
    for (let k = from; k < to; k++) {
      const s = rec[k]!.round.evaluation.status;
      expect(
        s.phase,
        `round ${k}: ${JSON.stringify(s.conditions.find((c) => c.type === 'Degraded'))}`,
      ).to.equal('Healthy');
      const c = compare(rec, k);
      if (!c) continue;
      expect(
        c.oursMs,
        `round ${k}: ours ${c.oursMs}ms vs etcd's Range p99 ${c.theirsMs.toFixed(2)}ms over the same window`,
      ).to.be.at.most(2 + 2 * c.theirsMs);
      if (process.env.ORACLE_DEBUG)
        process.stdout.write(
          `round ${k}: ours ${c.oursMs} (${c.kind}/${c.samples}) etcd ${c.theirsMs.toFixed(2)} of ${c.requests} ${JSON.stringify(rec[k]!.round.observation.members.map((m) => [m.healthLatencyMs?.toFixed(1), m.healthStallMs?.toFixed(1)]))}\n`,
        );
      out.push(c);
    }
    return out;
  }

  it("idle: the first round is no sample, and every figure from then on is within 2 ms + 2x of etcd's", async () => {
    await waitFor('15 rounds', async () => rec.length >= 15, 40_000, 100);
    const first = rec[0]!.round.evaluation.status.latency;
    expect(first.readP99Ms, 'the first round after connecting is not a latency sample').to.equal(undefined);
    expect(first.notes!.join('\n')).to.match(/readP99Ms: no sample yet: the first round after connecting/);
    expect(rec[0]!.round.observation.members.every((m) => m.healthSetup === true)).to.equal(true);
    const cs = check(0, 15);
    // A round whose reads the event loop delayed is not counted either, so the figure may start a round later.
    expect(cs[0]!.round, 'the first round with a figure').to.be.at.most(4);
    expect(cs[0]!.kind).to.equal('max');
    expect(cs.length, 'statuses with a figure').to.be.at.least(12);
    process.stdout.write(`      ${summary('idle', cs)}\n`);
  });

  it('under a light load (20 puts/s + 20 linearizable gets/s from another process): still within 2 ms + 2x', async () => {
    const main = path.resolve('src/cli/main.ts');
    const load = startProcess(process.execPath, [
      '--import',
      'tsx',
      main,
      'benchmark',
      `--endpoints=${cluster.endpoints.join(',')}`,
      '--type=mixed',
      '--rate=40',
      '--ops=4000',
      '--clients=2',
      '--no-prepopulate',
      '--json',
    ]);
    try {
      const from = rec.length;
      // Let the load get going (its process starts up), then 15 more rounds.
      await waitFor('load running and 15 rounds', async () => rec.length >= from + 18, 60_000, 100);
      const cs = check(from + 3, rec.length);
      expect(cs.length).to.be.at.least(12);
      const last = cs[cs.length - 1]!;
      expect(last.requests, 'etcd saw the load').to.be.greaterThan(100);
      process.stdout.write(`      ${summary('light load', cs)}\n`);
      const text = await (await fetch(`${app!.url}/metrics`)).text();
      const lag = /^etcd_monitor_event_loop_lag_seconds (\S+)$/m.exec(text);
      expect(lag, 'etcd_monitor_event_loop_lag_seconds exported').to.not.equal(null);
      process.stdout.write(
        `      event-loop lag (max over the last 10-20 s): ${(Number(lag![1]) * 1000).toFixed(1)}ms\n`,
      );
    } finally {
      await stopProcess(load, 2000);
    }
  });
});

describe('client mTLS: the TLS handshake is not a read', function () {
  this.timeout(120_000);
  let pki: Pki;
  let cluster: EtcdCluster;
  let app: StandaloneApp | undefined;

  before(async () => {
    pki = makePki();
    cluster = await EtcdCluster.start({
      size: 3,
      extensiveMetrics: false,
      tls: {
        certFile: pki.serverCertFile,
        keyFile: pki.serverKeyFile,
        caFile: pki.caFile,
        clientCertAuth: true,
      },
    });
  });
  after(async () => {
    await app?.stop();
    await cluster?.stop();
    pki?.cleanup();
  });

  it('the first round (handshakes) is marked set-up and is no sample; no status is ever Degraded', async () => {
    const tls = {
      ca: fs.readFileSync(pki.caFile),
      cert: fs.readFileSync(pki.clientCertFile),
      key: fs.readFileSync(pki.clientKeyFile),
    };
    app = await startStandalone(
      { endpoints: parseEndpoints(cluster.endpoints), conn: { tls }, timeoutMs: 500, clusterName: 'tls' },
      { interval: 1000, apiHost: '127.0.0.1', apiPort: 0, thresholds: DEFAULT_THRESHOLDS, logLevel: 'error' },
      { metrics: true, writeProbe: false },
      silentLogger(),
    );
    const rounds: RoundResult[] = [];
    app.monitor.on('round', (r) => rounds.push(r));
    await waitFor('8 rounds', async () => rounds.length >= 8, 30_000, 100);
    const first = rounds[0]!;
    expect(
      first.observation.members.every((m) => m.healthSetup === true && !m.healthError),
      JSON.stringify(first.observation.members),
    ).to.equal(true);
    expect(first.evaluation.status.latency.readP99Ms).to.equal(undefined);
    for (const r of rounds) {
      expect(
        r.evaluation.status.phase,
        JSON.stringify(r.evaluation.status.conditions.find((c) => c.type === 'Degraded')),
      ).to.equal('Healthy');
      expect(
        r.evaluation.memory.latency.readSamples.some((x) => x.t === first.observation.time),
        'a handshake read among the samples',
      ).to.equal(false);
    }
    const later = rounds
      .slice(1)
      .flatMap((r) => r.observation.members.filter((m) => !m.healthSetup).map((m) => m.healthLatencyMs!));
    process.stdout.write(
      `      handshake reads ${first.observation.members.map((m) => m.healthLatencyMs!.toFixed(1)).join('/')}ms; later reads median ${later.sort((a, b) => a - b)[Math.floor(later.length / 2)]!.toFixed(1)}ms; figure ${rounds[rounds.length - 1]!.evaluation.status.latency.readP99Ms}ms\n`,
    );
  });
});
