/**
 * Scheduled backups in standalone mode, end to end against a real 3-member etcd: the --backup-* flags,
 * snapshots landing in the folder on schedule with retention, status.backup and BackupReady in the API,
 * the etcd_backup_* series on /metrics, a restart picking up the newest backup from the folder, and bad
 * flags refused with usage.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { main, type Io } from '../../src/cli/main.js';
import {
  MONITOR_FLAGS,
  monitorConfig,
  startStandalone,
  type StandaloneApp,
} from '../../src/cli/monitorCommand.js';
import { parseFlags } from '../../src/cli/args.js';
import { createLogger } from '../../src/log.js';
import type { EtcdMonitorStatus } from '../../src/crd/types.js';
import { EtcdCluster, etcdVersions } from '../helpers/etcdCluster.js';
import { getJson } from '../helpers/monitor.js';
import { waitFor } from '../helpers/procs.js';

describe('scheduled backups, standalone (real etcd 3.5)', function () {
  this.timeout(120_000);
  let cluster: EtcdCluster;
  let app: StandaloneApp | undefined;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'etcd-monitor-sbackup-'));
  const start = async (extra: string[], env: NodeJS.ProcessEnv = {}): Promise<StandaloneApp> => {
    const v = parseFlags(
      [
        `--endpoints=${cluster.endpoints.join(',')}`,
        '--interval=1s',
        '--api-host=127.0.0.1',
        '--api-port=0',
        '--cluster-name=demo',
        ...extra,
      ],
      MONITOR_FLAGS,
    );
    const { conn, cfg } = monitorConfig(v, env);
    return startStandalone(conn, cfg, { metrics: true, writeProbe: false }, createLogger('error', 'json'));
  };

  before(async () => {
    const v = etcdVersions().find((x) => x.name === 'etcd 3.5')!;
    cluster = await EtcdCluster.start({ size: 3, binary: v.binary, etcdctl: v.etcdctl });
    for (let i = 0; i < 7; i++) await cluster.etcdctl(['put', `/standalone/k${i}`, 'v']);
  });
  after(async () => {
    await app?.stop();
    await cluster?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('backs up on schedule with retention and shows it in the status, the conditions and /metrics', async () => {
    app = await start(['--backup-schedule=@every 2s', `--backup-dir=${dir}`, '--backup-keep=2']);
    const status = async (): Promise<EtcdMonitorStatus> =>
      (await getJson(`${app!.url}/api/v1/cluster/status`)).body as EtcdMonitorStatus;
    await waitFor(
      'three backups taken',
      async () =>
        (await status()).backup?.retained === 2 && fs.readdirSync(path.join(dir, 'demo')).length >= 4
          ? true
          : undefined,
      30_000,
      250,
    );
    await waitFor(
      'more runs than kept',
      async () =>
        fs.readdirSync(path.join(dir, 'demo')).filter((f) => f.endsWith('.db')).length === 2 &&
        (await status()).backup?.lastScheduleTime !== undefined,
      10_000,
      250,
    );
    const s = await status();
    expect(s.backup).to.include({ verified: true, retained: 2 });
    expect(s.backup!.location).to.match(/demo\/\d{8}T\d{6}Z-r\d+\.db$/);
    expect(s.backup!.sha256).to.match(/^[0-9a-f]{64}$/);
    const ready = s.conditions.find((c) => c.type === 'BackupReady');
    expect(ready).to.include({ status: 'True', reason: 'BackupSucceeded' });
    expect(s.phase).to.equal('Healthy');
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    for (const name of [
      'etcd_backup_last_success_timestamp_seconds',
      'etcd_backup_last_size_bytes',
      'etcd_backup_last_revision',
      'etcd_backup_retained_snapshots',
      'etcd_backup_schedule_period_seconds',
      'etcd_backup_duration_seconds_count',
    ]) {
      expect(metrics).to.match(new RegExp(`^${name}\\{cluster="demo"\\} [0-9.e+]+$`, 'm'));
    }
    expect(metrics).to.match(/^etcd_backup_failures_total\{cluster="demo",reason="Unavailable"\} 0$/m);
    expect(metrics).to.match(/^etcd_backup_schedule_period_seconds\{cluster="demo"\} 2$/m);
    await app.stop();
    app = undefined;
  });

  it('picks up the newest backup from the folder after a restart', async () => {
    app = await start(['--backup-schedule=@daily', `--backup-dir=${dir}`]);
    await waitFor(
      'first round',
      async () => ((await getJson(`${app!.url}/api/v1/cluster/status`)).status === 200 ? true : undefined),
      10_000,
      100,
    );
    const s = (await getJson(`${app.url}/api/v1/cluster/status`)).body as EtcdMonitorStatus;
    expect(s.backup?.lastSuccessTime).to.be.a('string');
    expect(s.backup?.location).to.match(/demo\/\d{8}T\d{6}Z-r\d+\.db$/);
    expect(s.conditions.find((c) => c.type === 'BackupReady')).to.include({ status: 'True' });
    await app.stop();
    app = undefined;
  });

  it('restore-tests each snapshot in a scratch etcd (--backup-restore-test) and counts its keys', async () => {
    const bin = path.join(dir, 'bin');
    fs.mkdirSync(bin, { recursive: true });
    const tools = path.resolve('.cache/bin');
    fs.symlinkSync(path.join(tools, 'etcd-3.5'), path.join(bin, 'etcd'));
    fs.symlinkSync(path.join(tools, 'etcdutl-3.5'), path.join(bin, 'etcdutl'));
    app = await start(
      ['--backup-schedule=@every 2s', `--backup-dir=${path.join(dir, 'rt')}`, '--backup-restore-test'],
      { PATH: bin },
    );
    const s = await waitFor(
      'a restore-tested backup',
      async () =>
        ((await getJson(`${app!.url}/api/v1/cluster/status`)).body as EtcdMonitorStatus).backup
          ?.restoreTest ?? undefined,
      30_000,
      250,
    );
    // The seven keys written before, counted in the restored member.
    expect(s.keys).to.equal(7);
    expect(Date.parse(s.time)).to.be.greaterThan(0);
    await app.stop();
    app = undefined;
    expect(() =>
      monitorConfig(
        parseFlags(
          [
            `--endpoints=${cluster.endpoints[0]}`,
            '--backup-schedule=@daily',
            '--backup-dir=/tmp/x',
            '--backup-restore-test',
          ],
          MONITOR_FLAGS,
        ),
        { PATH: '/nonexistent' },
      ),
    ).to.throw(/needs etcd and etcdutl/);
  });

  it('refuses half or wrong backup flags with usage (exit 2)', async () => {
    const io: Io & { errs: string[] } = {
      errs: [],
      out: () => undefined,
      err: (x) => io.errs.push(x),
      env: {},
    };
    const ep = `--endpoints=${cluster.endpoints[0]}`;
    expect(await main(['monitor', ep, '--backup-dir=/tmp/x'], io)).to.equal(2);
    expect(io.errs.join('\n')).to.include('--backup-dir needs --backup-schedule');
    expect(await main(['monitor', ep, '--backup-schedule=@every 1m'], io)).to.equal(2);
    expect(io.errs.join('\n')).to.include('exactly one destination');
    expect(await main(['monitor', ep, '--backup-schedule=* * *', '--backup-dir=/tmp/x'], io)).to.equal(2);
    expect(io.errs.join('\n')).to.include('expected 5 cron fields');
  });
});
