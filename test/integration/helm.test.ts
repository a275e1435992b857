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
  '--set', 'serviceMonitor.enabled=true', '--set', 'serviceMonitor.additionalLabels.release=kube-prometheus-stack',
  '--set', 'prometheusRule.enabled=true', '--set', 'prometheusRule.additionalLabels.release=kube-prometheus-stack',
  '--set', 'prometheusRule.rules.EtcdFrequentLeaderChanges.severity=critical', '--set', 'prometheusRule.rules.EtcdMemberDown.enabled=false',
  '--set', 'grafanaDashboards.enabled=true', '--set', 'replicaCount=2', '--set', 'secretAccess.namespaces={etcd-a}',
  '--set', 'monitors[0].name=main', '--set', 'monitors[0].spec.endpoints={https://etcd-0.etcd:2379}',
];

async function helm(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileP(toolPath('helm'), args, { maxBuffer: 64 * 1024 * 1024, env: { ...process.env, HELM_CACHE_HOME: path.join(os.tmpdir(), 'helm-cache') } });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

function docs(text: string): Array<{ kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> }; [k: string]: unknown }> {
  return YAML.parseAllDocuments(text).map((d) => d.toJSON()).filter(Boolean);
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
    expect(kinds).to.include.members(['Deployment', 'Service', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);
    expect(kinds).to.not.include.members(['ServiceMonitor', 'PrometheusRule', 'ConfigMap']);
    for (const d of all) expect(d.metadata.labels?.['app.kubernetes.io/name'], d.kind).to.equal('etcd-monitor');
    const dep = all.find((d) => d.kind === 'Deployment') as unknown as { spec: { template: { spec: { securityContext: Record<string, unknown>; containers: Array<Record<string, unknown>> } } } };
    const pod = dep.spec.template.spec;
    expect(pod.securityContext).to.deep.include({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    const c = pod.containers[0] as { securityContext: Record<string, unknown>; livenessProbe: { httpGet: { path: string } }; readinessProbe: { httpGet: { path: string } }; resources: unknown; args: string[] };
    expect(c.securityContext).to.deep.include({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(c.livenessProbe.httpGet.path).to.equal('/health');
    expect(c.readinessProbe.httpGet.path).to.equal('/ready');
    expect(c.resources).to.not.equal(undefined);
    expect(c.args).to.not.include('--leader-elect');
    // The V8 heap is capped below the memory limit (values operator.maxHeapMiB).
    expect((c as unknown as { env: Array<{ name: string; value?: string }> }).env).to.deep.include({ name: 'NODE_OPTIONS', value: '--max-old-space-size=224' });
    // No Secret access unless configured.
    expect(JSON.stringify(all.filter((d) => d.kind.endsWith('Role')))).to.not.include('secrets');
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
    const rule = all.find((d) => d.kind === 'PrometheusRule') as unknown as { metadata: { labels: Record<string, string> }; spec: { groups: Array<{ rules: Array<{ alert?: string; labels?: Record<string, string> }> }> } };
    expect(rule.metadata.labels.release).to.equal('kube-prometheus-stack');
    const rules = rule.spec.groups.flatMap((g) => g.rules);
    expect(rules.find((x) => x.alert === 'EtcdFrequentLeaderChanges')!.labels!.severity).to.equal('critical');
    expect(rules.find((x) => x.alert === 'EtcdMemberDown')).to.equal(undefined);
    const source = YAML.parse(fs.readFileSync('prometheus/rules/etcd-monitor-alerts.yml', 'utf8')) as { groups: Array<{ rules: Array<{ alert?: string }> }> };
    expect(rules.length).to.equal(source.groups.flatMap((g) => g.rules).length - 1);
    const cm = all.filter((d) => d.kind === 'ConfigMap');
    expect(cm.length).to.be.greaterThan(0);
    for (const c of cm) {
      expect(c.metadata.labels?.grafana_dashboard).to.equal('1');
      expect(c.metadata.annotations?.grafana_folder).to.equal('etcd');
    }
    const dash = (cm[0] as unknown as { data: Record<string, string> }).data['etcd-dash.json']!;
    expect(JSON.parse(dash)).to.deep.equal(JSON.parse(fs.readFileSync('grafana/dashboards/etcd-dash.json', 'utf8')));
    const dep = all.find((d) => d.kind === 'Deployment') as unknown as { spec: { template: { spec: { containers: Array<{ args: string[] }> } } } };
    expect(dep.spec.template.spec.containers[0]!.args).to.include('--leader-elect');
    expect(all.find((d) => d.kind === 'EtcdMonitor')!.metadata.name).to.equal('main');
  });

  it('deploy/manifests/etcd-monitor.yaml is the chart rendered with defaults (npm run generate)', async () => {
    const { renderManifests } = await import('../../scripts/render-manifests.js');
    expect(fs.readFileSync('deploy/manifests/etcd-monitor.yaml', 'utf8') === (await renderManifests()), 'stale: run npm run generate').to.equal(true);
  });

  describe('installed into a real control plane', () => {
    let cp: ControlPlane;
    before(async () => {
      cp = await startControlPlane();
      const crds = fs.readdirSync('.cache/crds/prometheus-operator').filter((f) => /servicemonitors|prometheusrules/.test(f));
      for (const f of crds) {
        const r = await cp.kubectl(['apply', '--server-side', '-f', path.join('.cache/crds/prometheus-operator', f)]);
        expect(r.code, r.stderr).to.equal(0);
      }
      for (const ns of ['monitoring', 'etcd-a', 'etcd-b']) await cp.kubectl(['create', 'namespace', ns]);
      await waitFor('monitoring CRDs', async () => (await cp.kubectl(['get', 'servicemonitors', '-A'])).code === 0, 30_000, 500);
    });
    after(async () => cp?.stop());

    it('installs with everything on', async () => {
      const r = await cp.helm(['install', 'em', CHART, '--namespace', 'monitoring', '--wait=false', ...EVERYTHING]);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.match(/kubectl get etcdmonitors/);
      expect((await cp.kubectl(['get', 'crd', 'etcdmonitors.etcdmonitor.dev'])).code).to.equal(0);
      expect((await cp.kubectl(['get', 'servicemonitor,prometheusrule,configmap', '-n', 'monitoring', '-l', 'app.kubernetes.io/instance=em', '-o', 'name'])).stdout).to.match(/servicemonitor.*\n.*prometheusrule|prometheusrule/s);
      expect((await cp.kubectl(['get', 'etcdmonitor', 'main', '-n', 'monitoring'])).code).to.equal(0);
    });

    it('grants the operator what it needs and no Secret beyond the configured namespaces', async () => {
      const as = ['--as=system:serviceaccount:monitoring:em-etcd-monitor'];
      const can = async (args: string[]): Promise<string> => (await cp.kubectl(['auth', 'can-i', ...args, ...as])).stdout.trim();
      expect(await can(['list', 'etcdmonitors.etcdmonitor.dev', '--all-namespaces'])).to.equal('yes');
      expect(await can(['watch', 'etcdmonitors.etcdmonitor.dev', '--all-namespaces'])).to.equal('yes');
      expect(await can(['patch', 'etcdmonitors.etcdmonitor.dev', '--subresource=status', '-n', 'etcd-b'])).to.equal('yes');
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
