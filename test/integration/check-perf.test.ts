/**
 * `etcd-monitor check perf` against a real 3-member etcd 3.5, side by side with the Go-built
 * `etcdctl check perf` on the same cluster: both PASS on an idle cluster at about the same rate;
 * a frozen follower makes ours FAIL with the check named; the prefix is empty after every run
 * (also after Ctrl-C); a pre-existing key is refused and kept; a bad --load exits 2 with usage.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CheckPerfResult } from '../../src/benchmark/checkPerf.js';
import { main } from '../../src/cli/main.js';
import { parseEndpoint } from '../../src/etcd/endpoints.js';
import { MemberClient } from '../../src/etcd/grpc.js';
import { prefixEnd } from '../../src/etcd/keyRange.js';
import { EtcdCluster, etcdVersions } from '../helpers/etcdCluster.js';

const MAIN = path.resolve('src/cli/main.ts');
const V35 = etcdVersions().find((v) => v.name === 'etcd 3.5')!;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Run a command to its end; `during(child)` runs meanwhile (freeze a member, send SIGINT). */
function run(
  cmd: string,
  args: string[],
  during?: (pid: number) => Promise<void>,
  timeoutMs = 120_000,
): Promise<Run> {
  const t0 = Date.now();
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const side = during ? during(child.pid!) : Promise.resolve();
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      side.then(() => resolve({ code, stdout, stderr, ms: Date.now() - t0 }), reject);
    });
  });
}

const ours = (args: string[], during?: (pid: number) => Promise<void>): Promise<Run> =>
  run(process.execPath, ['--import', 'tsx', MAIN, 'check', 'perf', ...args], during);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('check perf against a real 3-member etcd 3.5, compared with etcdctl check perf', function () {
  this.timeout(150_000);
  let cluster: EtcdCluster;
  let ep: string;

  async function keysUnder(prefix: string, endpoints = cluster.endpoints): Promise<number> {
    const out = await cluster.etcdctl(['get', '--prefix', prefix, '--keys-only'], endpoints);
    return out.split('\n').filter((l) => l.trim() !== '').length;
  }

  /** Resolves once the run has written its first key under `prefix` (asked of member `via`). */
  async function runStarted(prefix: string, via: number): Promise<void> {
    const c = new MemberClient(parseEndpoint(cluster.endpoints[via]!));
    const key = Buffer.from(prefix);
    try {
      for (const t0 = Date.now(); Date.now() - t0 < 30_000; await sleep(50)) {
        const r = await c
          .call<{ count?: string }>('kv', 'range', { key, range_end: prefixEnd(key), count_only: true }, 1000)
          .catch(() => ({ count: '0' }));
        if (Number(r.count ?? 0) > 0) return;
      }
      throw new Error(`no key under ${prefix} within 30 s`);
    } finally {
      c.close();
    }
  }

  let dataRoot: string;
  before(async function () {
    this.timeout(60_000);
    // Data on tmpfs where there is one: the check is about etcd, not about this machine's disk.
    const base = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
    dataRoot = fs.mkdtempSync(path.join(base, 'etcd-monitor-check-perf-'));
    cluster = await EtcdCluster.start({ binary: V35.binary, etcdctl: V35.etcdctl, dataRoot });
    ep = `--endpoints=${cluster.endpoints.join(',')}`;
  });

  after(async () => {
    await cluster?.stop();
    if (dataRoot) fs.rmSync(dataRoot, { recursive: true, force: true });
  });

  it('idle cluster: ours and etcdctl both PASS near 150 writes/s, ours within 10% of etcdctl', async () => {
    const load = [os.loadavg()[0]!];
    const mine = await ours([ep, '--load=s', '--duration=20s', '--json']);
    load.push(os.loadavg()[0]!);
    const r = JSON.parse(mine.stdout) as CheckPerfResult;
    expect(mine.code, mine.stderr).to.equal(r.pass ? 0 : 1);
    expect(r).to.include({ load: 's', limit: 150, clients: 50, durationSeconds: 20, errors: 0 });
    expect(r.checks.map((c) => c.name)).to.deep.equal([
      'errors',
      'throughput',
      'slowest',
      'stddev',
      'cleanup',
    ]);
    expect(r.cleanup.deleted).to.equal(r.succeeded);
    expect(await keysUnder('/etcdctl-check-perf/')).to.equal(0);

    // etcdctl refuses a prefix with keys, so its run also proves ours left none.
    const theirs = await run(V35.etcdctl, [ep, 'check', 'perf', '--load=s']);
    load.push(os.loadavg()[0]!);
    const text = theirs.stdout;
    const verdict = text.trim().split('\n').at(-1);
    expect(theirs.code, text + theirs.stderr).to.equal(verdict === 'PASS' ? 0 : 1);
    const rate = Number(/Throughput (?:is|too low:) (\d+) writes\/s/.exec(text)?.[1]);
    const slowest = Number(/Slowest request took (?:too long: )?([\d.]+)s/.exec(text)?.[1]);
    const stddev = Number(/Stddev (?:is|too high:) ([\d.]+)s/.exec(text)?.[1]);
    expect(await keysUnder('/etcdctl-check-perf/')).to.equal(0);

    const shown = Math.trunc(r.writesPerSecond) + 1; // etcdctl prints int(rate)+1
    const busiest = Math.max(...load);
    process.stdout.write(
      `      ours (20 s): ${r.writesPerSecond.toFixed(2)} writes/s (shown ${shown}), slowest ${r.slowestSeconds}s, ` +
        `stddev ${r.stddevSeconds}s, ${r.pass ? 'PASS' : 'FAIL'} | etcdctl (60 s, ${(theirs.ms / 1000).toFixed(1)} s wall): ` +
        `${rate} writes/s, slowest ${slowest}s, stddev ${stddev}s, ${verdict} | load average <= ${busiest.toFixed(1)} on ${os.cpus().length} CPUs\n`,
    );
    // Throughput and errors: both PASS, at the same rate.
    expect(text).to.not.include('too many errors');
    expect(text).to.include('PASS: Throughput is');
    expect(r.checks.find((c) => c.name === 'throughput')!.pass).to.equal(true);
    for (const x of [shown, rate]) expect(x).to.be.within(140, 160);
    expect(Math.abs(shown - rate) / rate).to.be.at.most(0.1);
    // The latency-tail criteria (slowest <= 0.5 s, stddev <= 0.1 s) measure the machine as much as etcd: on a
    // machine with more runnable work than CPUs, a stalled process alone can fail them, for either tool.
    if (busiest <= os.cpus().length) {
      expect(r.pass, JSON.stringify(r.checks)).to.equal(true);
      expect(verdict, text).to.equal('PASS');
    } else if (!r.pass || verdict !== 'PASS') {
      process.stdout.write(`      (overloaded machine: latency criteria reported above, not asserted)\n`);
    }
  });

  it("text output has etcdctl's lines; --auto-compact and --auto-defrag run after the delete", async () => {
    const res = await ours([ep, '--duration=2s', '--prefix=/cp-text/', '--auto-compact', '--auto-defrag']);
    expect(res.code, res.stderr).to.equal(0);
    const lines = res.stdout.trim().split('\n');
    expect(lines[0]).to.match(/^PASS: Compacted with revision \d+$/);
    expect(lines.filter((l) => /^PASS: Defragmented "http:\/\/127\.0\.0\.1:\d+"$/.test(l))).to.have.length(3);
    expect(lines.slice(-4, -1).map((l) => l.replace(/[\d.]+/g, 'N'))).to.deep.equal([
      'PASS: Throughput is N writes/s',
      'PASS: Slowest request took Ns',
      'PASS: Stddev is Ns',
    ]);
    expect(lines.at(-1)).to.equal('PASS');
    expect(await keysUnder('/cp-text/')).to.equal(0);
  });

  it('a follower frozen for 1.5 s mid-run: FAIL, naming the slowest request; no key left', async () => {
    const leader = await cluster.leaderIndex();
    const frozen = (leader + 1) % 3;
    const res = await ours([ep, '--duration=8s', '--prefix=/cp-freeze/'], async () => {
      await runStarted('/cp-freeze/', leader); // the process started, connected and is issuing puts
      cluster.freeze(frozen);
      await sleep(1500);
      cluster.thaw(frozen);
    });
    await cluster.waitHealthy(30_000);
    expect(res.code, res.stdout + res.stderr).to.equal(1);
    expect(res.stdout).to.match(/^FAIL: Slowest request took too long: (0\.[5-9]|[1-9])[\d.]*s$/m);
    expect(res.stdout.trim().split('\n').at(-1)).to.equal('FAIL');
    expect(await keysUnder('/cp-freeze/')).to.equal(0);
  });

  it('a member frozen for the whole run (--timeout=500ms): FAIL on errors, in --json', async () => {
    const frozen = ((await cluster.leaderIndex()) + 2) % 3;
    const healthy = cluster.endpoints.filter((_, i) => i !== frozen);
    cluster.freeze(frozen);
    let res: Run | undefined;
    try {
      res = await ours([ep, '--duration=3s', '--timeout=500ms', '--prefix=/cp-errors/', '--json']);
      expect(await keysUnder('/cp-errors/', healthy)).to.equal(0);
    } finally {
      cluster.thaw(frozen);
    }
    if (!res) throw new Error('no run');
    await cluster.waitHealthy(30_000);
    expect(res.code, res.stderr).to.equal(1);
    const r = JSON.parse(res.stdout) as CheckPerfResult;
    expect(r.pass).to.equal(false);
    const failed = r.checks.filter((c) => !c.pass).map((c) => c.name);
    expect(failed).to.include('errors');
    expect(r.errors).to.be.greaterThan(0);
    expect(r.errorsByCode.DEADLINE_EXCEEDED, JSON.stringify(r.errorsByCode)).to.be.greaterThan(0);
    expect(r.checks.find((c) => c.name === 'errors')!.message).to.match(
      /FAIL: ERROR\(DEADLINE_EXCEEDED\) -> \d+/,
    );
    expect(r.cleanup.ok).to.equal(true);
    // A put the frozen member received but could not answer may still be applied after it thaws.
    await cluster.etcdctl(['del', '--prefix', '/cp-errors/']);
  });

  it('Ctrl-C: stops, deletes the keys and exits 130', async () => {
    const res = await ours([ep, '--duration=60s', '--prefix=/cp-int/'], async (pid) => {
      await runStarted('/cp-int/', 0);
      await sleep(1000);
      process.kill(pid, 'SIGINT');
    });
    expect(res.code, res.stderr).to.equal(130);
    expect(res.stderr).to.match(/interrupted; .*deleting \/cp-int\//);
    expect(res.ms).to.be.lessThan(20_000);
    expect(await keysUnder('/cp-int/')).to.equal(0);
  });

  it('refuses a prefix that already holds keys, and leaves them alone', async () => {
    await cluster.etcdctl(['put', '/cp-busy/mine', 'keep']);
    const res = await ours([ep, '--duration=2s', '--prefix=/cp-busy/']);
    expect(res.code).to.equal(1);
    expect(res.stderr).to.include(
      `prefix "/cp-busy/" has keys. Delete with 'etcdctl del --prefix /cp-busy/' first`,
    );
    expect(res.stdout).to.equal('');
    expect(await keysUnder('/cp-busy/')).to.equal(1);
    await cluster.etcdctl(['del', '--prefix', '/cp-busy/']);
  });

  it('usage: bad --load exits 2 with usage; --help exits 0; unknown check exits 2', async () => {
    const bad = await ours([ep, '--load=huge']);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.include('--load: expected one of s, m, l, xl');
    expect(bad.stderr).to.include('Usage: etcd-monitor check perf');
    // The rest in-process (main() with captured output): the same dispatch, without a process start each.
    const io = { out: [] as string[], err: [] as string[] };
    const call = (argv: string[]): Promise<number> =>
      main(argv, { out: (x) => io.out.push(x), err: (x) => io.err.push(x), env: {} });
    expect(await call(['check', 'perf', '--help'])).to.equal(0);
    expect(io.out.join('\n')).to.include('--auto-defrag');
    expect(await call(['check', 'datascale', ep])).to.equal(2);
    expect(io.err.join('\n')).to.include('unknown check "datascale"');
    expect(await call(['check'])).to.equal(2);
    expect(await call(['check', 'perf', ep, '--duration=0s'])).to.equal(2);
    expect(io.err.at(-1)).to.include('--duration');
    expect(await call(['--help'])).to.equal(0);
    expect(io.out.join('\n')).to.include('etcd-monitor check perf');
  });
});
