/** The benchmark against a real 3-member etcd: write, read, mixed, the built CLI, and a frozen member. */
import { expect } from 'chai';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { resolveOptions, type BenchmarkInput } from '../../src/benchmark/options.js';
import type { BenchmarkReport } from '../../src/benchmark/report.js';
import { runBenchmark, type BenchmarkHooks } from '../../src/benchmark/runner.js';
import { parseEndpoints } from '../../src/etcd/endpoints.js';
import { EtcdCluster } from '../helpers/etcdCluster.js';

const execFileP = promisify(execFile);
const BIN = path.resolve('dist/cli/main.js');

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileP(process.execPath, [BIN, ...args], {
      timeout: 60_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

/** Build dist/ when it is missing or older than the benchmark sources (running this file alone). */
async function ensureBuilt(): Promise<void> {
  const out = path.resolve('dist/cli/benchmarkCommand.js');
  const srcs = [
    'src/cli/benchmarkCommand.ts',
    'src/cli/main.ts',
    'src/cli/monitorCommand.ts',
    ...fs.readdirSync('src/benchmark').map((f) => `src/benchmark/${f}`),
  ];
  const built = fs.existsSync(out) ? fs.statSync(out).mtimeMs : 0;
  if (srcs.every((s) => fs.statSync(s).mtimeMs <= built)) return;
  // Type errors are the typecheck step's business (npm test runs it first); tsc emits regardless.
  let log = '';
  try {
    await execFileP('npm', ['run', 'build'], { timeout: 120_000 });
  } catch (e) {
    log = String((e as { stdout?: string }).stdout ?? e);
  }
  if (!fs.existsSync(out) || fs.statSync(out).mtimeMs <= built)
    throw new Error(`npm run build did not produce ${out}:\n${log}`);
}

/** Established TCP connections of this process to the given ports (via ss), as "local peer" strings. */
async function ownConnections(ports: number[]): Promise<Set<string>> {
  const { stdout } = await execFileP('ss', ['-tnpH', 'state', 'established']);
  const out = new Set<string>();
  for (const line of stdout.split('\n')) {
    if (!line.includes(`pid=${process.pid},`)) continue;
    const [, , local, peer] = line.trim().split(/\s+/);
    if (local && peer && ports.includes(Number(peer.slice(peer.lastIndexOf(':') + 1))))
      out.add(`${local} ${peer}`);
  }
  return out;
}

function expectReportShape(r: BenchmarkReport, ops: number): void {
  expect(r.total).to.equal(ops);
  expect(r.failed, JSON.stringify(r.errors)).to.equal(0);
  expect(r.succeeded).to.equal(ops);
  expect(r.durationSeconds).to.be.greaterThan(0);
  expect(r.requestsPerSecond).to.be.greaterThan(0);
  for (const k of ['p50', 'p90', 'p99', 'p999', 'avg', 'min', 'max', 'stddev'] as const)
    expect(r.latencyMs[k], k).to.be.a('number');
  expect(r.latencyMs.min!).to.be.at.most(r.latencyMs.p50!);
  expect(r.latencyMs.p50!).to.be.at.most(r.latencyMs.p99!);
  expect(r.latencyMs.p99!).to.be.at.most(r.latencyMs.max!);
  expect(r.errors).to.deep.equal({});
  expect(r.histogram.reduce((s, b) => s + b.count, 0)).to.equal(ops);
  expect(r.cleanup.ok).to.equal(true);
  expect(r.interrupted).to.equal(false);
  expect(r.parameters.prefix).to.match(/^\/etcd-monitor-bench\/[A-Za-z0-9]{12}\/$/);
}

describe('benchmark against a real 3-member etcd', function () {
  this.timeout(180_000);
  let cluster: EtcdCluster;
  const target = () => ({ endpoints: parseEndpoints(cluster.endpoints), conn: {} });
  const run = (input: BenchmarkInput, hooks?: BenchmarkHooks) =>
    runBenchmark(resolveOptions({ timeoutMs: 5000, ...input }, 3), target(), hooks);
  const keysUnder = async (prefix: string, endpoints = cluster.endpoints): Promise<string[]> =>
    (await cluster.etcdctl(['get', '--prefix', '--keys-only', prefix], endpoints))
      .split('\n')
      .filter((l) => l.trim() !== '');

  before(async () => {
    cluster = await EtcdCluster.start({ size: 3 });
    await ensureBuilt();
  });
  after(async () => {
    await cluster?.stop();
  });

  it('write: 2000 puts over 5 real TCP connections, nothing failed, keys removed', async () => {
    const ports = cluster.endpoints.map((u) => Number(new URL(u).port));
    const before = await ownConnections(ports);
    let during = new Set<string>();
    const r = await run(
      { type: 'write', ops: 2000, clients: 10, conns: 5 },
      { onReady: async () => void (during = await ownConnections(ports)) },
    );
    expectReportShape(r, 2000);
    expect(r.operations.put!.total).to.equal(2000);
    expect(r.operations.range).to.equal(undefined);
    expect(r.prepopulate).to.equal(null);
    expect(r.cleanup.deleted).to.be.within(1, 2000);
    // 5 connections spread over 3 endpoints: 2, 2, 1 — distinct channels really are distinct sockets.
    const opened = [...during].filter((c) => !before.has(c));
    const perPort = ports.map((p) => opened.filter((c) => c.endsWith(`:${p}`)).length);
    expect(perPort, `new connections: ${opened.join(', ')}`).to.deep.equal([2, 2, 1]);
    expect(await keysUnder(r.parameters.prefix)).to.deep.equal([]);
  });

  it('read: prepopulates the key space (untimed), then 2000 linearizable ranges', async () => {
    const r = await run({ type: 'read', ops: 2000, clients: 10, conns: 3, keySpaceSize: 500 });
    expectReportShape(r, 2000);
    expect(r.prepopulate).to.include({ keys: 500, failed: 0 });
    expect(r.operations.range!.total).to.equal(2000);
    expect(r.operations.put).to.equal(undefined);
    expect(r.parameters.consistency).to.equal('l');
    // Exactly the prepopulated keys were deleted: reads write nothing.
    expect(r.cleanup.deleted).to.equal(500);
    expect(await keysUnder(r.parameters.prefix)).to.deep.equal([]);
  });

  it('mixed: half puts, half serializable ranges, sequential keys', async () => {
    const r = await run({
      type: 'mixed',
      ops: 2000,
      clients: 10,
      conns: 3,
      consistency: 's',
      sequentialKeys: true,
      keySpaceSize: 1000,
    });
    expectReportShape(r, 2000);
    expect(r.operations.put!.total).to.equal(1000);
    expect(r.operations.range!.total).to.equal(1000);
    expect(r.cleanup.deleted).to.equal(1000);
    expect(await keysUnder(r.parameters.prefix)).to.deep.equal([]);
  });

  it('rate limit: 200 requests at 400/s take about half a second', async () => {
    const r = await run({ type: 'write', ops: 200, clients: 10, conns: 2, rate: 400 });
    expectReportShape(r, 200);
    expect(r.durationSeconds).to.be.within(0.45, 2);
    expect(r.requestsPerSecond).to.be.at.most(440);
  });

  it('the built CLI prints one JSON report and exits 0', async () => {
    const res = await cli([
      'benchmark',
      `--endpoints=${cluster.endpoints.join(',')}`,
      '--type=mixed',
      '--ops=2000',
      '--clients=10',
      '--conns=3',
      '--key-space-size=300',
      '--json',
    ]);
    expect(res.code, res.stderr).to.equal(0);
    const r = JSON.parse(res.stdout) as BenchmarkReport;
    expectReportShape(r, 2000);
    expect(r.parameters).to.include({
      type: 'mixed',
      ops: 2000,
      clients: 10,
      conns: 3,
      keySpaceSize: 300,
      readRatio: 0.5,
      valueSize: 256,
    });
    expect(r.parameters.endpoints).to.deep.equal(cluster.endpoints);
    expect(await keysUnder(r.parameters.prefix)).to.deep.equal([]);
    expect(await keysUnder('/etcd-monitor-bench/')).to.deep.equal([]);
  });

  it("the guide's --run-benchmark form works as written, and bad flags exit 2 with usage", async () => {
    const res = await cli([
      `--endpoints=${cluster.endpoints.join(',')}`,
      '--run-benchmark',
      '--benchmark-type=write',
      '--benchmark-ops=1000',
    ]);
    expect(res.code, res.stderr).to.equal(0);
    expect(res.stdout).to.match(/Benchmark write: 1000 requests, 50 clients, 3 connections/);
    for (const s of [
      'Summary:',
      'Total:',
      'Slowest:',
      'Fastest:',
      'Average:',
      'Stddev:',
      'Requests/sec:',
      'Response time histogram:',
      'Latency distribution:',
      '99.9% in',
    ])
      expect(res.stdout).to.include(s);
    expect(res.stderr).to.not.match(/\r/); // no progress bar when stderr is not a terminal
    const bad = await cli([
      'benchmark',
      `--endpoints=${cluster.endpoints.join(',')}`,
      '--clients=2',
      '--conns=3',
    ]);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.match(/--conns \(3\) must not exceed --clients \(2\)/);
    expect(bad.stderr).to.match(/Usage: etcd-monitor benchmark/);
    const lone = await cli([`--endpoints=${cluster.endpoints.join(',')}`, '--benchmark-ops=10']);
    expect(lone.code).to.equal(2);
    expect(lone.stderr).to.match(/need --run-benchmark/);
    const help = await cli(['benchmark', '--help']);
    expect(help.code).to.equal(0);
    expect(help.stdout).to.match(/--key-space-size/);
  });

  it('Ctrl-C stops issuing requests, deletes the keys, reports what ran and exits 130', async () => {
    const child = spawn(
      process.execPath,
      [
        BIN,
        'benchmark',
        `--endpoints=${cluster.endpoints.join(',')}`,
        '--ops=1000000',
        '--clients=10',
        '--conns=3',
        '--json',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await new Promise((r) => setTimeout(r, 2000));
    child.kill('SIGINT');
    const code = await Promise.race([
      exited,
      new Promise<string>((r) => setTimeout(() => r('hung'), 20_000)),
    ]);
    if (code === 'hung') child.kill('SIGKILL');
    expect(code, stderr).to.equal(130);
    expect(stderr).to.match(/interrupted; waiting for requests in flight/);
    const r = JSON.parse(stdout) as BenchmarkReport;
    expect(r.interrupted).to.equal(true);
    expect(r.total).to.be.greaterThan(0).and.lessThan(1_000_000);
    expect(r.failed).to.equal(0);
    expect(r.cleanup).to.include({ ok: true });
    expect(r.cleanup.deleted).to.be.greaterThan(0);
    expect(await keysUnder(r.parameters.prefix)).to.deep.equal([]);
  });

  it('a frozen member: its requests fail with DEADLINE_EXCEEDED, counted, and the run still ends', async () => {
    const leader = await cluster.leaderIndex();
    const frozen = (leader + 1) % 3;
    const healthy = cluster.endpoints.filter((_, i) => i !== frozen);
    let r: BenchmarkReport;
    const t0 = Date.now();
    try {
      // Freeze once the connections are up, so requests are already on the wire when the member stops.
      r = await run(
        { type: 'mixed', ops: 600, clients: 9, conns: 3, timeoutMs: 300 },
        { onReady: () => cluster.freeze(frozen) },
      );
      const elapsed = Date.now() - t0;
      expect(r.total).to.equal(600);
      expect(r.failed).to.be.greaterThan(0);
      expect(r.succeeded).to.be.greaterThan(0);
      expect(r.succeeded + r.failed).to.equal(600);
      expect(Object.values(r.errors).reduce((a, b) => a + b, 0)).to.equal(r.failed);
      expect(r.errors.DEADLINE_EXCEEDED, JSON.stringify(r.errors)).to.be.greaterThan(0);
      expect(r.errorMessages.DEADLINE_EXCEEDED).to.be.a('string');
      // Only the frozen member's share can fail; the others carry the run.
      expect(r.failed).to.be.lessThan(300);
      expect(elapsed).to.be.lessThan(30_000);
      // Cleanup went through a healthy member: nothing is left there.
      expect(r.cleanup.ok, r.cleanup.error).to.equal(true);
      expect(await keysUnder(r.parameters.prefix, healthy)).to.deep.equal([]);
    } finally {
      cluster.thaw(frozen);
    }
    await cluster.waitHealthy(30_000);
    // Requests the frozen member had already received may still be applied after it thaws
    // (a client-side deadline cannot recall a request): remove them so later tests start clean.
    await cluster.etcdctl(['del', '--prefix', r.parameters.prefix]);
  });

  it('the CLI exits 1 when requests fail, with the failures in the report', async () => {
    const leader = await cluster.leaderIndex();
    const frozen = (leader + 2) % 3;
    cluster.freeze(frozen);
    try {
      const res = await cli([
        'benchmark',
        `--endpoints=${cluster.endpoints.join(',')}`,
        '--ops=300',
        '--clients=6',
        '--conns=3',
        '--timeout=300ms',
        '--json',
      ]);
      expect(res.code, res.stderr).to.equal(1);
      const r = JSON.parse(res.stdout) as BenchmarkReport;
      expect(r.total).to.equal(300);
      expect(r.failed).to.be.greaterThan(0);
      expect(r.errors.DEADLINE_EXCEEDED).to.equal(r.failed);
      // Timed-out puts have an unknown outcome: the report says so and how to remove stragglers.
      expect(r.cleanup.note).to.match(/unknown outcome.*etcdctl del --prefix \/etcd-monitor-bench\//);
      expect(res.stderr).to.match(/warning: connection to http:\/\/127\.0\.0\.1:\d+: DEADLINE_EXCEEDED/);
      expect(r.cleanup.ok).to.equal(true);
    } finally {
      cluster.thaw(frozen);
    }
    await cluster.waitHealthy(30_000);
  });
});
