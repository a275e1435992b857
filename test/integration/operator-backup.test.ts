/**
 * Scheduled backups in operator mode on a real kube-apiserver: spec.backup into a local folder, then
 * status.backup, the BackupReady condition, a BackupSucceeded Event and `kubectl get -o wide`'s LAST
 * BACKUP; a bad schedule or a missing S3 Secret is ConfigValid=False with the reason while the cluster is
 * still probed; a bad destination is refused by the API server.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startOperator, type OperatorApp } from '../../src/cli/operatorCommand.js';
import { createKubeClient, loadKubeConfig } from '../../src/controller/kube.js';
import type { EtcdMonitorStatus } from '../../src/crd/types.js';
import { silentLogger } from '../../src/log.js';
import { EtcdCluster, etcdVersions } from '../helpers/etcdCluster.js';
import { startControlPlane, type ControlPlane } from '../helpers/controlPlane.js';
import { waitFor, startTogether } from '../helpers/procs.js';
import { installEtcdMonitorCrd, testOperatorConfig } from '../helpers/operator.js';

describe('operator: scheduled backups (real control plane, real etcd 3.5)', function () {
  this.timeout(240_000);
  let cp: ControlPlane;
  let etcd: EtcdCluster;
  let app: OperatorApp | undefined;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'operator-backup-'));
  const backups = path.join(tmp, 'backups');

  const apply = async (obj: unknown): Promise<{ code: number; stdout: string; stderr: string }> => {
    const f = path.join(tmp, `m-${Date.now()}-${Math.random().toString(36).slice(2)}.json`);
    fs.writeFileSync(f, JSON.stringify(obj));
    return cp.kubectl(['apply', '-f', f]);
  };
  const em = (name: string, spec: Record<string, unknown>): unknown => ({
    apiVersion: 'etcdmonitor.dev/v1alpha1',
    kind: 'EtcdMonitor',
    metadata: { name, namespace: 'default' },
    spec: { endpoints: etcd.endpoints, interval: '1s', timeout: '500ms', ...spec },
  });
  const status = async (name: string): Promise<EtcdMonitorStatus | undefined> => {
    const r = await cp.kubectl(['get', 'etcdmonitor', name, '-o', 'json']);
    return r.code === 0 ? (JSON.parse(r.stdout) as { status?: EtcdMonitorStatus }).status : undefined;
  };

  before(async () => {
    const v = etcdVersions().find((x) => x.name === 'etcd 3.5')!;
    [cp, etcd] = await startTogether([
      startControlPlane(),
      EtcdCluster.start({ size: 3, binary: v.binary, etcdctl: v.etcdctl }),
    ]);
    await installEtcdMonitorCrd(cp, tmp);
    app = await startOperator(
      testOperatorConfig(cp.kubeconfig, { identity: 'op-backup', concurrency: 4 }),
      createKubeClient(loadKubeConfig(cp.kubeconfig)),
      silentLogger(),
    );
  });
  after(async () => {
    await app?.stop().catch(() => undefined);
    await etcd?.stop();
    await cp?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('backs up on schedule into the folder and shows it in status, conditions, Events and -o wide', async () => {
    const r = await apply(
      em('main', {
        backup: { schedule: '@every 2s', retention: { keep: 2 }, destination: { local: { path: backups } } },
      }),
    );
    expect(r.code, r.stderr).to.equal(0);
    const s = await waitFor(
      'a verified backup in the status',
      async () => {
        const x = await status('main');
        return x?.backup?.lastSuccessTime &&
          x.conditions.some((c) => c.type === 'BackupReady' && c.status === 'True')
          ? x
          : undefined;
      },
      60_000,
      500,
    );
    expect(s.backup).to.include({ verified: true });
    expect(s.backup!.location).to.match(new RegExp(`^${backups}/default/main/\\d{8}T\\d{6}Z-r\\d+\\.db$`));
    expect(fs.existsSync(s.backup!.location!)).to.equal(true);
    expect(s.phase).to.equal('Healthy');
    const events = await cp.kubectl([
      'get',
      'events',
      '--field-selector',
      'involvedObject.name=main,reason=BackupSucceeded',
      '-o',
      'jsonpath={.items[*].message}',
    ]);
    expect(events.stdout).to.match(
      /snapshot of revision \d+ from http:\/\/127\.0\.0\.1:\d+ \((follower|leader)\)/,
    );
    const wide = await cp.kubectl(['get', 'etcdmonitors', 'main', '-o', 'wide']);
    expect(wide.stdout).to.contain('LAST BACKUP');
    await waitFor(
      'retention at 2',
      async () =>
        fs.readdirSync(path.join(backups, 'default/main')).filter((f) => f.endsWith('.db')).length === 2 ||
        undefined,
      30_000,
      500,
    );
  });

  /** The cluster is still probed while only its backup spec is unusable: Healthy 3/3, rounds going on, and told once. */
  const stillProbed = async (name: string): Promise<void> => {
    const first = await waitFor(
      `${name} probed`,
      async () => {
        const s = await status(name);
        return s?.phase === 'Healthy' && s.healthyMembers === 3 && s.lastProbeTime ? s : undefined;
      },
      30_000,
      500,
    );
    // Rounds go on (the status is written on change, the metric every round).
    const lastProbe = async (): Promise<number> => {
      const text = await (await fetch(`${app!.url}/metrics`)).text();
      const line = text
        .split('\n')
        .find((l) => l.startsWith(`etcd_monitor_last_probe_timestamp_seconds{cluster="default/${name}"`));
      return Number(line?.split(' ').pop() ?? 0);
    };
    const t0 = await lastProbe();
    expect(t0 * 1000).to.be.at.least(Date.parse(first.lastProbeTime!) - 1000);
    await waitFor(`${name}: another round`, async () => (await lastProbe()) > t0, 30_000, 300);
    const ev = await cp.kubectl([
      'get',
      'events',
      '--field-selector',
      `involvedObject.name=${name},reason=ConfigInvalid`,
      '-o',
      'json',
    ]);
    const items = (JSON.parse(ev.stdout) as { items: Array<{ count?: number }> }).items;
    expect(items, 'one ConfigInvalid Event').to.have.length(1);
    expect(items[0]!.count ?? 1).to.equal(1);
  };

  it('a bad schedule or a missing S3 Secret is ConfigValid=False with the reason, the cluster still probed; a bad destination is refused', async () => {
    expect(
      (
        await apply(
          em('badsched', { backup: { schedule: 'every day', destination: { local: { path: backups } } } }),
        )
      ).code,
    ).to.equal(0);
    const bad = await waitFor(
      'ConfigValid=False',
      async () =>
        (await status('badsched'))?.conditions.find((c) => c.type === 'ConfigValid' && c.status === 'False'),
      30_000,
      500,
    );
    expect(bad.reason).to.equal('InvalidSchedule');
    expect(bad.message).to.match(/expected 5 cron fields/);
    await stillProbed('badsched');
    expect(
      (
        await apply(
          em('nos3', {
            backup: { schedule: '@daily', destination: { s3: { bucket: 'etcd', secretName: 'nope' } } },
          }),
        )
      ).code,
    ).to.equal(0);
    const nos3 = await waitFor(
      'ConfigValid=False',
      async () =>
        (await status('nos3'))?.conditions.find((c) => c.type === 'ConfigValid' && c.status === 'False'),
      30_000,
      500,
    );
    expect(nos3).to.include({ reason: 'SecretNotFound' });
    await stillProbed('nos3');
    const both = await apply(
      em('both', {
        backup: {
          schedule: '@daily',
          destination: { local: { path: backups }, s3: { bucket: 'etcd', secretName: 'x' } },
        },
      }),
    );
    expect(both.code).to.not.equal(0);
    expect(both.stderr).to.include('exactly one of local or s3');
  });
});
