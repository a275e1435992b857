/**
 * The strongest check of a backup: restore it into a scratch, single-member etcd and count its keys.
 * The scheduler asks a RestoreTester; this file holds the in-process one, which uses the `etcdutl`
 * (3.5+; `etcdctl` for 3.4) and `etcd` binaries given (standalone: found on PATH), on loopback ports of
 * its own, in a temporary folder removed afterwards; the scratch member is always stopped, even when the
 * test fails. (The operator's other one runs the same steps as a Kubernetes Job: controller/restoreJob.ts.)
 * Nothing touches the monitored cluster.
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseEndpoint } from '../etcd/endpoints.js';
import type { SnapshotStore } from './stores.js';

const execFileP = promisify(execFile);

export interface RestoreTools {
  /** etcdutl (or a 3.4 etcdctl, which has `snapshot restore` too). */
  restore: string;
  etcd: string;
}

export interface RestoreTestResult {
  keys: number;
  revision: number;
  durationSeconds: number;
}

/** A stored, verified snapshot to restore-test: its object name in the store it was written to. */
export interface SnapshotRef {
  name: string;
  /** status.backup.location of it (no credentials). */
  location: string;
  sizeBytes?: number;
  store: SnapshotStore;
}

/** Restores a stored snapshot into a scratch etcd and counts its keys; rejects with a readable reason. */
export interface RestoreTester {
  test(snapshot: SnapshotRef): Promise<RestoreTestResult>;
}

/** In this process, with etcd and etcdutl binaries (a local copy of an S3 object is made for it). */
export class InProcessRestoreTester implements RestoreTester {
  constructor(
    private readonly tools: RestoreTools,
    private readonly timeoutMs = 60_000,
  ) {}

  test(snapshot: SnapshotRef): Promise<RestoreTestResult> {
    return snapshot.store.withLocalCopy(snapshot.name, (file) =>
      restoreTest(file, this.tools, this.timeoutMs),
    );
  }
}

/** Fails every run with `why` (verify.restoreTest asked for, nothing to run it with). */
export class UnavailableRestoreTester implements RestoreTester {
  constructor(private readonly why: string) {}

  test(): Promise<RestoreTestResult> {
    return Promise.reject(new Error(this.why));
  }
}

/** Find the tools on PATH (etcdutl preferred, etcdctl as the 3.4 fallback); undefined when missing. */
export function findRestoreTools(env: NodeJS.ProcessEnv = process.env): RestoreTools | undefined {
  const dirs = (env.PATH ?? '').split(':').filter(Boolean);
  const find = (name: string): string | undefined =>
    dirs.map((d) => path.join(d, name)).find((p) => fs.existsSync(p));
  const etcd = find('etcd');
  const restore = find('etcdutl') ?? find('etcdctl');
  return etcd && restore ? { etcd, restore } : undefined;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export async function restoreTest(
  file: string,
  tools: RestoreTools,
  timeoutMs = 60_000,
): Promise<RestoreTestResult> {
  const started = Date.now();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'etcd-monitor-restore-test-'));
  const [peer, client] = [await freePort(), await freePort()];
  const peerUrl = `http://127.0.0.1:${peer}`;
  const clientUrl = `http://127.0.0.1:${client}`;
  const data = path.join(dir, 'data');
  let proc: ReturnType<typeof spawn> | undefined;
  try {
    await execFileP(
      tools.restore,
      [
        'snapshot',
        'restore',
        file,
        '--name=restore-test',
        `--data-dir=${data}`,
        `--initial-cluster=restore-test=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
      ],
      { env: { ...process.env, ETCDCTL_API: '3' }, timeout: timeoutMs },
    ).catch((e: { stderr?: string; message: string }) => {
      throw new Error(
        `restore of ${path.basename(file)} failed: ${(e.stderr || e.message).trim().split('\n').slice(-1)[0]}`,
      );
    });
    proc = spawn(
      tools.etcd,
      [
        '--name=restore-test',
        `--data-dir=${data}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--listen-client-urls=${clientUrl}`,
        `--advertise-client-urls=${clientUrl}`,
        '--log-level=error',
      ],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    proc.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    // grpc-js is loaded only when a restore test runs (a monitor that never runs one never loads it).
    const { MemberClient } = await import('../etcd/grpc.js');
    const c = new MemberClient(parseEndpoint(clientUrl));
    try {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        try {
          return { ...(await c.countKeys(2000)), durationSeconds: (Date.now() - started) / 1000 };
        } catch (e) {
          if (proc.exitCode !== null)
            throw new Error(
              `the scratch etcd exited (${proc.exitCode}): ${stderr.trim().split('\n').slice(-1)[0] ?? ''}`,
            );
          if (Date.now() > deadline)
            throw new Error(
              `the scratch etcd did not answer within ${timeoutMs / 1000}s: ${(e as Error).message}`,
            );
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    } finally {
      c.close();
    }
  } finally {
    if (proc && proc.exitCode === null) {
      const exited = new Promise((r) => proc!.once('exit', r));
      proc.kill('SIGKILL');
      await exited;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
