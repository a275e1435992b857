/**
 * README's restore walkthrough, run verbatim: the bash block between the `restore-walkthrough` markers,
 * with every member on loopback (the README's variables overridden from the environment) and
 * `etcd-monitor`, `etcdutl`, `etcd`, `etcdctl` on PATH (our built CLI — `npm test` builds first — and etcd 3.5's tools). The snapshot comes from a
 * real 3-member cluster holding known keys; the restored cluster must serve them.
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
import { freePorts } from '../helpers/ports.js';

const execFileP = promisify(execFile);
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');

function walkthrough(): string {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const m = /<!-- restore-walkthrough -->\s*```bash\n([\s\S]*?)```\s*<!-- \/restore-walkthrough -->/.exec(
    readme,
  );
  if (!m) throw new Error('README.md has no restore-walkthrough block');
  return m[1]!;
}

describe("README's restore walkthrough (real etcd 3.5, 3 members)", function () {
  this.timeout(120_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'etcd-monitor-restore-'));
  const restoreDir = path.join(dir, 'restored');
  let cluster: EtcdCluster;

  after(async () => {
    // Whatever the block started, even when it failed half-way.
    const pids = fs.existsSync(path.join(restoreDir, 'pids'))
      ? fs.readFileSync(path.join(restoreDir, 'pids'), 'utf8').split(/\s+/).filter(Boolean)
      : [];
    for (const p of pids) {
      try {
        process.kill(Number(p), 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    await cluster?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('restores a new 3-member cluster from our snapshot that serves every key', async () => {
    const v = etcdVersions().find((x) => x.name === 'etcd 3.5')!;
    cluster = await EtcdCluster.start({ size: 3, binary: v.binary, etcdctl: v.etcdctl });
    const c = new MemberClient(parseEndpoint(cluster.endpoints[0]!));
    try {
      for (let i = 0; i < 25; i++)
        await c.put(Buffer.from(`/restore/k${String(i).padStart(2, '0')}`), Buffer.from(`v${i}`), 5000);
    } finally {
      c.close();
    }
    const snapshot = path.join(dir, 'backup.db');
    const io: Io = { out: () => undefined, err: (s) => console.error(s), env: {} };
    expect(
      await main(['snapshot', 'save', snapshot, `--endpoints=${cluster.endpoints.join(',')}`], io),
    ).to.equal(0);
    await cluster.stop();

    // The commands the README names, on PATH.
    const bin = path.join(dir, 'bin');
    fs.mkdirSync(bin);
    fs.symlinkSync(path.join(ROOT, '.cache/bin/etcdutl-3.5'), path.join(bin, 'etcdutl'));
    fs.symlinkSync(v.binary, path.join(bin, 'etcd'));
    fs.symlinkSync(v.etcdctl, path.join(bin, 'etcdctl'));
    fs.writeFileSync(
      path.join(bin, 'etcd-monitor'),
      `#!/bin/sh\nexec ${process.execPath} ${path.join(ROOT, 'dist/cli/main.js')} "$@"\n`,
      { mode: 0o755 },
    );
    fs.mkdirSync(restoreDir);
    const [p1, p2, p3, c1, c2, c3] = await freePorts(6);
    const script = `set -euo pipefail\ncd ${JSON.stringify(dir)}\n${walkthrough()}`;
    const { stdout, stderr } = await execFileP('bash', ['-c', script], {
      env: {
        ...process.env,
        PATH: `${bin}:${process.env.PATH}`,
        ETCDCTL_API: '3',
        SNAPSHOT: snapshot,
        RESTORE_DIR: restoreDir,
        PEERS: `http://127.0.0.1:${p1} http://127.0.0.1:${p2} http://127.0.0.1:${p3}`,
        CLIENTS: `http://127.0.0.1:${c1} http://127.0.0.1:${c2} http://127.0.0.1:${c3}`,
      },
      timeout: 90_000,
    }).catch((e: { stdout?: string; stderr?: string; message: string }) => {
      throw new Error(`walkthrough failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
    });
    expect(stdout + stderr).to.match(/is healthy/);
    const keys = stdout.split('\n').filter((l) => l.startsWith('/restore/'));
    expect(keys).to.have.length(25);
    expect(keys[0]).to.equal('/restore/k00');
    // A new cluster: three members, the old cluster's data.
    const { stdout: list } = await execFileP(
      v.etcdctl,
      [`--endpoints=http://127.0.0.1:${c1}`, 'member', 'list'],
      { env: { ...process.env, ETCDCTL_API: '3' } },
    );
    expect(list.trim().split('\n')).to.have.length(3);
  });
});
