/**
 * A failed reconcile is retried with backoff: the operator runs as a ServiceAccount that may not write
 * etcdmonitors/status on a real kube-apiserver; once a Role allows it, the refused writes arrive with
 * nothing else happening (paused and invalid resources are not probed, and nothing is edited).
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { startOperator, type OperatorApp, type OperatorConfig } from '../../src/cli/operatorCommand.js';
import { createKubeClient, loadKubeConfig } from '../../src/controller/kube.js';
import type { EtcdMonitorStatus } from '../../src/crd/types.js';
import { silentLogger } from '../../src/log.js';
import { startControlPlane, type ControlPlane } from '../helpers/controlPlane.js';
import { waitFor } from '../helpers/procs.js';
import { installEtcdMonitorCrd, testOperatorConfig } from '../helpers/operator.js';

const NS = 'retry';
const SA = 'restricted-operator';

function rbac(): string {
  const role = (name: string, rules: unknown[]): unknown => ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name, namespace: NS },
    rules,
  });
  const binding = (name: string): unknown => ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name, namespace: NS },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
    subjects: [{ kind: 'ServiceAccount', name: SA, namespace: NS }],
  });
  // What the operator needs, except etcdmonitors/status.
  const base = [
    { apiGroups: ['etcdmonitor.dev'], resources: ['etcdmonitors'], verbs: ['get', 'list', 'watch'] },
    { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
    { apiGroups: [''], resources: ['secrets'], verbs: ['get'] },
  ];
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'List',
    items: [
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: SA, namespace: NS } },
      role('operator-base', base),
      binding('operator-base'),
    ],
  });
}

function statusRbac(): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'List',
    items: [
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: { name: 'operator-status', namespace: NS },
        rules: [
          {
            apiGroups: ['etcdmonitor.dev'],
            resources: ['etcdmonitors/status'],
            verbs: ['get', 'patch', 'update'],
          },
        ],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'operator-status', namespace: NS },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'operator-status' },
        subjects: [{ kind: 'ServiceAccount', name: SA, namespace: NS }],
      },
    ],
  });
}

function monitor(name: string, spec: Record<string, unknown>): string {
  return JSON.stringify({
    apiVersion: 'etcdmonitor.dev/v1alpha1',
    kind: 'EtcdMonitor',
    metadata: { name, namespace: NS },
    spec,
  });
}

describe('operator retries a failed reconcile on a real Kubernetes control plane', function () {
  this.timeout(180_000);
  let cp: ControlPlane;
  let app: OperatorApp | undefined;
  let restricted: string;

  const kubectl = async (args: string[], input?: string): Promise<string> => {
    const r = await cp.kubectl(args, input === undefined ? undefined : { input });
    expect(r.code, `kubectl ${args.join(' ')}: ${r.stderr}`).to.equal(0);
    return r.stdout;
  };
  const get = async (
    name: string,
  ): Promise<{
    metadata: { generation: number; resourceVersion: string };
    spec: unknown;
    status?: EtcdMonitorStatus;
  }> => JSON.parse(await kubectl(['get', 'etcdmonitor', name, '-n', NS, '-o', 'json']));

  before(async () => {
    cp = await startControlPlane();
    await installEtcdMonitorCrd(cp, cp.dir);
    await kubectl(['create', 'namespace', NS]);
    await kubectl(['apply', '-f', '-'], rbac());
    const token = (await kubectl(['create', 'token', SA, '-n', NS, '--duration=1h'])).trim();
    const ca = fs.readFileSync(path.join(cp.dir, 'ca.crt')).toString('base64');
    restricted = path.join(cp.dir, 'restricted.kubeconfig');
    fs.writeFileSync(
      restricted,
      `apiVersion: v1
kind: Config
clusters:
- name: test
  cluster: { server: "${cp.server}", certificate-authority-data: ${ca} }
users:
- name: ${SA}
  user: { token: "${token}" }
contexts:
- name: test
  context: { cluster: test, user: ${SA}, namespace: ${NS} }
current-context: test
`,
      { mode: 0o600 },
    );
  });

  after(async () => {
    await app?.stop().catch(() => undefined);
    await cp?.stop();
  });

  it('writes the refused status of a paused and an invalid EtcdMonitor once allowed, with no edit and no probe', async () => {
    await kubectl(['apply', '-f', '-'], monitor('held', { endpoints: ['127.0.0.1:1'], paused: true }));
    await kubectl(
      ['apply', '-f', '-'],
      monitor('broken', { endpoints: ['127.0.0.1:1'], tls: { secretName: 'missing-tls' } }),
    );
    const cfg: OperatorConfig = testOperatorConfig(restricted, {
      namespace: NS,
      leaseNamespace: NS,
      identity: 'retry-op',
      concurrency: 4,
      // Nothing but a retry may reconcile these keys again: no secret refresh, no watch restart.
      secretRefreshMs: 600_000,
      watchdogMs: 600_000,
    });
    app = await startOperator(cfg, createKubeClient(loadKubeConfig(restricted)), silentLogger());
    const metric = async (re: RegExp): Promise<number> =>
      Number(re.exec(await (await fetch(`${app!.url}/metrics`)).text())?.[1] ?? 0);
    const refused = (): Promise<number> =>
      metric(/^etcd_monitor_status_patches_total\{reason="first",result="error"\} (\d+)/m);

    // Refused, and retried (two keys, each at least twice) rather than waiting for an event.
    await waitFor('status writes refused and retried', async () => (await refused()) >= 4, 20_000, 100);
    expect(
      await metric(/^etcd_monitor_reconcile_duration_seconds_count\{result="error"\} (\d+)/m),
    ).to.be.at.least(4);
    const before = { held: await get('held'), broken: await get('broken') };
    expect(before.held.status?.phase).to.equal(undefined);
    expect(before.broken.status?.phase).to.equal(undefined);

    await kubectl(['apply', '-f', '-'], statusRbac());
    const t0 = Date.now();
    const held = await waitFor(
      'Paused written',
      async () => {
        const o = await get('held');
        return o.status?.phase === 'Paused' ? o : undefined;
      },
      30_000,
      100,
    );
    const broken = await waitFor(
      'ConfigValid=False written',
      async () => {
        const o = await get('broken');
        return o.status?.conditions.find((c) => c.type === 'ConfigValid' && c.status === 'False')
          ? o
          : undefined;
      },
      30_000,
      100,
    );
    const tookMs = Date.now() - t0;
    expect(broken.status!.conditions.find((c) => c.type === 'ConfigValid')!.message).to.match(
      /secret "missing-tls" not found/,
    );
    // Nothing else changed: same spec and generation, nothing probed; the retry alone wrote it.
    expect(held.metadata.generation).to.equal(before.held.metadata.generation);
    expect(held.spec).to.deep.equal(before.held.spec);
    expect(broken.metadata.generation).to.equal(before.broken.metadata.generation);
    expect(broken.spec).to.deep.equal(before.broken.spec);
    expect(app.registry.size).to.equal(0);
    expect(await metric(/^etcd_monitor_status_patches_total\{reason="first",result="ok"\} (\d+)/m)).to.equal(
      2,
    );
    expect(
      await metric(/^etcd_monitor_reconcile_duration_seconds_count\{result="ok"\} (\d+)/m),
    ).to.be.at.least(2);
    // Succeeded: forgotten, so no more retries (and no more writes) follow.
    const errors = await refused();
    await new Promise((r) => setTimeout(r, 1500));
    expect(await refused()).to.equal(errors);
    expect((await get('held')).metadata.resourceVersion).to.equal(held.metadata.resourceVersion);
    expect((await get('broken')).metadata.resourceVersion).to.equal(broken.metadata.resourceVersion);
    expect(tookMs).to.be.below(30_000);
  });
});
