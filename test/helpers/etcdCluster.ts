/**
 * A real etcd cluster on loopback for tests and the demo: N members, each its own process and data dir.
 * Members can be killed, frozen (SIGSTOP), thawed and restarted. Shapes for fault tests: any size (also
 * even), a binary per member (mixed 3.5/3.6), peer URLs advertised through a proxy (test/helpers/faults.ts),
 * and members added later as learners (addLearner, promote) or voters (addMember).
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
  /** Per-member binary (index i for member i; a missing entry uses `binary`), e.g. a 3.5/3.6 mix. */
  binaries?: Array<string | undefined>;
  /**
   * Per-member peer URL the other members dial (advertised and in --initial-cluster), while the member
   * listens on its own peer port: lets a proxy sit in front of each member's peer listener.
   */
  advertisePeerUrls?: string[];
  /** --heartbeat-interval / --election-timeout in ms (default 50 / 500). */
  heartbeatMs?: number;
  electionMs?: number;
}

export interface AddMemberOptions {
  /** Binary of the new member (default: the cluster's `binary`). */
  binary?: string;
  /** Join as a learner (member add --learner): a non-voting member until promote(). */
  learner?: boolean;
}

export interface EtcdMemberProc {
  name: string;
  clientUrl: string;
  /** The peer URL the other members dial (advertised). */
  peerUrl: string;
  /** The peer URL the member listens on, when it differs from peerUrl (a proxy in between). */
  listenPeerUrl?: string;
  /** This member's binary, when it differs from the cluster's. */
  binary?: string;
  /** Added with member add --learner and not promoted yet. */
  learner?: boolean;
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
    private readonly opts: EtcdClusterOptions = {},
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
      const listenPeerUrl = `http://127.0.0.1:${peerPorts[i]}`;
      const advertised = opts.advertisePeerUrls?.[i];
      members.push({
        name,
        clientUrl: `${scheme}://127.0.0.1:${clientPorts[i]}`,
        peerUrl: advertised ?? listenPeerUrl,
        ...(advertised && advertised !== listenPeerUrl ? { listenPeerUrl } : {}),
        ...(opts.binaries?.[i] ? { binary: opts.binaries[i] } : {}),
        dataDir: path.join(root, name),
        logFile: path.join(root, `${name}.log`),
        args: [],
      });
    }
    const initialCluster = members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
    const token = `tok-${process.pid}-${Date.now()}`;
    for (const m of members) m.args = memberArgs(m, opts, initialCluster, 'new', token);
    const cluster = new EtcdCluster(
      members,
      binary,
      root,
      opts.tls,
      ownRoot,
      opts.etcdctl ?? etcdctlBinary(),
      opts,
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
    m.proc = startProcess(m.binary ?? this.binary, m.args, {
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

  /**
   * Wait until every running member answers Status and they agree on a leader; voters must also serve a
   * linearizable read (a learner serves none, so it is asked Status only).
   */
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
            if (!this.members[i]!.learner) await c.healthRead(1000);
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

  /** The OS pid of member i's etcd process (undefined when it is not running). */
  pid(i: number): number | undefined {
    return this.isRunning(i) ? this.members[i]!.proc?.pid : undefined;
  }

  /** Member i's id as etcd prints it (hex), from the member list of a running member. */
  async memberId(i: number): Promise<string> {
    const name = this.members[i]!.name;
    for (let j = 0; j < this.members.length; j++) {
      if (!this.isRunning(j) || (this.members[j]!.learner && j !== i)) continue;
      const c = this.client(j);
      try {
        const found = (await c.memberList(2000)).find((m) => m.name === name);
        if (found) return found.id;
      } catch {
        /* try the next */
      } finally {
        c.close();
      }
    }
    throw new Error(`no running member lists ${name}`);
  }

  /**
   * Add a member at runtime: `etcdctl member add` (with --learner when asked), then start it with the
   * initial cluster etcd printed and --initial-cluster-state=existing. Resolves with its index once it
   * answers Status and knows the leader (a learner stays a learner: see promote()).
   */
  async addMember(opts: AddMemberOptions = {}): Promise<number> {
    const running = this.members.map((_, i) => i).filter((i) => this.isRunning(i));
    const [clientPort, peerPort] = await freePorts(2);
    const prefix = this.opts.namePrefix ?? 'etcd';
    let n = this.members.length + 1;
    while (this.members.some((m) => m.name === `${prefix}${n}`)) n++;
    const name = `${prefix}${n}`;
    const scheme = this.tls ? 'https' : 'http';
    const m: EtcdMemberProc = {
      name,
      clientUrl: `${scheme}://127.0.0.1:${clientPort}`,
      peerUrl: `http://127.0.0.1:${peerPort}`,
      ...(opts.binary ? { binary: opts.binary } : {}),
      ...(opts.learner ? { learner: true } : {}),
      dataDir: path.join(this.dataRoot, name),
      logFile: path.join(this.dataRoot, `${name}.log`),
      args: [],
    };
    const voters = running.filter((i) => !this.members[i]!.learner).map((i) => this.endpoints[i]!);
    // etcd refuses (unhealthy cluster) until every voter has been connected for 5 s (strict reconfig check).
    const out = await waitFor(
      `member add ${name}`,
      async () =>
        this.etcdctl(
          ['member', 'add', name, `--peer-urls=${m.peerUrl}`, ...(opts.learner ? ['--learner'] : [])],
          voters,
        ),
      20_000,
      500,
    );
    const initialCluster = /ETCD_INITIAL_CLUSTER="([^"]+)"/.exec(out)?.[1];
    if (!initialCluster) throw new Error(`member add printed no ETCD_INITIAL_CLUSTER:\n${out}`);
    m.args = memberArgs(m, this.opts, initialCluster, 'existing', 'unused-for-existing');
    this.members.push(m);
    const i = this.members.length - 1;
    this.spawn(i);
    try {
      await waitFor(
        `${name} serving with a leader`,
        async () => {
          const c = this.client(i);
          try {
            const s = await c.status(1000);
            return s.leaderId !== '0' && s.isLearner === Boolean(opts.learner);
          } finally {
            c.close();
          }
        },
        30_000,
        200,
      );
    } catch (e) {
      throw new Error(`${(e as Error).message}\n--- ${name}\n${tail(m.logFile)}`);
    }
    return i;
  }

  /** addMember({ learner: true, binary }): a learner that is started and left unpromoted. */
  async addLearner(opts: Omit<AddMemberOptions, 'learner'> = {}): Promise<number> {
    return this.addMember({ ...opts, learner: true });
  }

  /**
   * Promote learner i to a voting member (`etcdctl member promote`), retried until etcd accepts it (it
   * refuses while the learner is not yet in sync with the leader).
   */
  async promote(i: number, timeoutMs = 20_000): Promise<void> {
    const id = await this.memberId(i);
    const voters = this.members
      .map((_, j) => j)
      .filter((j) => this.isRunning(j) && !this.members[j]!.learner)
      .map((j) => this.endpoints[j]!);
    await waitFor(
      `member promote ${this.members[i]!.name}`,
      async () => {
        await this.etcdctl(['member', 'promote', id], voters);
        return true;
      },
      timeoutMs,
      500,
    );
    delete this.members[i]!.learner;
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

function memberArgs(
  m: EtcdMemberProc,
  opts: EtcdClusterOptions,
  initialCluster: string,
  state: 'new' | 'existing',
  token: string,
): string[] {
  const args = [
    `--name=${m.name}`,
    `--data-dir=${m.dataDir}`,
    `--listen-client-urls=${m.clientUrl}`,
    `--advertise-client-urls=${m.clientUrl}`,
    `--listen-peer-urls=${m.listenPeerUrl ?? m.peerUrl}`,
    `--initial-advertise-peer-urls=${m.peerUrl}`,
    `--initial-cluster=${initialCluster}`,
    `--initial-cluster-token=${token}`,
    `--initial-cluster-state=${state}`,
    `--heartbeat-interval=${opts.heartbeatMs ?? 50}`,
    `--election-timeout=${opts.electionMs ?? 500}`,
    '--logger=zap',
    '--log-level=warn',
  ];
  if (opts.extensiveMetrics !== false) args.push('--metrics=extensive');
  if (opts.quotaBackendBytes) args.push(`--quota-backend-bytes=${opts.quotaBackendBytes}`);
  if (opts.tls) {
    args.push(
      `--cert-file=${opts.tls.certFile}`,
      `--key-file=${opts.tls.keyFile}`,
      `--trusted-ca-file=${opts.tls.caFile}`,
    );
    if (opts.tls.clientCertAuth) args.push('--client-cert-auth');
  }
  return args;
}

function tail(file: string, lines = 15): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
