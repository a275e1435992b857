/**
 * A real etcd cluster on loopback for tests and the demo: N members, each its own process and data dir.
 * Members can be killed, frozen (SIGSTOP), thawed and restarted.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { MemberClient } from '../../src/etcd/grpc.js';
import { parseEndpoint } from '../../src/etcd/endpoints.js';
import { freePorts } from './ports.js';
import { startProcess, stopProcess, waitFor } from './procs.js';

const execFileP = promisify(execFile);

export interface EtcdTls {
  /** Server certificate and key for every member (SANs must cover 127.0.0.1 and localhost). */
  certFile: string;
  keyFile: string;
  caFile: string;
  /** Require client certificates signed by caFile. */
  clientCertAuth: boolean;
}

export interface EtcdClusterOptions {
  size?: number;
  /** Client ports; default: free ports. The demo uses the guide's 2379/22379/32379. */
  clientPorts?: number[];
  peerPorts?: number[];
  binary?: string;
  /** etcdctl matching the server (default $ETCDCTL_BIN or etcdctl on PATH). */
  etcdctl?: string;
  quotaBackendBytes?: number;
  tls?: EtcdTls;
  dataRoot?: string;
  /** --metrics=extensive so members export grpc_server_handling_seconds (default true). */
  extensiveMetrics?: boolean;
  namePrefix?: string;
}

export interface EtcdMemberProc {
  name: string;
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
  logFile: string;
  proc?: ChildProcess;
  args: string[];
}

export function etcdBinary(): string {
  return process.env.ETCD_BIN ?? 'etcd';
}

export function etcdctlBinary(): string {
  return process.env.ETCDCTL_BIN ?? 'etcdctl';
}

export interface EtcdVersion {
  name: string;
  binary: string;
  etcdctl: string;
}

/**
 * The etcd releases the suite runs against: Debian's etcd-server (3.4) and the 3.5/3.6 builds from Go
 * modules in .cache/bin (scripts/build-tools.sh). The built ones are required: a missing one fails.
 */
export function etcdVersions(): EtcdVersion[] {
  const bin = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../.cache/bin');
  return [
    { name: 'etcd 3.4 (Debian)', binary: 'etcd', etcdctl: 'etcdctl' },
    { name: 'etcd 3.5', binary: path.join(bin, 'etcd-3.5'), etcdctl: path.join(bin, 'etcdctl-3.5') },
    { name: 'etcd 3.6', binary: path.join(bin, 'etcd-3.6'), etcdctl: path.join(bin, 'etcdctl-3.6') },
  ];
}

export class EtcdCluster {
  private constructor(
    readonly members: EtcdMemberProc[],
    readonly binary: string,
    readonly dataRoot: string,
    readonly tls: EtcdTls | undefined,
    private readonly ownRoot: boolean,
    readonly etcdctlPath: string,
  ) {}

  get endpoints(): string[] {
    return this.members.map((m) => m.clientUrl);
  }

  static async start(opts: EtcdClusterOptions = {}): Promise<EtcdCluster> {
    const size = opts.size ?? 3;
    const binary = opts.binary ?? etcdBinary();
    const ownRoot = !opts.dataRoot;
    const root = opts.dataRoot ?? fs.mkdtempSync(path.join(os.tmpdir(), 'etcd-monitor-test-'));
    fs.mkdirSync(root, { recursive: true });
    const clientPorts = opts.clientPorts ?? (await freePorts(size));
    const peerPorts = opts.peerPorts ?? (await freePorts(size));
    const scheme = opts.tls ? 'https' : 'http';
    const prefix = opts.namePrefix ?? 'etcd';
    const members: EtcdMemberProc[] = [];
    for (let i = 0; i < size; i++) {
      const name = `${prefix}${i + 1}`;
      members.push({
        name,
        clientUrl: `${scheme}://127.0.0.1:${clientPorts[i]}`,
        peerUrl: `http://127.0.0.1:${peerPorts[i]}`,
        dataDir: path.join(root, name),
        logFile: path.join(root, `${name}.log`),
        args: [],
      });
    }
    const initialCluster = members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
    const token = `tok-${process.pid}-${Date.now()}`;
    for (const m of members) {
      m.args = [
        `--name=${m.name}`,
        `--data-dir=${m.dataDir}`,
        `--listen-client-urls=${m.clientUrl}`,
        `--advertise-client-urls=${m.clientUrl}`,
        `--listen-peer-urls=${m.peerUrl}`,
        `--initial-advertise-peer-urls=${m.peerUrl}`,
        `--initial-cluster=${initialCluster}`,
        `--initial-cluster-token=${token}`,
        '--initial-cluster-state=new',
        '--heartbeat-interval=50',
        '--election-timeout=500',
        '--logger=zap',
        '--log-level=warn',
      ];
      if (opts.extensiveMetrics !== false) m.args.push('--metrics=extensive');
      if (opts.quotaBackendBytes) m.args.push(`--quota-backend-bytes=${opts.quotaBackendBytes}`);
      if (opts.tls) {
        m.args.push(
          `--cert-file=${opts.tls.certFile}`,
          `--key-file=${opts.tls.keyFile}`,
          `--trusted-ca-file=${opts.tls.caFile}`,
        );
        if (opts.tls.clientCertAuth) m.args.push('--client-cert-auth');
      }
    }
    const cluster = new EtcdCluster(
      members,
      binary,
      root,
      opts.tls,
      ownRoot,
      opts.etcdctl ?? etcdctlBinary(),
    );
    try {
      for (let i = 0; i < size; i++) cluster.spawn(i);
      await cluster.waitHealthy(30_000);
    } catch (e) {
      const logs = members.map((m) => `--- ${m.name}\n${tail(m.logFile)}`).join('\n');
      await cluster.stop();
      throw new Error(`etcd cluster did not start: ${(e as Error).message}\n${logs}`);
    }
    return cluster;
  }

  private spawn(i: number): void {
    const m = this.members[i]!;
    m.proc = startProcess(this.binary, m.args, {
      logFile: m.logFile,
      env: { ...process.env, ETCD_UNSUPPORTED_ARCH: process.env.ETCD_UNSUPPORTED_ARCH ?? '' },
    });
  }

  private client(i: number): MemberClient {
    const m = this.members[i]!;
    const tls = this.tls
      ? {
          ca: fs.readFileSync(this.tls.caFile),
          cert: this.tls.clientCertAuth ? fs.readFileSync(this.tls.certFile) : undefined,
          key: this.tls.clientCertAuth ? fs.readFileSync(this.tls.keyFile) : undefined,
        }
      : undefined;
    return new MemberClient(parseEndpoint(m.clientUrl), tls ? { tls } : {});
  }

  /** Wait until every running member answers Status and they agree on a leader. */
  async waitHealthy(timeoutMs: number, indexes?: number[]): Promise<void> {
    const idx = indexes ?? this.members.map((_, i) => i).filter((i) => this.isRunning(i));
    await waitFor(
      'all members healthy with one leader',
      async () => {
        const leaders = new Set<string>();
        for (const i of idx) {
          const c = this.client(i);
          try {
            const s = await c.status(1000);
            await c.healthRead(1000);
            leaders.add(s.leaderId);
          } finally {
            c.close();
          }
        }
        return leaders.size === 1 && !leaders.has('0');
      },
      timeoutMs,
      200,
    );
  }

  isRunning(i: number): boolean {
    const p = this.members[i]!.proc;
    return Boolean(p && p.exitCode === null && p.signalCode === null);
  }

  /** Member index of the current leader (asked of the first running member). */
  async leaderIndex(): Promise<number> {
    for (let i = 0; i < this.members.length; i++) {
      if (!this.isRunning(i)) continue;
      const c = this.client(i);
      try {
        const s = await c.status(2000);
        const list = await c.memberList(2000);
        const leader = list.find((m) => m.id === s.leaderId);
        const idx = this.members.findIndex((m) => m.name === leader?.name);
        if (idx >= 0) return idx;
      } catch {
        /* try the next */
      } finally {
        c.close();
      }
    }
    throw new Error('no member knows the leader');
  }

  async kill(i: number): Promise<void> {
    const p = this.members[i]!.proc;
    if (p) await stopProcess(p, 100);
  }

  freeze(i: number): void {
    const pid = this.members[i]!.proc?.pid;
    if (pid) process.kill(pid, 'SIGSTOP');
  }

  thaw(i: number): void {
    const pid = this.members[i]!.proc?.pid;
    if (pid) process.kill(pid, 'SIGCONT');
  }

  /** Start a killed member again with its data dir (it rejoins the cluster). */
  restart(i: number): void {
    const m = this.members[i]!;
    m.args = m.args.map((a) =>
      a === '--initial-cluster-state=new' ? '--initial-cluster-state=existing' : a,
    );
    this.spawn(i);
  }

  /** Run etcdctl against the cluster (with this cluster's TLS material). */
  async etcdctl(args: string[], endpoints = this.endpoints): Promise<string> {
    const extra: string[] = [];
    if (this.tls) {
      extra.push(`--cacert=${this.tls.caFile}`);
      if (this.tls.clientCertAuth) extra.push(`--cert=${this.tls.certFile}`, `--key=${this.tls.keyFile}`);
    }
    const { stdout } = await execFileP(
      this.etcdctlPath,
      [`--endpoints=${endpoints.join(',')}`, ...extra, ...args],
      {
        env: { ...process.env, ETCDCTL_API: '3' },
        timeout: 20_000,
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    return stdout;
  }

  async stop(): Promise<void> {
    await Promise.all(this.members.map((m) => (m.proc ? stopProcess(m.proc, 2000) : Promise.resolve())));
    if (this.ownRoot) fs.rmSync(this.dataRoot, { recursive: true, force: true });
  }
}

function tail(file: string, lines = 15): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
