/**
 * The maintenance scheduler driven tick by tick (time passed in) against a real 3-member etcd 3.5 and a
 * local folder: a backup runs when its slot is due and not before, once for many missed slots, reports
 * status, Events and BackupReady; a failing store says why and BackupReady turns False; a defragmentation
 * slot skips with the reason when there is nothing to reclaim.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import type { Writable } from 'node:stream';
import os from 'node:os';
import path from 'node:path';
import { MemberClient } from '../../src/etcd/grpc.js';
import { parseEndpoint } from '../../src/etcd/endpoints.js';
import {
  MaintenanceScheduler,
  type MaintenanceConfig,
  type MaintenanceEvent,
} from '../../src/maintenance/scheduler.js';
import { LocalStore } from '../../src/maintenance/stores.js';
import { EtcdCluster, etcdVersions } from '../helpers/etcdCluster.js';

describe('maintenance scheduler (real etcd 3.5, local folder)', function () {
  this.timeout(120_000);
  let cluster: EtcdCluster;
  let clients: MemberClient[];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'etcd-monitor-maint-'));
  const T0 = new Date('2026-12-01T10:00:00Z');
  const at = (s: number): Date => new Date(T0.getTime() + s * 1000);
  let clock = T0;
  /** A scheduler for ns/main on the test cluster with these parts, its Events into `events`. */
  const scheduler = (
    parts: Pick<MaintenanceConfig, 'backup' | 'defragmentation'>,
    events: MaintenanceEvent[],
    now?: () => Date,
  ): MaintenanceScheduler =>
    new MaintenanceScheduler(
      { cluster: 'ns/main', timeoutMs: 2000, idleTimeoutMs: 10_000, overallTimeoutMs: 60_000, ...parts },
      {
        connect: async () => cluster.endpoints.map((e) => new MemberClient(parseEndpoint(e))),
        onEvent: (e) => events.push(e),
        ...(now ? { now } : {}),
      },
      T0,
    );

  before(async () => {
    const v = etcdVersions().find((x) => x.name === 'etcd 3.5')!;
    cluster = await EtcdCluster.start({ size: 3, binary: v.binary, etcdctl: v.etcdctl });
    clients = cluster.endpoints.map((e) => new MemberClient(parseEndpoint(e)));
    await clients[0]!.put(Buffer.from('/m/k'), Buffer.from('v'), 5000);
  });
  after(async () => {
    for (const c of clients ?? []) c.close();
    await cluster?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('backs up when due, once for missed slots, and reports status, Events and BackupReady', async () => {
    const events: MaintenanceEvent[] = [];
    const s = scheduler(
      {
        backup: {
          schedule: '@every 1m',
          member: 'follower',
          retention: { keep: 3 },
          store: new LocalStore(dir),
        },
      },
      events,
      () => clock,
    );
    expect(s.backupReady(at(1))).to.deep.include({ status: 'Unknown', reason: 'NoBackupYet' });
    s.tick(at(30));
    expect(s.busy).to.equal(undefined);
    expect(s.backup.nextScheduleTime).to.equal(at(60).toISOString());
    clock = at(61);
    s.tick(at(61));
    expect(s.busy).to.equal('backup');
    s.tick(at(62)); // no second run while one is going
    await s.idle();
    expect(events.map((e) => e.reason)).to.deep.equal(['BackupSucceeded']);
    expect(events[0]!.message).to.match(
      /snapshot of revision \d+ from http:\/\/127\.0\.0\.1:\d+ \(follower\)/,
    );
    expect(s.backup).to.include({ lastScheduleTime: at(61).toISOString(), verified: true, retained: 1 });
    expect(s.backup.location).to.match(/ns\/main\/\d{8}T\d{6}Z-r\d+\.db$/);
    expect(fs.existsSync(s.backup.location!)).to.equal(true);
    expect(s.backupReady(at(70))).to.deep.include({ status: 'True', reason: 'BackupSucceeded' });

    // Down for an hour: one run when back, then the next slot a period after it.
    clock = at(3700);
    s.tick(at(3700));
    await s.idle();
    expect(events.filter((e) => e.reason === 'BackupSucceeded')).to.have.length(2);
    expect(s.backup.nextScheduleTime).to.equal(at(3760).toISOString());
    s.tick(at(3710));
    expect(s.busy).to.equal(undefined);
  });

  it('a failing store: BackupFailed with the reason, BackupReady False, a counter by reason; retried at the next slot', async () => {
    const events: MaintenanceEvent[] = [];
    const notADir = path.join(dir, 'file');
    fs.writeFileSync(notADir, 'x');
    const s = scheduler(
      { backup: { schedule: '@every 1m', member: 'any', retention: {}, store: new LocalStore(notADir) } },
      events,
    );
    s.tick(at(61));
    await s.idle();
    expect(events).to.have.length(1);
    expect(events[0]).to.include({ type: 'Warning', reason: 'BackupFailed' });
    expect(events[0]!.message).to.match(/ENOTDIR|not a directory/);
    expect(s.backupReady(at(62))).to.deep.include({ status: 'False', reason: 'BackupFailing' });
    expect([...s.counters.backupFailures.values()].reduce((a, b) => a + b, 0)).to.equal(1);
    // No success for more than two periods: stale wins once the failure is old news? It stays failing.
    expect(s.backupReady(at(600))!.status).to.equal('False');

    // The failed run is retried at the next slot, not at once, and not before.
    // (@every counts from the last run.)
    expect(s.backup.nextScheduleTime).to.equal(at(121).toISOString());
    s.tick(at(62));
    s.tick(at(120));
    expect(s.busy).to.equal(undefined);
    expect(events).to.have.length(1);
    fs.rmSync(notADir);
    fs.mkdirSync(notADir);
    s.tick(at(121));
    await s.idle();
    expect(events.map((e) => e.reason)).to.deep.equal(['BackupFailed', 'BackupSucceeded']);
    expect(s.backupReady(at(122))).to.deep.include({ status: 'True', reason: 'BackupSucceeded' });
    expect(s.backup.lastScheduleTime).to.equal(at(121).toISOString());
  });

  it('stop() (leadership, shard or resource gone) stops a backup mid-stream: nothing stored, no Event, no retention', async () => {
    const events: MaintenanceEvent[] = [];
    const folder = path.join(dir, 'stopped');
    const earlier = path.join(folder, 'ns/main');
    fs.mkdirSync(earlier, { recursive: true });
    // An old verified snapshot that `keep: 1` would remove if retention ran.
    fs.writeFileSync(path.join(earlier, '20200101T000000Z-r1.db'), 'x');
    fs.writeFileSync(path.join(earlier, '20200101T000000Z-r1.db.sha256'), 'x');
    let written = 0;
    /** The folder store, stopping the scheduler once the first bytes of the snapshot are being written. */
    class StopMidStream extends LocalStore {
      override put<T extends { sha256: string }>(
        name: string,
        write: (sink: Writable, localPath?: string) => Promise<T>,
      ): Promise<T> {
        return super.put(name, (sink, tmp) => {
          const real = sink.write.bind(sink) as (c: Buffer) => boolean;
          (sink as { write: (c: Buffer) => boolean }).write = (c: Buffer) => {
            if (written++ === 0) s.stop();
            return real(c);
          };
          return write(sink, tmp);
        });
      }
    }
    const s = scheduler(
      {
        backup: {
          schedule: '@every 1m',
          member: 'any',
          retention: { keep: 1 },
          store: new StopMidStream(folder),
        },
      },
      events,
    );
    s.tick(at(61));
    await s.idle();
    expect(written, 'the stream had begun').to.be.above(0);
    expect(events).to.deep.equal([]);
    expect(fs.readdirSync(earlier).sort()).to.deep.equal([
      '20200101T000000Z-r1.db',
      '20200101T000000Z-r1.db.sha256',
    ]);
    expect(s.busy).to.equal(undefined);
    s.tick(at(200));
    expect(s.busy, 'no run after stop()').to.equal(undefined);
  });

  it('a defragmentation slot with nothing to reclaim is skipped with the reason', async () => {
    const events: MaintenanceEvent[] = [];
    const s = scheduler(
      {
        defragmentation: {
          schedule: '30 3 * * 0',
          minFragmentationPercent: 50,
          minReclaimableBytes: 100 << 20,
          disarmNoSpace: false,
        },
      },
      events,
    );
    s.tick(at(60));
    expect(s.maintenance.nextDefragmentationTime).to.equal('2026-12-06T03:30:00.000Z');
    s.tick(new Date('2026-12-06T03:30:10Z'));
    await s.idle();
    expect(events.map((e) => e.reason)).to.deep.equal(['DefragmentationSkipped']);
    expect(s.maintenance.lastDefragmentationResult).to.include({
      outcome: 'Skipped',
      reason: 'BelowThreshold',
    });
  });
});
