/**
 * The operator against a real kube-apiserver (built from Go modules, see hack/) and real etcd members.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startOperator, type OperatorApp, type OperatorConfig } from '../../src/cli/operatorCommand.js';
import { createKubeClient, loadKubeConfig } from '../../src/controller/kube.js';
import type { EtcdMonitorStatus } from '../../src/crd/types.js';
import { silentLogger } from '../../src/log.js';
import { EtcdCluster } from '../helpers/etcdCluster.js';
import { startControlPlane, type ControlPlane } from '../helpers/controlPlane.js';
import { waitFor, startTogether } from '../helpers/procs.js';
import { installEtcdMonitorCrd, testOperatorConfig } from '../helpers/operator.js';

function operatorConfig(kubeconfig: string, over: Partial<OperatorConfig> = {}): OperatorConfig {
  return testOperatorConfig(kubeconfig, over);
}

function manifest(name: string, spec: Record<string, unknown>, namespace = 'default'): string {
  return JSON.stringify({
    apiVersion: 'etcdmonitor.dev/v1alpha1',
    kind: 'EtcdMonitor',
    metadata: { name, namespace },
    spec,
  });
}

describe('operator on a real Kubernetes control plane', function () {
  this.timeout(300_000);
  let cp: ControlPlane;
  let etcd: EtcdCluster;
  let tmp: string;
  const apps: OperatorApp[] = [];

  async function apply(doc: string): Promise<{ code: number; stdout: string; stderr: string }> {
    const f = path.join(tmp, `m-${Date.now()}-${Math.random().toString(36).slice(2)}.json`);
    fs.writeFileSync(f, doc);
    return cp.kubectl(['apply', '-f', f]);
  }

  async function getStatus(name: string, namespace = 'default'): Promise<EtcdMonitorStatus | undefined> {
    const r = await cp.kubectl(['get', 'etcdmonitor', name, '-n', namespace, '-o', 'json']);
    if (r.code !== 0) return undefined;
    return (JSON.parse(r.stdout) as { status?: EtcdMonitorStatus }).status;
  }

  async function operator(over: Partial<OperatorConfig> = {}): Promise<OperatorApp> {
    const app = await startOperator(
      operatorConfig(cp.kubeconfig, over),
      createKubeClient(loadKubeConfig(cp.kubeconfig)),
      silentLogger(),
    );
    apps.push(app);
    return app;
  }

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'operator-test-'));
    [cp, etcd] = await startTogether([startControlPlane(), EtcdCluster.start({ size: 3 })]);
    await installEtcdMonitorCrd(cp, tmp);
  });

  after(async () => {
    for (const a of apps) await a.stop().catch(() => undefined);
    await etcd?.stop();
    await cp?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  describe('the API server refuses bad specs with readable messages', () => {
    const bad: Array<[string, Record<string, unknown>, RegExp]> = [
      ['no endpoints', {}, /endpoints: Required value/],
      ['empty endpoint list', { endpoints: [] }, /should have at least 1 items|must have at least 1 items/],
      ['duplicate endpoints', { endpoints: ['a:2379', 'a:2379'] }, /Duplicate value/],
      ['non-URL endpoint', { endpoints: ['not a url'] }, /should match|must match/],
      ['endpoint without port', { endpoints: ['https://etcd-0'] }, /should match|must match/],
      [
        '16 endpoints',
        { endpoints: Array.from({ length: 16 }, (_, i) => `e${i}:2379`) },
        /must have at most 15 items|Too many/,
      ],
      ['bad interval', { endpoints: ['a:2379'], interval: 'fast' }, /spec.interval/],
      [
        'interval below 1s',
        { endpoints: ['a:2379'], interval: '500ms', timeout: '100ms' },
        /interval must be at least 1s/,
      ],
      [
        'timeout >= interval',
        { endpoints: ['a:2379'], interval: '5s', timeout: '5s' },
        /timeout must be shorter than interval/,
      ],
      ['unknown field', { endpoints: ['a:2379'], intervall: '5s' }, /unknown field "spec.intervall"/],
      ['wrong type', { endpoints: 'a:2379' }, /spec.endpoints: Invalid value: "string"/],
      [
        'bad threshold',
        { endpoints: ['a:2379'], thresholds: { dbQuotaWarningPercent: 150 } },
        /should be less than or equal to 100|must be less than or equal to 100/,
      ],
      [
        'unknown hardware tier',
        { endpoints: ['a:2379'], thresholds: { hardwareTier: 'huge' } },
        /spec.thresholds.hardwareTier: Unsupported value: "huge"/,
      ],
      ['tls without secretName', { endpoints: ['a:2379'], tls: {} }, /spec.tls.secretName: Required value/],
      [
        'metrics urls count',
        { endpoints: ['a:2379', 'b:2379'], metrics: { urls: ['http://a:2381/metrics'] } },
        /one URL per endpoint/,
      ],
    ];
    for (const [name, spec, msg] of bad) {
      it(name, async () => {
        const r = await apply(manifest(`bad-${name.replace(/[^a-z0-9]+/g, '-')}`, spec));
        expect(r.code, r.stdout).to.not.equal(0);
        expect(r.stderr).to.match(msg);
      });
    }
  });

  describe('with one operator', () => {
    let app: OperatorApp;
    before(async () => {
      app = await operator();
    });

    it('writes Healthy with the right leader and shows the columns in kubectl get', async () => {
      const leaderIdx = await etcd.leaderIndex();
      const r = await apply(
        manifest('main', { endpoints: etcd.endpoints, interval: '1s', timeout: '700ms' }),
      );
      expect(r.code, r.stderr).to.equal(0);
      const s = await waitFor(
        'Healthy',
        async () => {
          const st = await getStatus('main');
          return st?.phase === 'Healthy' ? st : undefined;
        },
        15_000,
        200,
      );
      expect(s.leader?.name).to.equal(etcd.members[leaderIdx]!.name);
      expect(s.memberCount).to.equal(3);
      expect(s.observedGeneration).to.equal(1);
      const table = await cp.kubectl(['get', 'etcdmonitors']);
      expect(table.stdout).to.match(/NAME\s+PHASE\s+LEADER\s+MEMBERS\s+DB SIZE\s+LATENCY\s+AGE/);
      expect(table.stdout).to.match(
        new RegExp(`main\\s+Healthy\\s+${etcd.members[leaderIdx]!.name}\\s+3/3\\s+\\S+\\s+\\S+\\s+\\S+`),
      );
      const wide = await cp.kubectl(['get', 'em', '-o', 'wide']);
      expect(wide.stdout).to.match(/CLUSTER ID\s+VERSION\s+LAST PROBE/);
      const byCategory = await cp.kubectl(['get', 'etcd']);
      expect(byCategory.stdout).to.match(/main/);
      // The operator's API serves it too.
      const api = await fetch(`${app.url}/api/v1/clusters/default/main`);
      expect(((await api.json()) as { phase: string }).phase).to.equal('Healthy');
    });

    it('shows advice in the status and -o wide, each told once as an AdviceRaised Event, the phase untouched', async () => {
      // Debian's etcd 3.4 is past etcd's support window (UnsupportedVersion per member); no spec.backup (NoBackup).
      const s = await waitFor(
        'advice',
        async () => {
          const st = await getStatus('main');
          return (st?.advice ?? []).length >= 4 ? st : undefined;
        },
        15_000,
        200,
      );
      const codes = s.advice!.map((a) => `${a.code}${a.member ? '/' + a.member : ''}`).sort();
      expect(codes).to.include.members([
        'NoBackup',
        ...etcd.members.map((m) => `UnsupportedVersion/${m.name}`),
      ]);
      expect(s.phase).to.equal('Healthy');
      expect(s.capacity?.historyRounds).to.be.a('number');
      const wide = await cp.kubectl(['get', 'em', 'main', '-o', 'wide']);
      expect(wide.stdout).to.match(/ADVICE/);
      expect(wide.stdout).to.match(/\d+ \(3 warning\)/);
      const rounds0 = app.registry.get('default/main')!.rounds;
      await waitFor(
        '5 more rounds',
        async () => app.registry.get('default/main')!.rounds >= rounds0 + 5,
        20_000,
        200,
      );
      const ev = await cp.kubectl(['get', 'events', '--field-selector', 'reason=AdviceRaised', '-o', 'json']);
      const items = (
        JSON.parse(ev.stdout) as {
          items: Array<{ message: string; count?: number; involvedObject: { name: string } }>;
        }
      ).items.filter((e) => e.involvedObject.name === 'main');
      const unsupported = items.filter((e) => e.message.includes('UnsupportedVersion'));
      expect(unsupported).to.have.length(3);
      for (const e of unsupported) expect(e.count ?? 1).to.equal(1);
    });

    // After the advice test: raising advice (round 2) is a change worth a write; its figures are not.
    it('does not rewrite the status on every probe', async () => {
      const rv = async (): Promise<string> =>
        JSON.parse((await cp.kubectl(['get', 'em', 'main', '-o', 'json'])).stdout).metadata.resourceVersion;
      const rounds0 = app.registry.get('default/main')!.rounds;
      const v0 = await rv();
      await waitFor(
        '8 rounds',
        async () => app.registry.get('default/main')!.rounds >= rounds0 + 8,
        20_000,
        200,
      );
      expect(await rv()).to.equal(v0);
    });

    it('turns Degraded with a MemberUnhealthy Event when a member dies, and LeaderChanged when the leader dies', async () => {
      const leader = await etcd.leaderIndex();
      const follower = [0, 1, 2].find((i) => i !== leader)!;
      await etcd.kill(follower);
      await waitFor('Degraded', async () => (await getStatus('main'))?.phase === 'Degraded', 15_000, 200);
      const events = async (): Promise<string> =>
        (await cp.kubectl(['get', 'events', '--field-selector', 'involvedObject.name=main', '-o', 'json']))
          .stdout;
      await waitFor(
        'MemberUnhealthy event',
        async () => (await events()).includes('"MemberUnhealthy"'),
        10_000,
        300,
      );
      etcd.restart(follower);
      await waitFor('Healthy again', async () => (await getStatus('main'))?.phase === 'Healthy', 30_000, 300);
      await etcd.kill(leader);
      await waitFor(
        'LeaderChanged event',
        async () => (await events()).includes('"LeaderChanged"'),
        20_000,
        300,
      );
      const s = await getStatus('main');
      expect(s!.leaderChanges).to.equal(1);
      etcd.restart(leader);
      await waitFor('Healthy again', async () => (await getStatus('main'))?.phase === 'Healthy', 30_000, 300);
    });

    it('marks ConfigValid=False when the TLS Secret is missing, and recovers when it appears', async () => {
      const r = await apply(
        manifest('needs-tls', {
          endpoints: ['127.0.0.1:1'],
          tls: { secretName: 'etcd-client-tls' },
          interval: '2s',
          timeout: '1s',
        }),
      );
      expect(r.code, r.stderr).to.equal(0);
      const s = await waitFor(
        'ConfigValid=False',
        async () => {
          const st = await getStatus('needs-tls');
          return st?.conditions.find((c) => c.type === 'ConfigValid' && c.status === 'False')
            ? st
            : undefined;
        },
        15_000,
        300,
      );
      expect(s.conditions.find((c) => c.type === 'ConfigValid')!.message).to.match(
        /secret "etcd-client-tls" not found/,
      );
      const ev = await cp.kubectl([
        'get',
        'events',
        '--field-selector',
        'involvedObject.name=needs-tls,reason=ConfigInvalid',
        '-o',
        'name',
      ]);
      expect(ev.stdout.trim()).to.not.equal('');
      // A secret with a broken certificate: a different, readable reason.
      const bad = await cp.kubectl([
        'create',
        'secret',
        'generic',
        'etcd-client-tls',
        '--from-literal=ca.crt=garbage',
      ]);
      expect(bad.code, bad.stderr).to.equal(0);
      await waitFor(
        'InvalidCertificate',
        async () =>
          (await getStatus('needs-tls'))?.conditions.find((c) => c.type === 'ConfigValid')?.reason ===
          'InvalidCertificate',
        15_000,
        300,
      );
    });

    it('stops probing when paused, and removes the series when deleted', async () => {
      await apply(manifest('tmp', { endpoints: etcd.endpoints, interval: '1s', timeout: '700ms' }));
      await waitFor('tmp probed', async () => (await getStatus('tmp'))?.phase === 'Healthy', 15_000, 200);
      const metrics = async (): Promise<string> => (await fetch(`${app.url}/metrics`)).text();
      expect(await metrics()).to.include('etcd_cluster_healthy{cluster="default/tmp"} 1');
      await apply(
        manifest('tmp', { endpoints: etcd.endpoints, interval: '1s', timeout: '700ms', paused: true }),
      );
      await waitFor('Paused', async () => (await getStatus('tmp'))?.phase === 'Paused', 10_000, 200);
      expect(app.registry.get('default/tmp')).to.equal(undefined);
      await apply(manifest('tmp', { endpoints: etcd.endpoints, interval: '1s', timeout: '700ms' }));
      await waitFor('probed again', async () => (await getStatus('tmp'))?.phase === 'Healthy', 15_000, 200);
      expect((await cp.kubectl(['delete', 'em', 'tmp'])).code).to.equal(0);
      await waitFor(
        'series gone',
        async () => !(await metrics()).includes('cluster="default/tmp"'),
        10_000,
        200,
      );
    });

    it('picks up a rotated auth Secret without a restart', async () => {
      const authEtcd = await EtcdCluster.start({ size: 1, namePrefix: 'authed' });
      try {
        await authEtcd.etcdctl(['user', 'add', 'root', '--new-user-password=right-pw']);
        await authEtcd.etcdctl(['auth', 'enable']);
        const secret = (pw: string): Promise<{ code: number }> =>
          cp.kubectl(['apply', '-f', '-'], {
            input: JSON.stringify({
              apiVersion: 'v1',
              kind: 'Secret',
              metadata: { name: 'etcd-auth', namespace: 'default' },
              stringData: { username: 'root', password: pw },
            }),
          });
        expect((await secret('wrong-pw')).code).to.equal(0);
        await apply(
          manifest('authed', {
            endpoints: authEtcd.endpoints,
            auth: { secretName: 'etcd-auth' },
            interval: '1s',
            timeout: '700ms',
          }),
        );
        const bad = await waitFor(
          'auth failure shown',
          async () => {
            const st = await getStatus('authed');
            return st?.phase === 'Unreachable' ? st : undefined;
          },
          15_000,
          300,
        );
        expect(bad.members[0]!.errors.join(' ')).to.match(
          /authentication failed|invalid user ID or password/,
        );
        expect(JSON.stringify(bad)).to.not.include('wrong-pw');
        expect((await secret('right-pw')).code).to.equal(0);
        await waitFor(
          'Healthy after rotation',
          async () => (await getStatus('authed'))?.phase === 'Healthy',
          15_000,
          300,
        );
        expect((await cp.kubectl(['delete', 'em', 'authed'])).code).to.equal(0);
      } finally {
        await authEtcd.stop();
      }
    });

    it('recovers by itself after the API server restarts, and picks up a resource created while it was down', async () => {
      await cp.restartApiServer({
        whileDown: async () => {
          // Nothing to do while it is down: the operator must not crash.
          await new Promise((r) => setTimeout(r, 2000));
        },
      });
      await apply(manifest('after-restart', { endpoints: etcd.endpoints, interval: '1s', timeout: '700ms' }));
      await waitFor(
        'after-restart Healthy',
        async () => (await getStatus('after-restart'))?.phase === 'Healthy',
        60_000,
        500,
      );
      // The operator's own metrics tell the story.
      const text = await (await fetch(`${app.url}/metrics`)).text();
      const value = (re: RegExp): number => Number(re.exec(text)?.[1] ?? NaN);
      expect(value(/^etcd_monitor_watch_restarts_total\{reason="[^"]+"\} (\d+)/m)).to.be.greaterThan(0);
      expect(value(/^etcd_monitor_reconcile_duration_seconds_count\{result="ok"\} (\d+)/m)).to.be.greaterThan(
        0,
      );
      expect(
        value(/^etcd_monitor_status_patches_total\{reason="changed",result="ok"\} (\d+)/m),
      ).to.be.greaterThan(0);
      expect(value(/^etcd_monitor_monitored_clusters (\d+)/m)).to.be.at.least(2);
      expect(value(/^etcd_monitor_workqueue_depth (\d+)/m)).to.be.at.least(0);
      expect(value(/^etcd_monitor_is_leader (\d+)/m)).to.equal(1);
    });
  });

  describe('two replicas with leader election', () => {
    it('only the leader probes; the standby takes over within the lease duration when it dies', async () => {
      for (const a of apps.splice(0)) await a.stop();
      await apply(manifest('ha', { endpoints: etcd.endpoints, interval: '1s', timeout: '700ms' }));
      const a = await operator({ leaderElect: true, identity: 'replica-a' });
      await waitFor('a leads', async () => a.elector?.isLeader === true, 15_000, 100);
      const b = await operator({ leaderElect: true, identity: 'replica-b' });
      await waitFor('a probes ha', async () => a.registry.get('default/ha') !== undefined, 15_000, 100);
      await new Promise((r) => setTimeout(r, 2000));
      expect(b.elector?.isLeader).to.equal(false);
      expect(b.registry.size).to.equal(0);
      // The standby is Ready (it can take over): a never-Ready standby deadlocks Deployment rollouts.
      expect((await fetch(`${b.url}/ready`)).status).to.equal(200);
      // Kill the leader without releasing the lease (a crash): the standby waits out the lease.
      const t0 = Date.now();
      await a.elector!.stop(false);
      await a.stop();
      await waitFor('b leads', async () => b.elector?.isLeader === true, 4000 + 3000, 100);
      expect(Date.now() - t0).to.be.at.most(4000 + 2500);
      await waitFor('b probes ha', async () => b.registry.get('default/ha')?.rounds ?? 0 > 0, 10_000, 100);
      const lease = JSON.parse(
        (await cp.kubectl(['get', 'lease', 'etcd-monitor-operator', '-n', 'default', '-o', 'json'])).stdout,
      );
      expect(lease.spec.holderIdentity).to.equal('replica-b');
    });
  });
});
