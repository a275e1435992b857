/**
 * `etcd-monitor snapshot save|verify` against real etcd 3.4, 3.5 and 3.6: the saved file is what etcd
 * streamed (its trailing SHA-256 checked), written 0600 with nothing left behind; `verify` reads the
 * bbolt file itself and agrees with etcd's own tool (`etcdutl snapshot status` for 3.5/3.6, `etcdctl
 * snapshot status` for 3.4) on revision, key count, size and CRC-32C hash; a damaged file is refused.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { main, type Io } from '../../src/cli/main.js';
import { MemberClient } from '../../src/etcd/grpc.js';
import { parseEndpoint } from '../../src/etcd/endpoints.js';
import { EtcdCluster, etcdVersions } from '../helpers/etcdCluster.js';

const execFileP = promisify(execFile);
const BIN = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../.cache/bin');

interface Captured extends Io {
  stdout: string[];
  stderr: string[];
}

function capture(): Captured {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (s) => stdout.push(s), err: (s) => stderr.push(s), env: {} };
}

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = capture();
  const code = await main(argv, io);
  return { code, out: io.stdout.join('\n'), err: io.stderr.join('\n') };
}

interface EtcdStatus {
  hash: number;
  revision: number;
  totalKey: number;
  totalSize: number;
}

/** etcd's own reading of a snapshot file. */
async function etcdStatus(version: string, file: string): Promise<EtcdStatus> {
  const [cmd, args] =
    version === 'etcd 3.4 (Debian)'
      ? ['etcdctl', ['snapshot', 'status', file, '-w', 'json']]
      : [
          path.join(BIN, version === 'etcd 3.5' ? 'etcdutl-3.5' : 'etcdutl-3.6'),
          ['snapshot', 'status', file, '-w', 'json'],
        ];
  const { stdout } = await execFileP(cmd, args, { env: { ...process.env, ETCDCTL_API: '3' } });
  return JSON.parse(stdout) as EtcdStatus;
}

/** Some history: puts, overwrites and deletes, so revision ≠ key count. */
async function writeHistory(endpoint: string, n: number): Promise<void> {
  const c = new MemberClient(parseEndpoint(endpoint));
  try {
    for (let i = 0; i < n; i++)
      await c.put(Buffer.from(`/snap-test/k${i}`), Buffer.alloc(200, i % 251), 5000);
    for (let i = 0; i < n; i += 3) await c.put(Buffer.from(`/snap-test/k${i}`), Buffer.from('v2'), 5000);
    await c.deletePrefix(Buffer.from('/snap-test/k1'), 5000);
  } finally {
    c.close();
  }
}

describe('snapshot save and verify (real etcd)', function () {
  this.timeout(120_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'etcd-monitor-snap-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const v of etcdVersions()) {
    describe(v.name, () => {
      let cluster: EtcdCluster;
      before(async () => {
        cluster = await EtcdCluster.start({ size: 1, binary: v.binary, etcdctl: v.etcdctl });
        await writeHistory(cluster.endpoints[0]!, 120);
      });
      after(async () => cluster?.stop());

      it('saves a 0600 file that etcd itself reads the same way verify does', async () => {
        const file = path.join(dir, `${v.name.replace(/\W+/g, '-')}.db`);
        const saved = await cli(['snapshot', 'save', file, `--endpoints=${cluster.endpoints[0]}`, '--json']);
        expect(saved.code, saved.err).to.equal(0);
        const s = JSON.parse(saved.out) as {
          sizeBytes: number;
          revision: number;
          totalKey: number;
          sha256: string;
          hash: number;
        };
        const st = fs.statSync(file);
        expect(st.mode & 0o777).to.equal(0o600);
        expect(st.size).to.equal(s.sizeBytes);
        expect(st.size % 512, 'database plus the 32-byte hash').to.equal(32);
        expect(fs.readdirSync(dir).filter((f) => f.includes('.partial'))).to.deep.equal([]);

        const verified = await cli(['snapshot', 'verify', file, '--json']);
        expect(verified.code, verified.err).to.equal(0);
        const r = JSON.parse(verified.out) as {
          ok: boolean;
          hashMatched: boolean;
          revision: number;
          keys: number;
          totalKey: number;
          totalSize: number;
          hash: number;
          sha256: string;
        };
        expect(r.ok).to.equal(true);
        expect(r.hashMatched).to.equal(true);
        expect(r.sha256).to.equal(s.sha256);

        const oracle = await etcdStatus(v.name, file);
        // etcdutl 3.6 counts the live keys; 3.5's etcdutl and 3.4's etcdctl count every bbolt entry.
        const totalKey = v.name === 'etcd 3.6' ? r.keys : r.totalKey;
        expect({ revision: r.revision, totalKey, totalSize: r.totalSize, hash: r.hash }).to.deep.equal({
          revision: oracle.revision,
          totalKey: oracle.totalKey,
          totalSize: oracle.totalSize,
          hash: oracle.hash,
        });
        expect(oracle.revision).to.be.at.least(s.revision);
        expect(oracle.revision).to.be.greaterThan(120);
        // 120 keys written, the 31 named k1… deleted.
        expect(r.keys).to.equal(89);
      });

      it('refuses a damaged file: a flipped byte, a truncated file', async () => {
        const file = path.join(dir, `${v.name.replace(/\W+/g, '-')}-dmg.db`);
        expect((await cli(['snapshot', 'save', file, `--endpoints=${cluster.endpoints[0]}`])).code).to.equal(
          0,
        );
        const good = fs.readFileSync(file);

        const flipped = Buffer.from(good);
        const mid = Math.floor(flipped.length / 2);
        flipped[mid] = flipped[mid]! ^ 0xff;
        fs.writeFileSync(file, flipped);
        const r1 = await cli(['snapshot', 'verify', file]);
        expect(r1.code).to.equal(1);
        expect(r1.err)
          .to.match(/CORRUPT/)
          .and.match(/DOES NOT match the trailing hash/);

        // A damaged meta page: bbolt falls back to the other one; both damaged is fatal. (Meta pages are
        // not covered by etcd's hash check alone here: the file is rewritten without its trailing hash.)
        const noHash = good.subarray(0, good.length - 32);
        const meta0 = Buffer.from(noHash);
        meta0[16 + 40] = meta0[16 + 40]! ^ 0x01;
        fs.writeFileSync(file, meta0);
        const r3 = await cli(['snapshot', 'verify', file]);
        expect(r3.code, r3.err).to.equal(0);
        expect(r3.out)
          .to.match(/no trailing hash/)
          .and.match(/meta page 0: meta checksum mismatch/);
        const both = Buffer.from(meta0);
        const pageSize = both.readUInt32LE(16 + 8);
        both[pageSize + 16 + 40] = both[pageSize + 16 + 40]! ^ 0x01;
        fs.writeFileSync(file, both);
        const r4 = await cli(['snapshot', 'verify', file]);
        expect(r4.code).to.equal(1);
        expect(r4.err).to.match(/no valid meta page/);

        fs.writeFileSync(file, good.subarray(0, good.length - 4096));
        const r2 = await cli(['snapshot', 'verify', file, '--json']);
        expect(r2.code).to.equal(1);
        expect((JSON.parse(r2.out) as { ok: boolean; problem: string }).problem).to.match(
          /truncated|beyond the end|past the end/,
        );
      });
    });
  }

  describe('choosing the member and failing cleanly (etcd 3.5, 3 members)', () => {
    let cluster: EtcdCluster;
    before(async () => {
      const v = etcdVersions().find((x) => x.name === 'etcd 3.5')!;
      cluster = await EtcdCluster.start({ size: 3, binary: v.binary, etcdctl: v.etcdctl });
      await writeHistory(cluster.endpoints[0]!, 20);
    });
    after(async () => cluster?.stop());

    it('streams from a follower by default and from the leader when asked', async () => {
      const leader = cluster.endpoints[await cluster.leaderIndex()]!;
      const f = path.join(dir, 'three.db');
      const byDefault = await cli(['snapshot', 'save', f, `--endpoints=${cluster.endpoints.join(',')}`]);
      expect(byDefault.code, byDefault.err).to.equal(0);
      expect(byDefault.out).to.match(/\(follower\)/);
      expect(byDefault.out).not.to.include(`from      ${leader}`);
      const fromLeader = await cli([
        'snapshot',
        'save',
        f,
        `--endpoints=${cluster.endpoints.join(',')}`,
        '--member=leader',
      ]);
      expect(fromLeader.code, fromLeader.err).to.equal(0);
      expect(fromLeader.out).to.include(`from      ${leader} (leader)`);
    });

    it('leaves no file when the member cannot be reached, and says why', async () => {
      const f = path.join(dir, 'unreachable.db');
      const r = await cli([
        'snapshot',
        'save',
        f,
        '--endpoints=127.0.0.1:1',
        '--idle-timeout=2s',
        '--max-duration=3s',
      ]);
      expect(r.code).to.equal(1);
      expect(r.err)
        .to.match(/snapshot/i)
        .and.match(/UNAVAILABLE|DEADLINE|ECONNREFUSED/);
      expect(fs.existsSync(f)).to.equal(false);
      expect(fs.readdirSync(dir).filter((x) => x.includes('.partial'))).to.deep.equal([]);
    });

    it('exits 2 with usage on bad input', async () => {
      expect((await cli(['snapshot'])).code).to.equal(2);
      expect((await cli(['snapshot', 'save', `--endpoints=${cluster.endpoints[0]}`])).code).to.equal(2);
      expect(
        (await cli(['snapshot', 'save', 'x.db', 'y.db', `--endpoints=${cluster.endpoints[0]}`])).code,
      ).to.equal(2);
      expect(
        (await cli(['snapshot', 'save', 'x.db', `--endpoints=${cluster.endpoints[0]}`, '--member=nobody']))
          .code,
      ).to.equal(2);
      expect((await cli(['snapshot', 'frobnicate'])).code).to.equal(2);
      expect((await cli(['snapshot', 'verify', path.join(dir, 'missing.db')])).code).to.equal(1);
    });
  });
});
