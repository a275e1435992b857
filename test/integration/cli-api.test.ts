/** The built binary and the HTTP API contract, against a real 3-member etcd. */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { StandaloneApp } from '../../src/cli/monitorCommand.js';
import { EtcdCluster } from '../helpers/etcdCluster.js';
import { getJson, startTestMonitor } from '../helpers/monitor.js';
import { freePort } from '../helpers/ports.js';
import { startProcess, stopProcess, waitFor } from '../helpers/procs.js';

const execFileP = promisify(execFile);
const BIN = path.resolve('dist/cli/main.js');

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileP(process.execPath, [BIN, ...args], { timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

describe('etcd-monitor command line and HTTP API', function () {
  this.timeout(120_000);
  let cluster: EtcdCluster;

  before(async () => {
    cluster = await EtcdCluster.start({ size: 3 });
  });
  after(async () => {
    await cluster?.stop();
  });

  describe('status command', () => {
    it('prints a member table and exits 0 on a healthy cluster', async () => {
      const r = await run(['status', `--endpoints=${cluster.endpoints.join(',')}`]);
      expect(r.code, r.stderr).to.equal(0);
      for (const m of cluster.members) expect(r.stdout).to.include(m.clientUrl);
      expect(r.stdout).to.match(/IS LEADER/);
      expect(r.stdout).to.match(/Healthy\s+healthy=true/);
      const json = await run(['status', `--endpoints=${cluster.endpoints.join(',')}`, '-w', 'json']);
      expect(JSON.parse(json.stdout).members).to.have.length(3);
    });

    it('exits 1 when the cluster is unreachable', async () => {
      const port = await freePort();
      const r = await run(['status', `--endpoints=127.0.0.1:${port}`, '--timeout=300ms']);
      expect(r.code).to.equal(1);
      expect(r.stdout).to.match(/Unreachable/);
    });

    it('exits 2 with usage on a bad flag', async () => {
      const r = await run(['status', '--endpoints=a:1', '--bogus']);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.match(/Unknown option '--bogus'/);
      expect(r.stderr).to.match(/Usage: etcd-monitor status/);
      const bad = await run(['status', '--endpoints=ftp://x:1']);
      expect(bad.code).to.equal(2);
      expect(bad.stderr).to.match(/unsupported scheme/);
    });
  });

  describe('monitor command', () => {
    it('prints help and exits 0; exits 2 on bad flags and timeout >= interval', async () => {
      const h = await run(['monitor', '--help']);
      expect(h.code).to.equal(0);
      expect(h.stdout).to.match(/--health-check-interval/);
      expect((await run(['--endpoints=a:1', '--api-port=x'])).code).to.equal(2);
      const t = await run(['monitor', '--endpoints=a:1', '--interval=1s', '--timeout=2s']);
      expect(t.code).to.equal(2);
      expect(t.stderr).to.match(/must be shorter than --interval/);
      expect((await run(['frobnicate'])).code).to.equal(2);
    });

    it('runs standalone with the guide flags (no subcommand), serves the API, and stops on SIGTERM', async () => {
      const port = await freePort();
      const p = startProcess(process.execPath, [
        BIN,
        `--endpoints=${cluster.endpoints.join(',')}`,
        `--api-port=${port}`,
        '--api-host=127.0.0.1',
        '--health-check-interval=1',
        '--timeout=500ms',
        '--log-format=json',
      ]);
      let logs = '';
      p.stderr?.on('data', (d: Buffer) => (logs += d.toString()));
      try {
        const ready = await waitFor(
          'ready',
          async () => (await getJson(`http://127.0.0.1:${port}/ready`)).status === 200,
          15_000,
        );
        expect(ready).to.equal(true);
        const st = await getJson(`http://127.0.0.1:${port}/api/v1/cluster/status`);
        expect((st.body as { phase: string }).phase).to.equal('Healthy');
        expect((st.body as { cluster: string }).cluster).to.equal('default');
        const line = logs.split('\n').find((l) => l.includes('etcd-monitor started'));
        expect(JSON.parse(line!)).to.include({ level: 'info', cluster: 'default' });
      } finally {
        await stopProcess(p);
      }
      expect(p.exitCode).to.equal(0);
    });
  });

  describe('HTTP API', () => {
    let app: StandaloneApp;
    before(async () => {
      app = await startTestMonitor(cluster.endpoints, { token: 's3cret-token' });
      await app.monitor.runOnce();
    });
    after(async () => app?.stop());

    it('keeps /health, /ready and /metrics open but guards /api with the bearer token', async () => {
      expect((await getJson(`${app.url}/health`)).body).to.deep.equal({ status: 'ok' });
      expect((await getJson(`${app.url}/ready`)).status).to.equal(200);
      expect((await fetch(`${app.url}/metrics`)).status).to.equal(200);
      const denied = await getJson(`${app.url}/api/v1/cluster/status`);
      expect(denied.status).to.equal(401);
      expect(denied.body).to.have.nested.property('error.code', 'Unauthorized');
      expect(
        (await getJson(`${app.url}/api/v1/cluster/status`, { authorization: 'Bearer wrong' })).status,
      ).to.equal(401);
      const ok = await getJson(`${app.url}/api/v1/cluster/status`, { authorization: 'Bearer s3cret-token' });
      expect(ok.status).to.equal(200);
    });

    it('answers unknown routes, bad parameters and wrong methods with JSON 4xx', async () => {
      const auth = { authorization: 'Bearer s3cret-token' };
      const cases: Array<[string, string, number, string]> = [
        ['GET', '/nope', 404, 'NotFound'],
        ['GET', '/api/v1/cluster/status?cluster=ns/missing', 404, 'ClusterNotFound'],
        ['GET', '/api/v1/cluster/status?cluster=', 400, 'BadQueryParameter'],
        ['GET', '/api/v1/cluster/status?foo=1', 400, 'BadQueryParameter'],
        ['GET', '/api/v1/cluster/status?cluster=test&cluster=test', 400, 'BadQueryParameter'],
        ['GET', '/api/v1/clusters/unknown', 404, 'ClusterNotFound'],
        ['POST', '/api/v1/cluster/status', 405, 'MethodNotAllowed'],
        ['DELETE', '/metrics', 405, 'MethodNotAllowed'],
      ];
      for (const [method, p, status, code] of cases) {
        const res = await fetch(`${app.url}${p}`, { method, headers: auth });
        expect(res.status, `${method} ${p}`).to.equal(status);
        expect(res.headers.get('content-type')).to.match(/application\/json/);
        expect(((await res.json()) as { error: { code: string } }).error.code, `${method} ${p}`).to.equal(
          code,
        );
      }
      const list = await getJson(`${app.url}/api/v1/clusters`, auth);
      expect(
        (list.body as { clusters: Array<{ name: string; phase: string }> }).clusters,
      ).to.deep.include.members([
        {
          ...(list.body as { clusters: Array<Record<string, unknown>> }).clusters[0],
          name: 'test',
          phase: 'Healthy',
        },
      ]);
      const one = await getJson(`${app.url}/api/v1/clusters/test`, auth);
      expect(one.status).to.equal(200);
    });
  });
});
