/**
 * Backup runs against a real 3-member etcd into a local folder and into a real S3 server (versitygw,
 * credentials checked): a follower is chosen, the object is named <cluster>/<time>-r<rev>.db with a
 * .sha256 beside it, a multipart upload streams a DB larger than a part, retention keeps `keep` and
 * never the newest verified one, wrong credentials and a failed stream leave nothing behind, and the
 * restored snapshot (etcdutl snapshot restore) holds the keys.
 */
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { MemberClient } from '../../src/etcd/grpc.js';
import { parseEndpoint } from '../../src/etcd/endpoints.js';
import { runBackup, type BackupRequest } from '../../src/maintenance/backup.js';
import { verifySnapshotFile } from '../../src/maintenance/snapshot.js';
import { LocalStore, S3Store } from '../../src/maintenance/stores.js';
import { EtcdCluster, etcdVersions } from '../helpers/etcdCluster.js';
import { startTogether } from '../helpers/procs.js';
import { startS3, type TestS3 } from '../helpers/s3.js';

const execFileP = promisify(execFile);
const BIN = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../.cache/bin');

describe('backups to a local folder and to S3 (real etcd 3.5, real S3 server)', function () {
  this.timeout(180_000);
  let cluster: EtcdCluster;
  let s3: TestS3;
  let clients: MemberClient[];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'etcd-monitor-backup-'));
  let clock = new Date('2026-12-01T10:00:00Z');
  const now = (): Date => clock;

  const request = (over: Partial<BackupRequest>): BackupRequest => ({
    cluster: 'prod/main',
    clients,
    member: 'follower',
    store: new LocalStore(dir),
    retention: {},
    timeoutMs: 5000,
    stream: { idleTimeoutMs: 10_000, overallTimeoutMs: 60_000 },
    now,
    ...over,
  });

  before(async () => {
    const v = etcdVersions().find((x) => x.name === 'etcd 3.5')!;
    [cluster, s3] = await startTogether([
      EtcdCluster.start({ size: 3, binary: v.binary, etcdctl: v.etcdctl }),
      startS3(),
    ]);
    clients = cluster.endpoints.map((e) => new MemberClient(parseEndpoint(e)));
    // About 12 MiB of values, so an S3 upload with 5 MiB parts is a real multipart upload.
    const value = Buffer.alloc(200 * 1024, 7);
    for (let i = 0; i < 60; i++) await clients[0]!.put(Buffer.from(`/backup-test/k${i}`), value, 5000);
    await s3.createBucket('etcd');
  });
  after(async () => {
    for (const c of clients ?? []) c.close();
    await Promise.all([cluster?.stop(), s3?.stop()]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('writes a verified snapshot from a follower into the folder, named by time and revision', async () => {
    const out = await runBackup(request({}));
    const leader = cluster.endpoints[await cluster.leaderIndex()];
    expect(out.role).to.equal('follower');
    expect(out.endpoint).not.to.equal(leader);
    expect(out.name).to.match(/^prod\/main\/20261201T100000Z-r\d+\.db$/);
    const file = path.join(dir, out.name);
    expect(out.location).to.equal(file);
    expect(fs.statSync(file).mode & 0o777).to.equal(0o600);
    expect(fs.readFileSync(`${file}.sha256`, 'utf8')).to.equal(`${out.sha256}  ${path.basename(file)}\n`);
    const v = await verifySnapshotFile(file);
    expect(v.problem).to.equal(undefined);
    expect(v.summary!.revision).to.be.at.least(out.revision);
    expect(v.summary!.liveKeys).to.equal(60);
  });

  it('keeps `keep` snapshots and never deletes the newest verified one', async () => {
    const store = new LocalStore(dir);
    for (let i = 1; i <= 3; i++) {
      clock = new Date(clock.getTime() + 3600_000);
      const out = await runBackup(request({ store, retention: { keep: 2 } }));
      expect(out.retained).to.equal(Math.min(2, i + 1));
    }
    const left = (await store.list('prod/main')).map((o) => path.basename(o.name)).sort();
    expect(left).to.have.length(2);
    expect(left[1]).to.match(/^20261201T130000Z/);
    // maxAge far shorter than the newest snapshot's age: the newest verified one stays anyway.
    clock = new Date(clock.getTime() + 30 * 86400_000);
    const plan = await store.list('prod/main');
    const { retentionPlan } = await import('../../src/maintenance/retention.js');
    const r = retentionPlan(plan, { maxAgeMs: 3600_000 }, clock);
    expect(r.keep.map((o) => path.basename(o.name))).to.deep.equal([left[1]]);
  });

  it('streams into S3 as a multipart upload and lists, verifies and prunes there', async () => {
    const creds = { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey };
    const store = new S3Store({
      endpoint: s3.endpoint,
      bucket: 'etcd',
      prefix: 'backups/',
      credentials: async () => creds,
      partSizeBytes: 5 << 20,
    });
    try {
      const names: string[] = [];
      for (let i = 0; i < 3; i++) {
        clock = new Date(clock.getTime() + 3600_000);
        const out = await runBackup(request({ store, retention: { keep: 2 } }));
        expect(out.location).to.equal(`s3://etcd/backups/${out.name}`);
        expect(out.sizeBytes).to.be.greaterThan(10 << 20);
        names.push(out.name);
      }
      const c = s3.client();
      try {
        const listed = await c.send(
          new ListObjectsV2Command({ Bucket: 'etcd', Prefix: 'backups/prod/main/' }),
        );
        const keys = (listed.Contents ?? []).map((o) => o.Key).sort();
        expect(keys).to.deep.equal(
          [
            `backups/${names[1]}`,
            `backups/${names[1]}.sha256`,
            `backups/${names[2]}`,
            `backups/${names[2]}.sha256`,
          ].sort(),
        );
        // What S3 holds is what etcd sent: download it and check it like a file.
        const got = await c.send(new GetObjectCommand({ Bucket: 'etcd', Key: `backups/${names[2]}` }));
        const bytes = Buffer.from(await got.Body!.transformToByteArray());
        const local = path.join(dir, 'from-s3.db');
        fs.writeFileSync(local, bytes);
        const v = await verifySnapshotFile(local);
        expect(v.problem).to.equal(undefined);
        expect(v.summary!.liveKeys).to.equal(60);
        // The store's own streamed download (used by the restore test) gives the same, and cleans up.
        let copy = '';
        const v2 = await store.withLocalCopy(names[2]!, async (f) => {
          copy = f;
          return verifySnapshotFile(f);
        });
        expect(v2.sha256).to.equal(v.sha256);
        expect(fs.existsSync(copy)).to.equal(false);
        const sha = await c.send(new GetObjectCommand({ Bucket: 'etcd', Key: `backups/${names[2]}.sha256` }));
        expect(await sha.Body!.transformToString()).to.equal(
          `${createHash('sha256')
            .update(bytes.subarray(0, bytes.length - 32))
            .digest('hex')}  ${path.basename(names[2]!)}\n`,
        );
      } finally {
        c.destroy();
      }
    } finally {
      store.close();
    }
  });

  it('says why with wrong credentials, picks rotated ones up without a restart, and leaves no object after a failed stream', async () => {
    let creds = { accessKeyId: s3.accessKeyId, secretAccessKey: 'wrong' };
    const store = new S3Store({
      endpoint: s3.endpoint,
      bucket: 'etcd',
      prefix: 'rot/',
      credentials: async () => creds,
      partSizeBytes: 5 << 20,
    });
    try {
      clock = new Date(clock.getTime() + 3600_000);
      const err = await runBackup(request({ store })).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(err?.message).to.match(/SignatureDoesNotMatch|InvalidAccessKeyId|AccessDenied/);
      expect(err?.message).not.to.include('wrong');
      creds = { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey };
      const ok = await runBackup(request({ store }));
      expect(ok.location).to.match(/^s3:\/\/etcd\/rot\/prod\/main\//);
      // A stream that fails half-way (more than one part already sent) leaves nothing in the bucket.
      const before = (await store.list('prod/main')).length;
      await store
        .put('prod/main/20300101T000000Z-r1.db', async (sink) => {
          sink.write(Buffer.alloc(6 << 20));
          throw new Error('stream broke');
        })
        .then(
          () => expect.fail('put should fail'),
          (e: unknown) => expect((e as Error).message).to.equal('stream broke'),
        );
      expect((await store.list('prod/main')).length).to.equal(before);
    } finally {
      store.close();
    }
  });

  it('restores with etcdutl snapshot restore into a new member that holds the keys', async () => {
    const out = await runBackup(request({ store: new LocalStore(dir) }));
    const file = path.join(dir, out.name);
    const restored = path.join(dir, 'restored');
    await execFileP(path.join(BIN, 'etcdutl-3.5'), [
      'snapshot',
      'restore',
      file,
      '--name=r1',
      `--data-dir=${restored}`,
      '--initial-cluster=r1=http://127.0.0.1:1',
      '--initial-advertise-peer-urls=http://127.0.0.1:1',
    ]);
    expect(fs.existsSync(path.join(restored, 'member/snap/db'))).to.equal(true);
    const v = await verifySnapshotFile(path.join(restored, 'member/snap/db'));
    expect(v.problem).to.equal(undefined);
    expect(v.hashMatched).to.equal(undefined);
    expect(v.summary!.liveKeys).to.equal(60);
  });
});
