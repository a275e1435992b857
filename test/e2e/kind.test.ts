/**
 * The operator as a real Pod on a real kind cluster, with no registry (scripts/kind.ts): kind's node image
 * built offline (scripts/kind-node-image.sh), our image from our Dockerfile (scripts/images.sh), a real
 * 3-member etcd StatefulSet, the Helm chart installed with --wait. It checks:
 *  - an EtcdMonitor becomes Healthy 3/3; the Pod runs read-only, non-root, no capabilities, RuntimeDefault seccomp;
 *  - the ServiceAccount can do exactly what the operator needs (kubectl auth can-i);
 *  - with replicaCount=2, the Deployment deleting the leader Pod hands the Lease to the other Pod, which keeps writing status
 *    (a member taken away: Degraded and a MemberUnhealthy Event; back: Healthy);
 *  - the Prometheus Operator (its Go module, run against the cluster) makes a real Prometheus scrape our
 *    Service through the chart's ServiceMonitor and load the chart's PrometheusRule, with
 *    kube-prometheus-stack's selectors (release label) and only the chart's release label values set;
 *  - deleting the EtcdMonitor removes its series from /metrics;
 *  - with backup.persistence and backup.restoreTest enabled, an EtcdMonitor with a local backup and
 *    verify.restoreTest gets status.backup.restoreTest.keys from a restore-test Job (etcdutl and etcd of the
 *    node's registry.k8s.io/etcd image) equal to the keys written, and no Job or Pod of it is left.
 * Without a Docker engine it says so and skips; everything it creates (cluster, network, volumes, the
 * Prometheus Operator process) is removed in after(), also on failure.
 */
import { expect } from 'chai';
import { execFile, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import YAML from 'yaml';
import {
  buildTools,
  createCluster,
  deleteCluster,
  dockerEngineMissing,
  hostImages,
  installChart,
  loadImages,
  nodeImage,
  OUR_IMAGE,
  REPO,
  run,
  sweepStale,
  tool,
  type KindCluster,
} from '../../scripts/kind.js';
import { freePort } from '../helpers/ports.js';
import { startProcess, stopProcess, waitFor } from '../helpers/procs.js';

const execFileP = promisify(execFile);
const RELEASE = 'etcd-monitor';
const NS = 'etcd-monitor';
const SA = `system:serviceaccount:${NS}:etcd-monitor`;
const ETCD_YAML = path.join(REPO, 'test/e2e/kind/etcd.yaml');
const PROM_YAML = path.join(REPO, 'test/e2e/kind/prometheus.yaml');
const CHART = path.join(REPO, 'deploy/helm/etcd-monitor');
const RELOADER_IMAGE = 'etcd-monitor.local/prometheus-config-reloader:test';
// The release label kube-prometheus-stack's Prometheus selects ServiceMonitors and PrometheusRules by.
const KPS_RELEASE = 'kube-prometheus-stack';

const COMPOSE = path.join(REPO, 'docker-compose-full.yml');

/** The image docker-compose-full.yml names for `repository`: the tag scripts/images.sh builds it under. */
function composeImage(repository: string): string {
  const m = new RegExp(`image:\\s*(${repository.replace(/[./]/g, '\\$&')}:[^\\s]+)`).exec(
    fs.readFileSync(COMPOSE, 'utf8'),
  );
  if (!m?.[1]) throw new Error(`docker-compose-full.yml names no ${repository} image`);
  return m[1];
}

/** A manifest with its `repository` images (and Prometheus `version`) set to `image`. */
function withImage(file: string, repository: string, image: string): string {
  const tag = image.slice(image.lastIndexOf(':') + 1);
  return fs
    .readFileSync(file, 'utf8')
    .replace(new RegExp(`(image:\\s*)${repository.replace(/[./]/g, '\\$&')}:[^\\s]+`, 'g'), `$1${image}`)
    .replace(/^(\s*version:\s*)v\S+$/m, `$1${tag}`);
}

interface PodJson {
  metadata: { name: string; deletionTimestamp?: string };
  spec: {
    securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; seccompProfile?: { type?: string } };
    containers: {
      name: string;
      securityContext?: {
        readOnlyRootFilesystem?: boolean;
        runAsNonRoot?: boolean;
        allowPrivilegeEscalation?: boolean;
        capabilities?: { drop?: string[]; add?: string[] };
      };
    }[];
  };
  status: { phase?: string; conditions?: { type: string; status: string }[] };
}

describe('e2e: the operator on a kind cluster (needs a Docker engine)', function () {
  this.timeout(45 * 60_000);
  let cluster: KindCluster | undefined;
  let tmp = '';
  let promOperator: ChildProcess | undefined;
  let etcdImage = '';
  let promImage = '';
  const env = (): NodeJS.ProcessEnv => cluster?.env ?? process.env;
  const kubectl = (args: string[], input?: string): Promise<string> =>
    run(tool('kubectl'), args, { env: env(), input, timeoutMs: 120_000 });
  const helm = (args: string[]): Promise<string> =>
    run(tool('helm'), args, { env: env(), timeoutMs: 6 * 60_000 });

  before(async function () {
    const why = dockerEngineMissing();
    if (why) {
      console.log(
        `      SKIPPED: no Docker engine answers here (${why}); scripts/docker-engine.sh start starts one. The same operator scenario runs on the real control plane in test/integration/operator.test.ts`,
      );
      this.skip();
    }
    if (!fs.existsSync(path.join(REPO, 'scripts/images.sh'))) {
      console.log(
        '      SKIPPED: scripts/images.sh is missing, so there is no etcd-monitor:local built from our Dockerfile to run',
      );
      this.skip();
    }
    sweepStale('etcd-monitor-e2e-');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'etcd-monitor-kind-'));
    const t0 = Date.now();
    await buildTools([
      'kind',
      'kubectl',
      'helm',
      'prometheus-operator',
      'prometheus-config-reloader',
      'prometheus-operator-crds',
    ]);
    const node = await nodeImage();
    etcdImage = composeImage('gcr.io/etcd-development/etcd');
    promImage = composeImage('prom/prometheus');
    await hostImages(['etcd-monitor', 'etcd', 'prometheus']);
    const reloader = path.join(tmp, 'reloader.tar');
    await run('bash', [
      path.join(REPO, 'scripts/kind-node-image.sh'),
      'archive',
      'prometheus-config-reloader',
      RELOADER_IMAGE,
      reloader,
    ]);
    const t1 = Date.now();
    cluster = await createCluster(`etcd-monitor-e2e-${process.pid}`, {
      kubeconfig: path.join(tmp, 'kubeconfig'),
      nodeImage: node,
    });
    const t2 = Date.now();
    await loadImages(cluster, [OUR_IMAGE, etcdImage, promImage]);
    await run(tool('kind'), ['load', 'image-archive', '--name', cluster.name, reloader], {
      env: cluster.kindEnv,
    });
    await kubectl(['apply', '-f', '-'], withImage(ETCD_YAML, 'gcr.io/etcd-development/etcd', etcdImage));
    await kubectl(['-n', 'etcd-e2e', 'rollout', 'status', 'statefulset/etcd', '--timeout=300s']);
    await installChart(cluster, RELEASE, NS, ['operator.logFormat=json']);
    console.log(
      `      images and tools ${Math.round((t1 - t0) / 1000)}s, kind create cluster ${Math.round((t2 - t1) / 1000)}s, images loaded + etcd + chart ${Math.round((Date.now() - t2) / 1000)}s`,
    );
  });

  after(async function () {
    this.timeout(5 * 60_000);
    if (promOperator) await stopProcess(promOperator, 10_000);
    if (cluster) await deleteCluster(cluster);
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  const phase = (): Promise<string> =>
    kubectl([
      '-n',
      'etcd-e2e',
      'get',
      'etcdmonitor',
      'main',
      '-o',
      'jsonpath={.status.phase} {.status.summary.members}',
    ]);
  const pods = async (): Promise<PodJson[]> =>
    (
      JSON.parse(
        await kubectl(['-n', NS, 'get', 'pods', '-l', 'app.kubernetes.io/name=etcd-monitor', '-o', 'json']),
      ) as { items: PodJson[] }
    ).items;
  const ready = (p: PodJson): boolean =>
    !p.metadata.deletionTimestamp &&
    (p.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
  const leaseHolder = async (): Promise<string> =>
    kubectl([
      '-n',
      NS,
      'get',
      'lease',
      'etcd-monitor-operator',
      '-o',
      'jsonpath={.spec.holderIdentity}',
    ]).catch(() => '');
  /** /metrics of one Pod (the leader's, when several run: only the Lease holder probes). */
  const podMetrics = (pod: string): Promise<string> =>
    kubectl(['get', '--raw', `/api/v1/namespaces/${NS}/pods/${pod}:8080/proxy/metrics`]);
  const leaderMetrics = async (): Promise<string> => {
    const holder = await leaseHolder();
    const name = holder || (await pods()).find(ready)?.metadata.name;
    if (!name) throw new Error('no operator Pod is ready');
    return podMetrics(name);
  };
  const canI = async (
    verb: string,
    resource: string,
    ns?: string,
    subresource?: string,
  ): Promise<boolean> => {
    const args = [
      'auth',
      'can-i',
      verb,
      resource,
      `--as=${SA}`,
      ...(ns ? ['-n', ns] : ['--all-namespaces']),
      ...(subresource ? [`--subresource=${subresource}`] : []),
    ];
    // can-i prints yes/no and exits 1 for no.
    const out = await execFileP(tool('kubectl'), args, { env: env() }).then(
      (r) => r.stdout,
      (e: { stdout?: string }) => e.stdout ?? '',
    );
    const answer = out.trim().split('\n').pop();
    if (answer !== 'yes' && answer !== 'no') throw new Error(`kubectl ${args.join(' ')}: ${out}`);
    return answer === 'yes';
  };

  it('an EtcdMonitor naming the StatefulSet becomes Healthy with 3/3 members and shows in kubectl get', async () => {
    const endpoints = [0, 1, 2].map((i) => `http://etcd-${i}.etcd.etcd-e2e.svc:2379`);
    await kubectl(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'etcdmonitor.dev/v1alpha1',
        kind: 'EtcdMonitor',
        metadata: { name: 'main', namespace: 'etcd-e2e' },
        spec: { endpoints, interval: '5s', timeout: '2s' },
      }),
    );
    await waitFor('Healthy 3/3', async () => (await phase()) === 'Healthy 3/3', 120_000, 2000);
    const table = await kubectl(['-n', 'etcd-e2e', 'get', 'etcdmonitors']);
    for (const col of ['PHASE', 'LEADER', 'MEMBERS', 'DB SIZE', 'LATENCY', 'AGE'])
      expect(table).to.contain(col);
    expect(table).to.match(/main\s+Healthy\s+etcd-\d\s+3\/3/);
    const viaService = await kubectl([
      'get',
      '--raw',
      `/api/v1/namespaces/${NS}/services/etcd-monitor:8080/proxy/metrics`,
    ]);
    expect(viaService).to.contain('etcd_cluster_healthy{cluster="etcd-e2e/main"} 1');
  });

  it('the operator Pod is Ready with a read-only root filesystem, non-root, no capabilities and RuntimeDefault seccomp', async () => {
    const [pod, ...others] = await pods();
    expect(others).to.have.length(0);
    expect(pod && ready(pod), 'Pod Ready').to.equal(true);
    const p = pod!;
    expect(p.spec.securityContext?.runAsNonRoot).to.equal(true);
    expect(p.spec.securityContext?.seccompProfile?.type).to.equal('RuntimeDefault');
    const c = p.spec.containers.find((x) => x.name === 'operator') ?? p.spec.containers[0]!;
    expect(c.securityContext?.readOnlyRootFilesystem).to.equal(true);
    expect(c.securityContext?.allowPrivilegeEscalation).to.equal(false);
    expect(c.securityContext?.capabilities?.drop).to.deep.equal(['ALL']);
    expect(c.securityContext?.capabilities?.add ?? []).to.deep.equal([]);
    // What the kernel enforces on the running process, not only what the spec asks for.
    const probe = `const fs=require('fs');let w='written';try{fs.writeFileSync('/probe','x')}catch(e){w=e.code}
      const s=fs.readFileSync('/proc/self/status','utf8');const f=(k)=>(new RegExp('^'+k+':\\\\s*(\\\\S+)','m').exec(s)||[])[1];
      console.log(JSON.stringify({uid:process.getuid(),write:w,capEff:f('CapEff'),capBnd:f('CapBnd'),seccomp:f('Seccomp'),noNewPrivs:f('NoNewPrivs')}))`;
    const got = JSON.parse(
      await kubectl(['-n', NS, 'exec', p.metadata.name, '-c', c.name, '--', 'node', '-e', probe]),
    ) as Record<string, string | number>;
    expect(got).to.deep.equal({
      uid: 65532,
      write: 'EROFS',
      capEff: '0000000000000000',
      capBnd: '0000000000000000',
      seccomp: '2',
      noNewPrivs: '1',
    });
  });

  it("the Pod's ServiceAccount can do what the operator needs and nothing more (no Secrets outside secretAccess)", async () => {
    const crd = 'etcdmonitors.etcdmonitor.dev';
    for (const verb of ['get', 'list', 'watch'])
      expect(await canI(verb, crd), `${verb} etcdmonitors`).to.equal(true);
    expect(await canI('patch', crd, 'etcd-e2e', 'status'), 'patch etcdmonitors/status').to.equal(true);
    expect(await canI('create', 'events', 'etcd-e2e'), 'create events').to.equal(true);
    for (const verb of ['get', 'create', 'update'])
      expect(await canI(verb, 'leases.coordination.k8s.io', NS), `${verb} leases in ${NS}`).to.equal(true);
    // Not the spec, not other namespaces' leases, no Secrets at all (secretAccess is empty), no Pods.
    for (const verb of ['create', 'update', 'patch', 'delete'])
      expect(await canI(verb, crd, 'etcd-e2e'), `${verb} etcdmonitors`).to.equal(false);
    expect(
      await canI('update', 'leases.coordination.k8s.io', 'kube-system'),
      'leases in kube-system',
    ).to.equal(false);
    for (const ns of ['etcd-e2e', NS, 'kube-system']) {
      expect(await canI('get', 'secrets', ns), `get secrets in ${ns}`).to.equal(false);
      expect(await canI('list', 'secrets', ns), `list secrets in ${ns}`).to.equal(false);
    }
    expect(await canI('create', 'pods', 'etcd-e2e'), 'create pods').to.equal(false);
    expect(await canI('delete', 'events', 'etcd-e2e'), 'delete events').to.equal(false);
    // No restore-test Jobs unless backup.restoreTest.enabled (the last case turns it on).
    expect(await canI('create', 'jobs.batch', NS), `create jobs in ${NS}`).to.equal(false);
    expect(await canI('create', 'secrets', NS), `create secrets in ${NS}`).to.equal(false);
  });

  it('with replicaCount=2 and secretAccess for one namespace: get Secrets there only; deleting the leader Pod hands the Lease to the other, which keeps writing status', async () => {
    await helm([
      'upgrade',
      RELEASE,
      CHART,
      '-n',
      NS,
      '--reuse-values',
      '--wait',
      '--timeout',
      '5m',
      '--set',
      'replicaCount=2',
      '--set',
      'secretAccess.namespaces[0]=etcd-e2e',
    ]);
    expect(await canI('get', 'secrets', 'etcd-e2e'), 'get secrets in etcd-e2e').to.equal(true);
    expect(await canI('list', 'secrets', 'etcd-e2e'), 'list secrets in etcd-e2e').to.equal(false);
    expect(await canI('get', 'secrets', 'kube-system'), 'get secrets in kube-system').to.equal(false);

    const names = await waitFor(
      '2 ready Pods, one holding the Lease',
      async () => {
        const ps = (await pods()).filter(ready).map((p) => p.metadata.name);
        const holder = await leaseHolder();
        return ps.length === 2 && ps.includes(holder)
          ? { holder, other: ps.find((n) => n !== holder)! }
          : undefined;
      },
      180_000,
      2000,
    );
    expect(await podMetrics(names.holder)).to.match(/^etcd_monitor_is_leader 1$/m);
    expect(await podMetrics(names.other)).to.match(/^etcd_monitor_is_leader 0$/m);

    // The Deployment deletes the leader Pod (the lowest pod-deletion-cost goes first on scale-down), with no
    // replacement racing the other Pod for the released Lease (as after `kubectl delete pod`, where either wins).
    await kubectl([
      '-n',
      NS,
      'annotate',
      'pod',
      names.holder,
      'controller.kubernetes.io/pod-deletion-cost=-100',
    ]);
    await kubectl(['-n', NS, 'scale', 'deployment/etcd-monitor', '--replicas=1']);
    await waitFor(
      `the Lease handed from ${names.holder} to ${names.other}`,
      async () => (await leaseHolder()) === names.other,
      60_000,
      1000,
    );
    await waitFor(
      `${names.holder} gone`,
      async () => !(await pods()).some((p) => p.metadata.name === names.holder),
      60_000,
      1000,
    );
    await waitFor(
      `${names.other} reports itself leader`,
      async () => /^etcd_monitor_is_leader 1$/m.test(await podMetrics(names.other)),
      60_000,
      1000,
    );

    // The new leader probes and writes status: take a member away and bring it back.
    await kubectl(['-n', 'etcd-e2e', 'scale', 'statefulset/etcd', '--replicas=2']);
    await waitFor('Degraded 2/3', async () => (await phase()) === 'Degraded 2/3', 120_000, 2000);
    const events = await kubectl([
      '-n',
      'etcd-e2e',
      'get',
      'events',
      '--field-selector',
      'involvedObject.name=main,reason=MemberUnhealthy',
      '-o',
      'name',
    ]);
    expect(events.trim()).to.not.equal('');
    expect(await podMetrics(names.other)).to.contain(
      'etcd_cluster_healthy_members{cluster="etcd-e2e/main"} 2',
    );
    await kubectl(['-n', 'etcd-e2e', 'scale', 'statefulset/etcd', '--replicas=3']);
    await waitFor('Healthy again', async () => (await phase()) === 'Healthy 3/3', 180_000, 2000);
    expect(await leaseHolder()).to.equal(names.other);
    await kubectl(['-n', NS, 'scale', 'deployment/etcd-monitor', '--replicas=2']);
    await kubectl(['-n', NS, 'rollout', 'status', 'deployment/etcd-monitor', '--timeout=180s']);
  });

  it("the chart's ServiceMonitor makes a Prometheus run by the Prometheus Operator scrape our Service, and its PrometheusRule's alerts load", async () => {
    // The CRDs as shipped in the prometheus-operator Go module (scripts/build-tools.sh links the directory).
    const crds = fs.realpathSync(path.join(REPO, '.cache/crds/prometheus-operator'));
    await kubectl(['apply', '--server-side', '-f', crds]);
    // Polled rather than `kubectl wait`: right after a server-side apply a CRD may have no
    // status.conditions yet, and kubectl wait then fails at once instead of waiting.
    for (const crd of ['prometheuses', 'servicemonitors', 'prometheusrules']) {
      await waitFor(
        `crd/${crd}.monitoring.coreos.com Established`,
        async () =>
          (
            await kubectl([
              'get',
              `crd/${crd}.monitoring.coreos.com`,
              '-o',
              'jsonpath={.status.conditions[?(@.type=="Established")].status}',
            ])
          ).trim() === 'True',
        60_000,
        500,
      );
    }
    const port = await freePort();
    promOperator = startProcess(
      tool('prometheus-operator'),
      [
        `--web.listen-address=127.0.0.1:${port}`,
        `--prometheus-config-reloader=${RELOADER_IMAGE}`,
        '--log-level=info',
      ],
      {
        env: env(),
        logFile: path.join(tmp, 'prometheus-operator.log'),
      },
    );
    // Only what a kube-prometheus-stack user sets: the release label on both objects (intervals stay the
    // chart's defaults). Before the Prometheus exists, so its first configuration already has them.
    await helm([
      'upgrade',
      RELEASE,
      CHART,
      '-n',
      NS,
      '--reuse-values',
      '--wait',
      '--timeout',
      '5m',
      '--set',
      'serviceMonitor.enabled=true',
      '--set',
      `serviceMonitor.additionalLabels.release=${KPS_RELEASE}`,
      '--set',
      'prometheusRule.enabled=true',
      '--set',
      `prometheusRule.additionalLabels.release=${KPS_RELEASE}`,
    ]);
    await kubectl(['apply', '-f', '-'], withImage(PROM_YAML, 'prom/prometheus', promImage));
    const prom = (p: string): Promise<string> =>
      kubectl(['get', '--raw', `/api/v1/namespaces/monitoring/services/prometheus-operated:9090/proxy${p}`]);
    try {
      await waitFor(
        'the Prometheus Pod ready',
        async () =>
          (
            await kubectl([
              '-n',
              'monitoring',
              'get',
              'pods',
              '-l',
              'app.kubernetes.io/name=prometheus',
              '-o',
              'jsonpath={.items[*].status.containerStatuses[*].ready}',
            ])
          )
            .split(' ')
            .filter((r) => r === 'true').length >= 2,
        240_000,
        2000,
      );

      interface Target {
        labels: Record<string, string>;
        health: string;
        scrapeUrl: string;
      }
      const targets = await waitFor(
        'both operator Pods scraped and up',
        async () => {
          const t = (
            JSON.parse(await prom('/api/v1/targets?state=active')) as { data: { activeTargets: Target[] } }
          ).data.activeTargets.filter((x) => x.labels.service === 'etcd-monitor');
          return t.length === 2 && t.every((x) => x.health === 'up') ? t : undefined;
        },
        240_000,
        3000,
      );
      expect(targets.map((t) => t.labels.job)).to.deep.equal(['etcd-monitor', 'etcd-monitor']);
      expect(
        targets.every((t) => t.labels.namespace === NS && t.scrapeUrl.endsWith(':8080/metrics')),
      ).to.equal(true);

      const query = async (
        q: string,
      ): Promise<{ metric: Record<string, string>; value: [number, string] }[]> =>
        (
          JSON.parse(await prom(`/api/v1/query?query=${encodeURIComponent(q)}`)) as {
            data: { result: { metric: Record<string, string>; value: [number, string] }[] };
          }
        ).data.result;
      const healthy = await waitFor(
        'etcd_cluster_healthy scraped',
        async () => {
          const r = await query('etcd_cluster_healthy{cluster="etcd-e2e/main"}');
          return r.length > 0 ? r : undefined;
        },
        60_000,
        2000,
      );
      expect(healthy.map((r) => r.value[1])).to.deep.equal(['1']);
      expect((await query('sum(etcd_monitor_is_leader)'))[0]?.value[1]).to.equal('1');

      // Every alert of the chart's rules file is loaded, in its groups.
      const src = YAML.parse(fs.readFileSync(path.join(CHART, 'files/etcd-monitor-alerts.yml'), 'utf8')) as {
        groups: { name: string; rules: { alert?: string }[] }[];
      };
      const want = src.groups.map((g) => ({
        name: g.name,
        alerts: g.rules
          .map((r) => r.alert)
          .filter((a): a is string => Boolean(a))
          .sort(),
      }));
      interface RuleGroup {
        name: string;
        file: string;
        rules: { type: string; name: string; health: string }[];
      }
      const loaded = await waitFor(
        'the PrometheusRule loaded',
        async () => {
          const g = (
            JSON.parse(await prom('/api/v1/rules?type=alert')) as { data: { groups: RuleGroup[] } }
          ).data.groups.filter((x) => x.file.includes(`${NS}-etcd-monitor`));
          return g.length === want.length ? g : undefined;
        },
        180_000,
        3000,
      );
      expect(loaded.map((g) => ({ name: g.name, alerts: g.rules.map((r) => r.name).sort() }))).to.deep.equal(
        want,
      );
      expect(loaded.flatMap((g) => g.rules).every((r) => r.health !== 'err')).to.equal(true);
    } catch (e) {
      const log = fs.existsSync(path.join(tmp, 'prometheus-operator.log'))
        ? fs.readFileSync(path.join(tmp, 'prometheus-operator.log'), 'utf8').split('\n').slice(-20).join('\n')
        : '';
      const podsNow = await kubectl(['-n', 'monitoring', 'get', 'pods,statefulsets', '-o', 'wide']).catch(
        () => '',
      );
      throw new Error(
        `${String(e)}\n--- monitoring ---\n${podsNow}\n--- prometheus-operator log ---\n${log}`,
      );
    }
  });

  it('deleting the EtcdMonitor removes its series from /metrics', async () => {
    expect(await leaderMetrics()).to.contain('cluster="etcd-e2e/main"');
    await kubectl(['-n', 'etcd-e2e', 'delete', 'etcdmonitor', 'main', '--wait=true']);
    await waitFor(
      'series gone',
      async () => !(await leaderMetrics()).includes('cluster="etcd-e2e/main"'),
      60_000,
      2000,
    );
  });

  it('verify.restoreTest: a restore-test Job restores the stored snapshot and counts the keys written; the Job is gone afterwards', async () => {
    await helm([
      'upgrade',
      RELEASE,
      CHART,
      '-n',
      NS,
      '--reuse-values',
      '--wait',
      '--timeout',
      '5m',
      '--set',
      'backup.persistence.enabled=true',
      '--set',
      'backup.restoreTest.enabled=true',
    ]);
    // Exactly what the Job path needs, in the release namespace only.
    for (const verb of ['create', 'get', 'delete'])
      expect(await canI(verb, 'jobs.batch', NS), `${verb} jobs in ${NS}`).to.equal(true);
    expect(await canI('list', 'pods', NS), `list pods in ${NS}`).to.equal(true);
    expect(await canI('create', 'secrets', NS), `create secrets in ${NS}`).to.equal(true);
    expect(await canI('create', 'jobs.batch', 'etcd-e2e'), 'create jobs in etcd-e2e').to.equal(false);
    expect(await canI('list', 'jobs.batch', NS), `list jobs in ${NS}`).to.equal(false);
    expect(await canI('create', 'pods', NS), `create pods in ${NS}`).to.equal(false);
    expect(await canI('get', 'pods', NS, 'log'), `get pods/log in ${NS}`).to.equal(false);
    expect(await canI('get', 'secrets', NS), `get secrets in ${NS}`).to.equal(false);
    expect(await canI('delete', 'secrets', NS), `delete secrets in ${NS}`).to.equal(false);

    const etcdctl = (args: string[]): Promise<string> =>
      kubectl(['-n', 'etcd-e2e', 'exec', 'etcd-0', '--', 'etcdctl', ...args]);
    const WRITTEN = 20;
    for (let i = 0; i < WRITTEN; i++)
      await etcdctl(['put', `/restore-e2e/k${String(i).padStart(2, '0')}`, `v${i}`]);
    const inCluster = (
      JSON.parse(await etcdctl(['get', '', '--prefix', '--keys-only', '-w', 'json'])) as { count?: number }
    ).count;
    expect(inCluster, 'keys in the cluster').to.equal(WRITTEN);

    const endpoints = [0, 1, 2].map((i) => `http://etcd-${i}.etcd.etcd-e2e.svc:2379`);
    await kubectl(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'etcdmonitor.dev/v1alpha1',
        kind: 'EtcdMonitor',
        metadata: { name: 'backup', namespace: 'etcd-e2e' },
        spec: {
          endpoints,
          interval: '5s',
          timeout: '2s',
          backup: {
            schedule: '@every 30s',
            destination: { local: { path: '/backups' } },
            verify: { restoreTest: true },
          },
        },
      }),
    );
    interface BackupStatusJson {
      lastError?: string;
      location?: string;
      revision?: number;
      restoreTest?: { time: string; keys: number };
    }
    const backupStatus = async (): Promise<BackupStatusJson> =>
      (
        JSON.parse(await kubectl(['-n', 'etcd-e2e', 'get', 'etcdmonitor', 'backup', '-o', 'json'])) as {
          status?: { backup?: BackupStatusJson };
        }
      ).status?.backup ?? {};
    const restoreJobs = async (): Promise<string> =>
      (
        await kubectl([
          '-n',
          NS,
          'get',
          'jobs,pods,secrets',
          '-l',
          'app.kubernetes.io/component=restore-test',
          '-o',
          'name',
        ])
      ).trim();
    // The Job while it runs: its Pod as the builder wrote it (non-root, read-only, loopback etcd).
    interface JobJson {
      metadata: { name: string; namespace: string };
      spec: {
        activeDeadlineSeconds?: number;
        ttlSecondsAfterFinished?: number;
        template: {
          spec: {
            automountServiceAccountToken?: boolean;
            securityContext?: {
              runAsNonRoot?: boolean;
              runAsUser?: number;
              seccompProfile?: { type?: string };
            };
            initContainers?: { name: string; image: string; restartPolicy?: string }[];
            containers: { name: string; image: string }[];
            volumes?: { name: string; persistentVolumeClaim?: { claimName: string; readOnly?: boolean } }[];
          };
        };
      };
    }
    const seen: { job: string; spec?: JobJson } = { job: '' };
    const t0 = Date.now();
    let st: BackupStatusJson;
    try {
      st = await waitFor(
        'status.backup.restoreTest',
        async () => {
          if (!seen.job) {
            seen.job = (await restoreJobs()).split('\n').find((n) => n.startsWith('job')) ?? '';
            if (seen.job)
              seen.spec = JSON.parse(
                await kubectl(['-n', NS, 'get', seen.job, '-o', 'json']).catch(() => 'null'),
              ) as JobJson | undefined;
          }
          const b = await backupStatus();
          if (b.lastError) throw new Error(`backup failed: ${b.lastError}`);
          return b.restoreTest ? b : undefined;
        },
        240_000,
        1000,
      );
    } catch (e) {
      const objs = await kubectl(['-n', NS, 'get', 'jobs,pods', '-o', 'wide']).catch(() => '');
      const ev = await kubectl([
        '-n',
        'etcd-e2e',
        'get',
        'events',
        '--field-selector',
        'involvedObject.name=backup',
      ]).catch(() => '');
      const logs = await kubectl(['-n', NS, 'logs', 'deployment/etcd-monitor', '--tail=30']).catch(() => '');
      throw new Error(
        `${String(e)}\n--- ${NS} ---\n${objs}\n--- events ---\n${ev}\n--- operator ---\n${logs}`,
      );
    }
    console.log(
      `      restore test: ${st.restoreTest!.keys} keys of ${st.location} (revision ${st.revision}) after ${Math.round((Date.now() - t0) / 1000)}s; Job seen: ${seen.job || 'none (between polls)'}`,
    );
    expect(st.restoreTest!.keys).to.equal(WRITTEN);
    expect(seen.spec, 'the Job, seen while it ran').to.not.equal(undefined);
    if (seen.spec) {
      // The Job as run: in the release namespace, non-root with no token, the backup claim read-only.
      const pod = seen.spec.spec.template.spec;
      expect(seen.spec.metadata.namespace).to.equal(NS);
      expect(seen.spec.spec.ttlSecondsAfterFinished).to.equal(300);
      expect(pod.automountServiceAccountToken).to.equal(false);
      expect(pod.securityContext).to.deep.include({ runAsNonRoot: true, runAsUser: 65532 });
      expect(pod.securityContext?.seccompProfile?.type).to.equal('RuntimeDefault');
      expect(pod.initContainers?.map((c) => [c.name, c.image, c.restartPolicy ?? ''])).to.deep.equal([
        ['restore', 'registry.k8s.io/etcd:3.6.5-0', ''],
        ['etcd', 'registry.k8s.io/etcd:3.6.5-0', 'Always'],
      ]);
      expect(pod.containers.map((c) => [c.name, c.image])).to.deep.equal([['count', OUR_IMAGE]]);
      expect(pod.volumes?.find((v) => v.persistentVolumeClaim)?.persistentVolumeClaim).to.deep.equal({
        claimName: 'etcd-monitor-backups',
        readOnly: true,
      });
    }
    expect(st.location).to.match(/^\/backups\/etcd-e2e\/backup\/.+\.db$/);
    const events = await kubectl([
      '-n',
      'etcd-e2e',
      'get',
      'events',
      '--field-selector',
      'involvedObject.name=backup,reason=BackupSucceeded',
      '-o',
      'jsonpath={.items[*].message}',
    ]);
    expect(events).to.contain(`restore-tested: ${WRITTEN} keys`);

    // No more runs; the one in flight (if any) ends and deletes its Job: nothing is left behind.
    await kubectl(['-n', 'etcd-e2e', 'delete', 'etcdmonitor', 'backup', '--wait=true']);
    await waitFor(
      'no restore-test Job, Pod or Secret left',
      async () => (await restoreJobs()) === '',
      120_000,
      2000,
    );
  });
});
