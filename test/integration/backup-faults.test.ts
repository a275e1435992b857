/**
 * Backups under real faults, against a real 3-member etcd 3.5 holding ~40 MiB and a real S3 server
 * (versitygw): the member streaming the snapshot is SIGKILLed half-way; the local volume (a tmpfs of its
 * own) fills up; the bucket does not exist; the process uploading is SIGKILLed in the middle of a
 * multipart upload. In each case nothing partial counts as a backup, what was there stays, the error
 * says why without a secret in it, and the next run succeeds.
 */
import { ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MemberClient } from '../../src/etcd/grpc.js';
import { parseEndpoint } from '../../src/etcd/endpoints.js';
import { runBackup, type BackupRequest } from '../../src/maintenance/backup.js';
import { verifySnapshotFile } from '../../src/maintenance/snapshot.js';
import { LocalStore, S3Store } from '../../src/maintenance/stores.js';
import { EtcdCluster, etcdVersions } from '../helpers/etcdCluster.js';
import { startProcess, startTogether, stopProcess, waitFor } from '../helpers/procs.js';
import { startS3, type TestS3 } from '../helpers/s3.js';

const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const DB_MIB = 40;

describe('backups under faults (real etcd 3.5, real S3 server)', function () {
  this.timeout(180_000);
  let cluster: EtcdCluster;
  let s3: TestS3;
  let clients: MemberClient[];
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'etcd-monitor-backup-faults-'));
  let clock = new Date('2026-12-01T10:00:00Z');
  const tick = (): Date => (clock = new Date(clock.getTime() + 3600_000));

  const request = (over: Partial<BackupRequest>): BackupRequest => ({
    cluster: 'prod/main',
    clients,
    member: 'follower',
    store: new LocalStore(path.join(root, 'local')),
    retention: { keep: 5 },
    timeoutMs: 2000,
    stream: { idleTimeoutMs: 5000, overallTimeoutMs: 60_000 },
    now: () => clock,
    ...over,
  });
  const failure = (p: Promise<unknown>): Promise<Error | undefined> =>
    p.then(
      () => undefined,
      (e: unknown) => e as Error,
    );
  /** Every file under a folder, hidden ones (a temporary `.…partial-…`) included. */
  const filesUnder = (dir: string): string[] =>
    fs.existsSync(dir) ? (fs.readdirSync(dir, { recursive: true }) as string[]).sort() : [];

  before(async () => {
    const v = etcdVersions().find((x) => x.name === 'etcd 3.5')!;
    [cluster, s3] = await startTogether([
      EtcdCluster.start({ size: 3, binary: v.binary, etcdctl: v.etcdctl }),
      startS3(),
    ]);
    clients = cluster.endpoints.map((e) => new MemberClient(parseEndpoint(e)));
    // Bigger than what can be in flight (HTTP/2 window + socket buffers), so a kill half-way stops the stream.
    const value = Buffer.alloc(200 * 1024, 9);
    for (let i = 0; i < DB_MIB * 5; i++) await clients[0]!.put(Buffer.from(`/faults/k${i}`), value, 5000);
    await s3.createBucket('etcd');
  });
  after(async () => {
    for (const c of clients ?? []) c.close();
    await Promise.all([cluster?.stop(), s3?.stop()]);
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('the member dies mid-stream: no partial file, the earlier snapshot intact, the next run takes another member', async () => {
    const store = new LocalStore(path.join(root, 'local'));
    const first = await runBackup(request({ store }));
    const files = filesUnder(store.root);
    expect(files.filter((f) => f.endsWith('.db'))).to.have.length(1);

    tick();
    const source = cluster.endpoints.indexOf(first.endpoint);
    const streamed: number[] = [];
    let killed = false;
    const err = await failure(
      runBackup(
        request({
          store,
          member: 'any',
          clients: [clients[source]!, ...clients.filter((_, i) => i !== source)],
          stream: {
            idleTimeoutMs: 5000,
            overallTimeoutMs: 60_000,
            onProgress: (received) => {
              if (!killed && received >= 4 << 20) {
                killed = true;
                process.kill(cluster.pid(source)!, 'SIGKILL');
              }
              streamed.push(received);
            },
          },
        }),
      ),
    );
    expect(err, 'the run must fail').to.be.instanceOf(Error);
    expect(err!.message).to.include(`maintenance.snapshot ${cluster.endpoints[source]}: UNAVAILABLE`);
    expect(streamed.at(-1)).to.be.below(DB_MIB << 20);
    expect(filesUnder(store.root), 'nothing new, no temporary file').to.deep.equal(files);
    const earlier = await verifySnapshotFile(store.url(first.name));
    expect(earlier.problem).to.equal(undefined);
    expect(earlier.hashMatched).to.equal(true);

    // The next slot: the dead member answers no Status, so a live one streams the snapshot.
    await cluster.waitHealthy(
      20_000,
      [0, 1, 2].filter((i) => i !== source),
    );
    tick();
    const next = await runBackup(request({ store, member: 'any' }));
    expect(next.endpoint).not.to.equal(cluster.endpoints[source]);
    expect(next.sizeBytes).to.be.above(DB_MIB << 20);
    expect((await store.list('prod/main')).filter((o) => o.verified)).to.have.length(2);
    cluster.restart(source);
    await cluster.waitHealthy(30_000);
  });

  it('the local volume fills up: the temporary file is removed, the snapshot already there untouched', async () => {
    const mnt = path.join(root, 'small-volume');
    fs.mkdirSync(mnt);
    // Room for one snapshot, not two.
    const dbBytes = (await clients[0]!.status(2000)).dbSizeBytes;
    const sizeMiB = Math.ceil((dbBytes * 1.5) / (1 << 20));
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m,mode=0700`, 'tmpfs', mnt]);
    try {
      const store = new LocalStore(mnt);
      const first = await runBackup(request({ store, retention: { keep: 1 } }));
      const files = filesUnder(mnt);
      tick();
      const err = await failure(runBackup(request({ store, retention: { keep: 1 } })));
      expect(err?.message).to.match(
        /^cannot write .*\/prod\/main\/\d{8}T\d{6}Z-r\d+\.db: ENOSPC: no space left on device.*the partial file was removed/,
      );
      expect(filesUnder(mnt), 'the partial file is gone, retention did not run').to.deep.equal(files);
      expect((await verifySnapshotFile(store.url(first.name))).problem).to.equal(undefined);
      const df = execFileSync('df', ['--output=used', '-B1', mnt], { encoding: 'utf8' });
      expect(Number(df.trim().split('\n')[1])).to.be.below(dbBytes + (1 << 20));
    } finally {
      execFileSync('umount', [mnt]);
    }
  });

  it('a missing bucket: the error names the bucket and S3’s code, no credential in it', async () => {
    const store = new S3Store({
      endpoint: s3.endpoint,
      bucket: 'no-such-bucket',
      credentials: async () => ({ accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey }),
      partSizeBytes: 5 << 20,
    });
    try {
      tick();
      const err = await failure(runBackup(request({ store })));
      expect(err?.message).to.match(/s3:\/\/no-such-bucket\/.* failed: NoSuchBucket \(HTTP 404\)/);
      expect(err?.message).not.to.include(s3.secretAccessKey);
      expect(err?.message).not.to.include(s3.accessKeyId);
    } finally {
      store.close();
    }
  });

  it('the process is killed in the middle of a multipart upload: no object listed; the standby’s next run succeeds', async () => {
    const env = {
      ...process.env,
      ETCD_MONITOR_BACKUP_S3_ACCESS_KEY_ID: s3.accessKeyId,
      ETCD_MONITOR_BACKUP_S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
    };
    const monitor = (name: string): ChildProcess =>
      startProcess(
        process.execPath,
        [
          '--import',
          'tsx',
          'src/cli/main.ts',
          'monitor',
          `--endpoints=${cluster.endpoints.join(',')}`,
          '--interval=1s',
          '--api-host=127.0.0.1',
          '--api-port=0',
          '--cluster-name=killed',
          '--backup-schedule=@every 2s',
          `--backup-s3-endpoint=${s3.endpoint}`,
          '--backup-s3-bucket=etcd',
          '--backup-s3-prefix=mid/',
          '--log-level=info',
        ],
        { cwd: REPO, env, logFile: path.join(root, `${name}.log`) },
      );
    const store = new S3Store({
      endpoint: s3.endpoint,
      bucket: 'etcd',
      prefix: 'mid/',
      credentials: async () => ({ accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey }),
      partSizeBytes: 5 << 20,
    });
    const c = s3.client();
    const uploads = async (): Promise<number> =>
      (await c.send(new ListMultipartUploadsCommand({ Bucket: 'etcd', Prefix: 'mid/' }))).Uploads?.length ??
      0;
    let standby: ChildProcess | undefined;
    const active = monitor('active');
    try {
      // SIGKILL as soon as a multipart upload exists: parts are going up, none is completed.
      await waitFor('a multipart upload in progress', async () => (await uploads()) > 0, 60_000, 10);
      active.kill('SIGKILL');
      await new Promise((r) =>
        active.exitCode !== null || active.signalCode ? r(0) : active.once('exit', r),
      );
      expect(await store.list('killed'), 'the half-uploaded snapshot is not a backup').to.deep.equal([]);

      standby = monitor('standby');
      await waitFor(
        'the standby’s backup listed',
        async () => (await store.list('killed')).some((o) => o.verified),
        60_000,
        200,
      );
      const [object] = await store.list('killed');
      const check = await store.withLocalCopy(object!.name, (f) => verifySnapshotFile(f));
      expect(check.problem).to.equal(undefined);
      expect(check.fileBytes).to.be.above(DB_MIB << 20);
      for (const name of ['active', 'standby']) {
        const log = fs.readFileSync(path.join(root, `${name}.log`), 'utf8');
        expect(log, `${name}'s log`).not.to.include(s3.secretAccessKey);
      }
    } finally {
      active.kill('SIGKILL');
      if (standby) await stopProcess(standby);
      c.destroy();
      store.close();
    }
  });
});
