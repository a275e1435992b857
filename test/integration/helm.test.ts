/** The Helm chart: lint, render, install into a real control plane, and what its RBAC allows. */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import YAML from 'yaml';
import { ensureTools, startControlPlane, toolPath, type ControlPlane } from '../helpers/controlPlane.js';
import { waitFor } from '../helpers/procs.js';

const execFileP = promisify(execFile);
const CHART = 'deploy/helm/etcd-monitor';
const EVERYTHING = [
  '--set',
  'serviceMonitor.enabled=true',
  '--set',
  'serviceMonitor.additionalLabels.release=kube-prometheus-stack',
  '--set',
  'prometheusRule.enabled=true',
  '--set',
  'prometheusRule.additionalLabels.release=kube-prometheus-stack',
  '--set',
  'prometheusRule.rules.EtcdFrequentLeaderChanges.severity=critical',
  '--set',
  'prometheusRule.rules.EtcdMemberDown.enabled=false',
  '--set',
  'grafanaDashboards.enabled=true',
  '--set',
  'replicaCount=2',
  '--set',
  'secretAccess.namespaces={etcd-a}',
  '--set',
  'monitors[0].name=main',
  '--set',
  'monitors[0].spec.endpoints={https://etcd-0.etcd:2379}',
  '--set',
  'backup.persistence.enabled=true',
  '--set',
  'backup.persistence.accessModes={ReadWriteMany}',
];

async function helm(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileP(toolPath('helm'), args, {
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, HELM_CACHE_HOME: path.join(os.tmpdir(), 'helm-cache') },
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

function docs(text: string): Array<{
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [k: string]: unknown;
}> {
  return YAML.parseAllDocuments(text)
    .map((d) => d.toJSON())
    .filter(Boolean);
}

describe('Helm chart', function () {
  this.timeout(300_000);
  before(() => ensureTools(['helm', 'kubectl', 'kube-apiserver', 'etcd-3.5', 'prometheus-operator-crds']));

  it('passes helm lint with defaults and with everything on', async () => {
    const a = await helm(['lint', '--strict', CHART]);
    expect(a.code, a.stdout + a.stderr).to.equal(0);
    const b = await helm(['lint', '--strict', CHART, ...EVERYTHING]);
    expect(b.code, b.stdout + b.stderr).to.equal(0);
  });

  it('rejects unknown values keys through values.schema.json', async () => {
    const r = await helm(['template', 'x', CHART, '--set', 'serviceMonitr.enabled=true']);
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.match(/additional properties 'serviceMonitr' not allowed|serviceMonitr/);
  });

  it('renders the defaults with the conventions users expect', async () => {
    const r = await helm(['template', 'em', CHART, '--namespace', 'monitoring']);
    expect(r.code, r.stderr).to.equal(0);
    const all = docs(r.stdout);
    const kinds = all.map((d) => d.kind).sort();
    expect(kinds).to.include.members([
      'Deployment',
      'Service',
      'ServiceAccount',
      'ClusterRole',
      'ClusterRoleBinding',
      'Role',
      'RoleBinding',
    ]);
    expect(kinds).to.not.include.members(['ServiceMonitor', 'PrometheusRule', 'ConfigMap']);
    for (const d of all)
      expect(d.metadata.labels?.['app.kubernetes.io/name'], d.kind).to.equal('etcd-monitor');
    const dep = all.find((d) => d.kind === 'Deployment') as unknown as {
      spec: {
        template: {
          spec: { securityContext: Record<string, unknown>; containers: Array<Record<string, unknown>> };
        };
      };
    };
    const pod = dep.spec.template.spec;
    expect(pod.securityContext).to.deep.include({
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    const c = pod.containers[0] as {
      securityContext: Record<string, unknown>;
      livenessProbe: { httpGet: { path: string } };
      readinessProbe: { httpGet: { path: string } };
      resources: unknown;
      args: string[];
    };
    expect(c.securityContext).to.deep.include({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    expect(c.livenessProbe.httpGet.path).to.equal('/health');
    expect(c.readinessProbe.httpGet.path).to.equal('/ready');
    expect(c.resources).to.not.equal(undefined);
    expect(c.args).to.not.include('--leader-elect');
    // The V8 heap is capped below the memory limit (values operator.maxHeapMiB).
    expect((c as unknown as { env: Array<{ name: string; value?: string }> }).env).to.deep.include({
      name: 'NODE_OPTIONS',
      value: '--max-old-space-size=512',
    });
    // No Secret access unless configured.
    expect(JSON.stringify(all.filter((d) => d.kind.endsWith('Role')))).to.not.include('secrets');
  });

  it('sharding.enabled: one StatefulSet of totalShards × replicasPerShard Pods, shard from the ordinal', async () => {
    const r = await helm([
      'template',
      'em',
      CHART,
      '--set',
      'sharding.enabled=true',
      '--set',
      'sharding.totalShards=3',
      '--set',
      'sharding.replicasPerShard=2',
    ]);
    expect(r.code, r.stderr).to.equal(0);
    const all = docs(r.stdout);
    expect(all.filter((d) => d.kind === 'Deployment')).to.have.length(0);
    const sts = all.find((d) => d.kind === 'StatefulSet') as unknown as {
      spec: {
        replicas: number;
        podManagementPolicy: string;
        serviceName: string;
        template: { spec: { containers: Array<{ args: string[]; env: Array<{ name: string }> }> } };
      };
    };
    expect(sts.spec.replicas).to.equal(6);
    expect(sts.spec.podManagementPolicy).to.equal('Parallel');
    expect(sts.spec.serviceName).to.equal('em-etcd-monitor');
    const c = sts.spec.template.spec.containers[0]!;
    expect(c.args).to.include.members(['--total-shards=3', '--shard-from-pod-name', '--leader-elect']);
    expect(c.env.map((e) => e.name)).to.include('POD_NAME');
    // One replica per shard: no standby, no leader election.
    const single = await helm([
      'template',
      'em',
      CHART,
      '--set',
      'sharding.enabled=true',
      '--set',
      'sharding.replicasPerShard=1',
    ]);
    expect(single.code, single.stderr).to.equal(0);
    expect(single.stdout).to.include('--total-shards=2');
    expect(single.stdout).to.not.include('--leader-elect');
    const bad = await helm(['template', 'em', CHART, '--set', 'sharding.totalShards=0']);
    expect(bad.code).to.not.equal(0);
    expect(bad.stderr).to.match(/totalShards/);
  });

  it('leaves the V8 heap to Node when operator.maxHeapMiB=0', async () => {
    const r = await helm(['template', 'em', CHART, '--set', 'operator.maxHeapMiB=0']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.not.include('NODE_OPTIONS');
  });

  it('renders everything-on values: ServiceMonitor, PrometheusRule with overrides, dashboards, leader election', async () => {
    const r = await helm(['template', 'em', CHART, '--namespace', 'monitoring', ...EVERYTHING]);
    expect(r.code, r.stderr).to.equal(0);
    const all = docs(r.stdout);
    const sm = all.find((d) => d.kind === 'ServiceMonitor')!;
    expect(sm.metadata.labels?.release).to.equal('kube-prometheus-stack');
    const rule = all.find((d) => d.kind === 'PrometheusRule') as unknown as {
      metadata: { labels: Record<string, string> };
      spec: { groups: Array<{ rules: Array<{ alert?: string; labels?: Record<string, string> }> }> };
    };
    expect(rule.metadata.labels.release).to.equal('kube-prometheus-stack');
    const rules = rule.spec.groups.flatMap((g) => g.rules);
    expect(rules.find((x) => x.alert === 'EtcdFrequentLeaderChanges')!.labels!.severity).to.equal('critical');
    expect(rules.find((x) => x.alert === 'EtcdMemberDown')).to.equal(undefined);
    const source = YAML.parse(fs.readFileSync('prometheus/rules/etcd-monitor-alerts.yml', 'utf8')) as {
      groups: Array<{ rules: Array<{ alert?: string }> }>;
    };
    expect(rules.length).to.equal(source.groups.flatMap((g) => g.rules).length - 1);
    const cm = all.filter((d) => d.kind === 'ConfigMap');
    expect(cm.length).to.be.greaterThan(0);
    for (const c of cm) {
      expect(c.metadata.labels?.grafana_dashboard).to.equal('1');
      expect(c.metadata.annotations?.grafana_folder).to.equal('etcd');
    }
    const dash = (cm[0] as unknown as { data: Record<string, string> }).data['etcd-dash.json']!;
    expect(JSON.parse(dash)).to.deep.equal(
      JSON.parse(fs.readFileSync('grafana/dashboards/etcd-dash.json', 'utf8')),
    );
    const dep = all.find((d) => d.kind === 'Deployment') as unknown as {
      spec: { template: { spec: { containers: Array<{ args: string[] }> } } };
    };
    expect(dep.spec.template.spec.containers[0]!.args).to.include('--leader-elect');
    expect(all.find((d) => d.kind === 'EtcdMonitor')!.metadata.name).to.equal('main');
  });

  it('backup.persistence: a PVC mounted writable at /backups for UID 65532, Recreate for a ReadWriteOnce volume, or an existing claim', async () => {
    type Pod = {
      securityContext: { fsGroup?: number; runAsUser?: number };
      volumes: Array<{ name: string; persistentVolumeClaim?: { claimName: string } }>;
      containers: Array<{
        volumeMounts: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
        securityContext: { readOnlyRootFilesystem?: boolean };
      }>;
    };
    type Dep = { spec: { strategy?: { type: string }; template: { spec: Pod } } };
    const render = async (...set: string[]): Promise<ReturnType<typeof docs>> => {
      const r = await helm([
        'template',
        'em',
        CHART,
        '--namespace',
        'monitoring',
        ...set.flatMap((x) => ['--set', x]),
      ]);
      expect(r.code, r.stderr).to.equal(0);
      return docs(r.stdout);
    };
    // Off by default: no claim, no volume, the default rolling update.
    const off = await render();
    expect(off.map((d) => d.kind)).to.not.include('PersistentVolumeClaim');
    const offDep = off.find((d) => d.kind === 'Deployment') as unknown as Dep;
    expect(offDep.spec.strategy).to.equal(undefined);
    expect(offDep.spec.template.spec.volumes.map((v) => v.name)).to.deep.equal(['tmp']);

    const on = await render(
      'backup.persistence.enabled=true',
      'backup.persistence.size=20Gi',
      'backup.persistence.storageClass=fast',
      'backup.persistence.annotations.helm\\.sh/resource-policy=keep',
    );
    const pvc = on.find((d) => d.kind === 'PersistentVolumeClaim') as unknown as {
      metadata: {
        name: string;
        namespace: string;
        labels: Record<string, string>;
        annotations: Record<string, string>;
      };
      spec: Record<string, unknown>;
    };
    expect(pvc.metadata).to.deep.include({ name: 'em-etcd-monitor-backups', namespace: 'monitoring' });
    expect(pvc.metadata.labels['app.kubernetes.io/name']).to.equal('etcd-monitor');
    expect(pvc.metadata.annotations).to.deep.equal({ 'helm.sh/resource-policy': 'keep' });
    expect(pvc.spec).to.deep.equal({
      accessModes: ['ReadWriteOnce'],
      storageClassName: 'fast',
      resources: { requests: { storage: '20Gi' } },
    });
    const dep = on.find((d) => d.kind === 'Deployment') as unknown as Dep;
    const pod = dep.spec.template.spec;
    expect(pod.volumes).to.deep.include({
      name: 'backups',
      persistentVolumeClaim: { claimName: 'em-etcd-monitor-backups' },
    });
    expect(pod.containers[0]!.volumeMounts).to.deep.include({ name: 'backups', mountPath: '/backups' });
    // The root filesystem stays read-only; the volume is group-owned by fsGroup 65532, the operator's UID and GID.
    expect(pod.containers[0]!.securityContext.readOnlyRootFilesystem).to.equal(true);
    expect(pod.securityContext).to.deep.include({ runAsUser: 65532, fsGroup: 65532 });
    // A ReadWriteOnce volume cannot be attached to a second node while the old pod holds it.
    expect(dep.spec.strategy).to.deep.equal({ type: 'Recreate' });

    const none = await render('backup.persistence.enabled=true', 'backup.persistence.storageClass=-');
    expect(
      (none.find((d) => d.kind === 'PersistentVolumeClaim') as unknown as { spec: Record<string, unknown> })
        .spec.storageClassName,
    ).to.equal('');
    const dflt = await render('backup.persistence.enabled=true');
    expect(
      (dflt.find((d) => d.kind === 'PersistentVolumeClaim') as unknown as { spec: Record<string, unknown> })
        .spec,
    ).to.not.have.property('storageClassName');

    const existing = await render(
      'backup.persistence.enabled=true',
      'backup.persistence.existingClaim=etcd-snapshots',
      'backup.persistence.accessModes={ReadWriteMany}',
      'backup.persistence.mountPath=/var/backups',
    );
    expect(existing.map((d) => d.kind)).to.not.include('PersistentVolumeClaim');
    const eDep = existing.find((d) => d.kind === 'Deployment') as unknown as Dep;
    expect(eDep.spec.template.spec.volumes).to.deep.include({
      name: 'backups',
      persistentVolumeClaim: { claimName: 'etcd-snapshots' },
    });
    expect(eDep.spec.template.spec.containers[0]!.volumeMounts).to.deep.include({
      name: 'backups',
      mountPath: '/var/backups',
    });
    expect(eDep.spec.strategy).to.equal(undefined);

    const bad = await helm(['template', 'em', CHART, '--set', 'backup.persistence.mountPath=backups']);
    expect(bad.code).to.not.equal(0);
    expect(bad.stderr).to.match(/mountPath/);
  });

  it('deploy/manifests/etcd-monitor.yaml is the chart rendered with defaults (npm run generate)', async () => {
    const { renderManifests } = await import('../../scripts/render-manifests.js');
    expect(
      fs.readFileSync('deploy/manifests/etcd-monitor.yaml', 'utf8') === (await renderManifests()),
      'stale: run npm run generate',
    ).to.equal(true);
  });

  describe('installed into a real control plane', () => {
    let cp: ControlPlane;
    before(async () => {
      cp = await startControlPlane();
      const crds = fs
        .readdirSync('.cache/crds/prometheus-operator')
        .filter((f) => /servicemonitors|prometheusrules/.test(f));
      for (const f of crds) {
        const r = await cp.kubectl([
          'apply',
          '--server-side',
          '-f',
          path.join('.cache/crds/prometheus-operator', f),
        ]);
        expect(r.code, r.stderr).to.equal(0);
      }
      for (const ns of ['monitoring', 'etcd-a', 'etcd-b']) await cp.kubectl(['create', 'namespace', ns]);
      await waitFor(
        'monitoring CRDs',
        async () => (await cp.kubectl(['get', 'servicemonitors', '-A'])).code === 0,
        30_000,
        500,
      );
    });
    after(async () => cp?.stop());

    it('installs with everything on', async () => {
      const r = await cp.helm([
        'install',
        'em',
        CHART,
        '--namespace',
        'monitoring',
        '--wait=false',
        ...EVERYTHING,
      ]);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.match(/kubectl get etcdmonitors/);
      expect((await cp.kubectl(['get', 'crd', 'etcdmonitors.etcdmonitor.dev'])).code).to.equal(0);
      expect(
        (
          await cp.kubectl([
            'get',
            'servicemonitor,prometheusrule,configmap',
            '-n',
            'monitoring',
            '-l',
            'app.kubernetes.io/instance=em',
            '-o',
            'name',
          ])
        ).stdout,
      ).to.match(/servicemonitor.*\n.*prometheusrule|prometheusrule/s);
      expect((await cp.kubectl(['get', 'etcdmonitor', 'main', '-n', 'monitoring'])).code).to.equal(0);
    });

    it('grants the operator what it needs and no Secret beyond the configured namespaces', async () => {
      const as = ['--as=system:serviceaccount:monitoring:em-etcd-monitor'];
      const can = async (args: string[]): Promise<string> =>
        (await cp.kubectl(['auth', 'can-i', ...args, ...as])).stdout.trim();
      expect(await can(['list', 'etcdmonitors.etcdmonitor.dev', '--all-namespaces'])).to.equal('yes');
      expect(await can(['watch', 'etcdmonitors.etcdmonitor.dev', '--all-namespaces'])).to.equal('yes');
      expect(
        await can(['patch', 'etcdmonitors.etcdmonitor.dev', '--subresource=status', '-n', 'etcd-b']),
      ).to.equal('yes');
      expect(await can(['create', 'events', '-n', 'etcd-b'])).to.equal('yes');
      expect(await can(['update', 'leases.coordination.k8s.io', '-n', 'monitoring'])).to.equal('yes');
      expect(await can(['get', 'secrets', '-n', 'etcd-a'])).to.equal('yes');
      expect(await can(['get', 'secrets', '-n', 'etcd-b'])).to.equal('no');
      expect(await can(['list', 'secrets', '-n', 'etcd-a'])).to.equal('no');
      expect(await can(['get', 'secrets', '--all-namespaces'])).to.equal('no');
      expect(await can(['delete', 'etcdmonitors.etcdmonitor.dev', '-n', 'etcd-b'])).to.equal('no');
      expect(await can(['update', 'etcdmonitors.etcdmonitor.dev', '-n', 'etcd-b'])).to.equal('no');
    });
  });
});
