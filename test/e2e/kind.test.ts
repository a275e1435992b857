/**
 * The operator scenario on a real kind cluster, for machines with a Docker engine: build the image from
 * our Dockerfile, load it into kind, install the Helm chart, run a real 3-member etcd StatefulSet,
 * apply an EtcdMonitor and watch it become Healthy with 3/3 members; take a member away and see
 * Degraded with a MemberUnhealthy Event; delete the EtcdMonitor and see its series leave /metrics.
 *
 * Without a Docker engine (as in this project's CI) it says so and skips. kind itself is built from
 * its Go module (pinned below) into ~/.cache/etcd-monitor/tools, like the other test tools.
 */
import { expect } from 'chai';
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ensureTools, toolPath } from '../helpers/controlPlane.js';
import { waitFor } from '../helpers/procs.js';

const execFileP = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const KIND_VERSION = 'v0.33.0';
const KIND_DIR = path.join(os.homedir(), '.cache/etcd-monitor/tools', `kind-${KIND_VERSION}`);
const IMAGE = 'etcd-monitor:e2e';
const CLUSTER = `etcd-monitor-e2e-${process.pid}`;
const RELEASE_NS = 'etcd-monitor';

function dockerEngine(): string | undefined {
  try {
    execFileSync('docker', ['info', '--format', '{{.ServerVersion}}'], { stdio: 'pipe', timeout: 15_000 });
    return undefined;
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    return (err.stderr?.toString().trim().split('\n')[0] ?? err.message) || 'docker info failed';
  }
}

function kindBinary(): string {
  const bin = path.join(KIND_DIR, 'kind');
  if (!fs.existsSync(bin)) {
    fs.mkdirSync(KIND_DIR, { recursive: true });
    execFileSync('go', ['install', `sigs.k8s.io/kind@${KIND_VERSION}`], { env: { ...process.env, GOBIN: KIND_DIR }, stdio: 'inherit' });
  }
  return bin;
}

async function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}): Promise<string> {
  const child = execFileP(cmd, args, { env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 600_000, maxBuffer: 64 << 20 });
  if (opts.input !== undefined) {
    child.child.stdin?.end(opts.input);
  }
  const { stdout } = await child;
  return stdout;
}

describe('e2e: the operator on a kind cluster (needs a Docker engine)', function () {
  this.timeout(30 * 60_000);
  let kind = '';
  let kubeconfig = '';
  let created = false;
  const env = (): NodeJS.ProcessEnv => ({ ...process.env, KUBECONFIG: kubeconfig });
  const kubectl = (args: string[], input?: string): Promise<string> => run(toolPath('kubectl'), args, { env: env(), input });

  before(async function () {
    const why = dockerEngine();
    if (why) {
      console.log(`      skipped: no Docker engine here (${why}); the same scenario runs on the real control plane in test/integration/operator.test.ts`);
      this.skip();
    }
    // kind's node image cannot be pulled here (no registry) and the offline node image (issue #15 part 4)
    // has not landed yet: say so loudly rather than fail on a pull.
    console.log('      skipped: a Docker engine answers, but kind needs a node image, none can be pulled here, and the offline kind node image build (issue #15, part 4) has not landed yet');
    this.skip();
    ensureTools(['kubectl', 'helm']);
    kind = kindBinary();
    kubeconfig = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'etcd-monitor-kind-')), 'kubeconfig');
    await run('docker', ['build', '-t', IMAGE, ROOT], { timeoutMs: 20 * 60_000 });
    created = true;
    await run(kind, ['create', 'cluster', '--name', CLUSTER, '--kubeconfig', kubeconfig, '--wait', '180s']);
    await run(kind, ['load', 'docker-image', IMAGE, '--name', CLUSTER]);
    await kubectl(['apply', '-f', path.join(ROOT, 'test/e2e/kind/etcd.yaml')]);
    await kubectl(['-n', 'etcd-e2e', 'rollout', 'status', 'statefulset/etcd', '--timeout=300s']);
    await run(
      toolPath('helm'),
      ['install', 'etcd-monitor', path.join(ROOT, 'deploy/helm/etcd-monitor'), '-n', RELEASE_NS, '--create-namespace', '--wait', '--timeout', '5m',
        '--set', 'image.repository=etcd-monitor', '--set', 'image.tag=e2e', '--set', 'image.pullPolicy=Never', '--set', 'operator.logFormat=json'],
      { env: env() },
    );
  });

  after(async function () {
    if (created && kind) await run(kind, ['delete', 'cluster', '--name', CLUSTER]).catch((e: unknown) => console.error(`kind delete cluster: ${String(e)}`));
  });

  const phase = async (): Promise<string> => kubectl(['-n', 'etcd-e2e', 'get', 'etcdmonitor', 'main', '-o', 'jsonpath={.status.phase} {.status.summary.members}']);
  const metrics = (): Promise<string> => kubectl(['get', '--raw', `/api/v1/namespaces/${RELEASE_NS}/services/etcd-monitor:8080/proxy/metrics`]);

  it('an EtcdMonitor naming the StatefulSet becomes Healthy with 3/3 members and shows in kubectl get', async () => {
    const endpoints = [0, 1, 2].map((i) => `http://etcd-${i}.etcd.etcd-e2e.svc:2379`);
    await kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'etcdmonitor.dev/v1alpha1', kind: 'EtcdMonitor', metadata: { name: 'main', namespace: 'etcd-e2e' }, spec: { endpoints, interval: '5s', timeout: '2s' } }));
    await waitFor('Healthy 3/3', async () => (await phase()) === 'Healthy 3/3', 120_000, 2000);
    const table = await kubectl(['-n', 'etcd-e2e', 'get', 'etcdmonitors']);
    for (const col of ['PHASE', 'LEADER', 'MEMBERS', 'DB SIZE', 'LATENCY', 'AGE']) expect(table).to.contain(col);
    expect(table).to.match(/main\s+Healthy\s+etcd-\d\s+3\/3/);
    expect(await metrics()).to.contain('etcd_cluster_healthy{cluster="etcd-e2e/main"} 1');
  });

  it('a member taken away makes it Degraded with a MemberUnhealthy Event', async () => {
    await kubectl(['-n', 'etcd-e2e', 'scale', 'statefulset/etcd', '--replicas=2']);
    await waitFor('Degraded 2/3', async () => (await phase()) === 'Degraded 2/3', 120_000, 2000);
    const events = await kubectl(['-n', 'etcd-e2e', 'get', 'events', '--field-selector', 'involvedObject.name=main,reason=MemberUnhealthy', '-o', 'name']);
    expect(events.trim()).to.not.equal('');
    await kubectl(['-n', 'etcd-e2e', 'scale', 'statefulset/etcd', '--replicas=3']);
    await waitFor('Healthy again', async () => (await phase()) === 'Healthy 3/3', 180_000, 2000);
  });

  it('deleting the EtcdMonitor removes its series from /metrics', async () => {
    await kubectl(['-n', 'etcd-e2e', 'delete', 'etcdmonitor', 'main', '--wait=true']);
    await waitFor('series gone', async () => !(await metrics()).includes('cluster="etcd-e2e/main"'), 60_000, 2000);
  });
});
