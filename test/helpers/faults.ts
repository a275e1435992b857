/**
 * Real faults in real etcd clusters on this machine, for tests that need etcd's own /metrics to show them.
 *
 * Slow disk: `slowDisk(cluster, i, { delayMs, target })`
 *   Attaches `strace -f -p <pid>` to member i's etcd and delays the exit of its fdatasync/fsync calls by
 *   delayMs (strace's `inject=…:delay_exit`). etcd 3.5 and 3.6 on Linux sync the WAL and the bbolt
 *   backend with fdatasync (checked with strace: `fdatasync(12</…/member/wal/…wal>)`,
 *   `fdatasync(11</…/member/snap/db>)`; the backend syncs twice per commit, data then meta page).
 *   target 'wal' delays only calls on the WAL segment files present at attach time (strace -P; a segment
 *   created later, after 64 MB of WAL, is not slowed), 'backend' only calls on member/snap/db, 'both'
 *   every fdatasync/fsync of the process (WAL, db, directory and snapshot syncs: "the disk is slow").
 *   Resolves once every thread of etcd is traced (≈ 0.1 s). Shows in etcd's metrics at once, per call:
 *   etcd_disk_wal_fsync_duration_seconds (one observation per WAL sync, i.e. per raft Ready with
 *   entries: one per write at light load) and etcd_disk_backend_commit_duration_seconds (one per backend
 *   commit, ≈ every 100 ms while writes arrive; 2 × delayMs per commit). `stop()` kills strace: etcd
 *   is detached and keeps running, and the next syncs are fast again (the next window is clean).
 *   Measured (3 × etcd 3.5 on tmpfs, 20 puts/s to the leader, a follower slowed by 30 ms, 8 s windows):
 *   slowed WAL fsync mean ≈ 32 ms, p99 62–115 ms (buckets 64/128 ms); slowed backend commit mean ≈ 64 ms,
 *   p99 ≈ 125 ms; every untouched sync p99 ≈ 1 ms. Needs root (ptrace) and strace. While attached, every
 *   syscall of that etcd is ptrace-stopped (strace cannot use seccomp-bpf with -p), so the member is a
 *   little slower overall, and its untargeted syncs get a tail (p99 up to ≈ 80 ms seen, mean < 4 ms):
 *   judge "this one is not slow" by the mean or use target 'both'. Its peers are not touched.
 *   A light writer makes the syncs happen: `startWriter(url, { perSecond: 20 })`.
 *
 * Slow peer network: `startSlowPeerCluster({ delayMs, ...EtcdClusterOptions })`
 *   This kernel has no sch_netem (CONFIG_NET_SCH_NETEM is not set, no modules; sch_prio is missing too:
 *   `tc qdisc add dev lo root netem delay 50ms` → "Specified qdisc kind is unknown."), so the delay is a
 *   userspace TCP proxy: one child Node process (this file run as `delay-proxy`) listens on one port per
 *   member and forwards to that member's real peer port, holding every chunk delayMs in each direction
 *   (byte order kept). Members listen on their own peer ports but advertise the proxy's (EtcdCluster
 *   option advertisePeerUrls), so every peer connection (raft streams, pipeline, probes, snapshots) goes
 *   through it: a peer round trip costs 2 × delayMs. Client URLs are direct: the host's client traffic is
 *   not delayed, but a linearizable read or a write still waits for the leader's quorum round trip
 *   (ReadIndex, replication), so those become ≥ 2 × delayMs slower; serializable reads and Status stay
 *   fast. `setDelay(ms)` changes the delay at runtime (new chunks; queued ones keep their time),
 *   `stop()` stops the cluster and the proxy.
 *   How long until etcd_network_peer_round_trip_time_seconds shows it: etcd (3.5 and 3.6, probing
 *   v0.0.0-20190116061207) probes each peer every 4 s and keeps a smoothed RTT that starts at 0:
 *   SRTT ← 7/8·SRTT + 1/8·RTT. It observes that SRTT into the histogram 5 s after the peer is added, then
 *   every 30 s (2 series per peer: the stream and the pipeline prober). With the delay present from the
 *   start, the observations at ≈5 s, 35 s, 65 s, 95 s after start are 12 %, 66 %, 88 %, 97 % of the true
 *   RTT. So with 60 ms each way (RTT ≈ 125 ms), p99 > 100 ms first shows at the ≈65 s observation.
 *   Measured (60 ms each way): per-round mean 15 / 83 / 117 ms at ≈5 / 35 / 65 s, p99 of those rounds
 *   25.5 / 101.9 / 203.8 ms (bucket bounds 25.6, 102.4, 204.8 ms); from the host, Status p99 1–15 ms and
 *   serializable reads p99 1–6 ms, linearizable reads ≥ 121 ms on the leader and ≥ 242 ms on followers.
 *   A delay added or removed at runtime moves the metric as slowly (≈ a minute or two); linearizable
 *   reads and writes change at once (after setDelay(0): p50 ≈ 4–10 ms).
 *
 * Membership shapes (EtcdCluster, test/helpers/etcdCluster.ts): `EtcdCluster.start({ size: 4 })` for an
 *   even count; `binaries: [etcd35, etcd35, etcd35, etcd36]` for mixed versions in one new cluster (the
 *   cluster version stays 3.5 while any 3.5 member is in it); `addLearner({ binary })` runs
 *   `member add --learner` and starts the member, unpromoted; `promote(i)` makes it a voter;
 *   `addMember({ binary })` adds a voter. addMember/addLearner on a fresh cluster take ≈ 5 s: etcd
 *   answers "unhealthy cluster" until every voter has been connected for 5 s (strict reconfig check), and
 *   they retry. promote() retries until the learner is in sync (≈ 0.3 s at light load). waitHealthy() asks
 *   a learner for Status only (it serves no linearizable read). Shapes as etcdctl shows them: `endpoint
 *   status -w json` → Status.version per member, Status.isLearner; `member list -w json` → isLearner
 *   (etcdctl 3.6 with --hex drops isLearner; without it the uint64 IDs lose precision in JSON.parse).
 *   /version of a member → {"etcdserver":"3.6.16","etcdcluster":"3.5.0"} in a mixed cluster.
 *
 * Metrics helpers: `scrapeHistograms(clientUrl, names)` reads a member's /metrics,
 *   `histogramWindow(urls, names, ms)` the per-member increase over a window, `histStats(h)` its count,
 *   mean and p50/p99 (Prometheus histogram_quantile interpolation; NaN without observations).
 *
 * Data: `fastDataRoot()` makes a tmpfs directory (healthy syncs ≈ µs, so "the others stay < 10 ms" holds on
 * a busy machine); a cluster started with a given dataRoot leaves it: remove it in the after hook.
 * Everything started here is a child process from procs.ts (killed when the test process exits even on
 * failure); call stop() in an after hook, or stopAllFaults() (every slow disk, writer and slow-peer
 * cluster not stopped yet).
 */
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { parseEndpoint } from '../../src/etcd/endpoints.js';
import { MemberClient } from '../../src/etcd/grpc.js';
import { parsePromText } from '../../src/etcd/promtext.js';
import { EtcdCluster, type EtcdClusterOptions } from './etcdCluster.js';
import { freePorts } from './ports.js';
import { startProcess, stopProcess, waitFor } from './procs.js';

const here = new URL(import.meta.url).pathname;

/** Faults not stopped yet, for stopAllFaults() in an after hook. */
const active = new Set<{ stop(): Promise<void> }>();

export async function stopAllFaults(): Promise<void> {
  await Promise.all([...active].map((f) => f.stop().catch(() => undefined)));
}

/** A data root on tmpfs when there is one: fast syncs, so a healthy member's sync p99 is well under 1 ms. */
export function fastDataRoot(): string {
  const base = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
  return fs.mkdtempSync(path.join(base, 'etcd-monitor-faults-'));
}

// ---------------------------------------------------------------------------------------------------
// Metrics

/** A cumulative histogram summed over all its series (e.g. every To="" of the peer RTT). */
export interface Hist {
  /** Upper bound → cumulative count, ascending, +Inf last. */
  buckets: Array<[le: number, count: number]>;
  count: number;
  sum: number;
}

export interface HistStats {
  count: number;
  /** Seconds. */
  mean: number;
  p50: number;
  p99: number;
}

export const WAL_FSYNC = 'etcd_disk_wal_fsync_duration_seconds';
export const BACKEND_COMMIT = 'etcd_disk_backend_commit_duration_seconds';
export const PEER_RTT = 'etcd_network_peer_round_trip_time_seconds';

/** The named histograms of one member's /metrics (an absent one has no buckets and count 0). */
export async function scrapeHistograms(
  clientUrl: string,
  names: readonly string[],
): Promise<Record<string, Hist>> {
  const res = await fetch(`${clientUrl}/metrics`, { signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`${clientUrl}/metrics: HTTP ${res.status}`);
  const samples = parsePromText(await res.text());
  const out: Record<string, Hist> = {};
  for (const name of names) {
    const les = new Map<number, number>();
    let count = 0;
    let sum = 0;
    for (const s of samples) {
      if (s.name === `${name}_bucket`) {
        const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
        les.set(le, (les.get(le) ?? 0) + s.value);
      } else if (s.name === `${name}_count`) count += s.value;
      else if (s.name === `${name}_sum`) sum += s.value;
    }
    out[name] = { buckets: [...les.entries()].sort((a, b) => a[0] - b[0]), count, sum };
  }
  return out;
}

/** after − before, bucket by bucket (same layout: both from one member's process). */
export function histDelta(after: Hist, before: Hist): Hist {
  const prev = new Map(before.buckets);
  return {
    buckets: after.buckets.map(([le, c]) => [le, c - (prev.get(le) ?? 0)]),
    count: after.count - before.count,
    sum: after.sum - before.sum,
  };
}

/** Prometheus histogram_quantile: linear interpolation inside the bucket that holds the rank. */
export function histQuantile(h: Hist, q: number): number {
  const total = h.buckets.at(-1)?.[1] ?? 0;
  if (total <= 0) return NaN;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const [le, c] of h.buckets) {
    if (c >= rank) {
      if (le === Infinity) return lower;
      const inBucket = c - below;
      return inBucket > 0 ? lower + (le - lower) * ((rank - below) / inBucket) : le;
    }
    lower = le;
    below = c;
  }
  return lower;
}

export function histStats(h: Hist): HistStats {
  return {
    count: h.count,
    mean: h.count > 0 ? h.sum / h.count : NaN,
    p50: histQuantile(h, 0.5),
    p99: histQuantile(h, 0.99),
  };
}

/** Each member's increase of the named histograms over windowMs (scraped before and after). */
export async function histogramWindow(
  clientUrls: readonly string[],
  names: readonly string[],
  windowMs: number,
): Promise<Array<Record<string, HistStats>>> {
  const before = await Promise.all(clientUrls.map((u) => scrapeHistograms(u, names)));
  await new Promise((r) => setTimeout(r, windowMs));
  const after = await Promise.all(clientUrls.map((u) => scrapeHistograms(u, names)));
  return clientUrls.map((_, i) =>
    Object.fromEntries(names.map((n) => [n, histStats(histDelta(after[i]![n]!, before[i]![n]!))])),
  );
}

// ---------------------------------------------------------------------------------------------------
// Load

export interface WriterResult {
  puts: number;
  errors: number;
  /** Put latencies seen by the writer, ms, sorted. */
  latenciesMs: number[];
}

export interface Writer {
  stop(): Promise<WriterResult>;
}

/**
 * A steady light writer: one put (128-byte value, keys under /faults/) every 1000/perSecond ms on one
 * member's client URL, one at a time (a slow put delays the next, it does not pile up). Stops by itself
 * after maxMs (default 120 s).
 */
export function startWriter(
  clientUrl: string,
  opts: { perSecond?: number; maxMs?: number; timeoutMs?: number } = {},
): Writer {
  const every = 1000 / (opts.perSecond ?? 20);
  const end = Date.now() + (opts.maxMs ?? 120_000);
  const client = new MemberClient(parseEndpoint(clientUrl));
  const value = Buffer.alloc(128, 'v');
  const result: WriterResult = { puts: 0, errors: 0, latenciesMs: [] };
  let stopped = false;
  const loop = (async () => {
    let next = Date.now();
    for (let n = 0; !stopped && Date.now() < end; n++) {
      const t0 = Date.now();
      try {
        await client.put(Buffer.from(`/faults/${n % 1000}`), value, opts.timeoutMs ?? 3000);
        result.puts++;
        result.latenciesMs.push(Date.now() - t0);
      } catch {
        result.errors++;
      }
      next += every;
      const wait = next - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      else next = Date.now();
    }
  })();
  const writer = {
    async stop(): Promise<void> {
      stopped = true;
      await loop;
      client.close();
    },
  };
  active.add(writer);
  return {
    async stop(): Promise<WriterResult> {
      await writer.stop();
      active.delete(writer);
      result.latenciesMs.sort((a, b) => a - b);
      return result;
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// Slow disk

export type DiskTarget = 'wal' | 'backend' | 'both';

export interface SlowDiskOptions {
  /** Added to every matching sync call, ms. */
  delayMs: number;
  /** Which syncs: the WAL's, the backend's (bbolt db) or every one (default 'both'). */
  target?: DiskTarget;
}

export interface SlowDisk {
  readonly member: number;
  /** etcd's pid and strace's. */
  readonly pid: number;
  readonly stracePid: number;
  readonly delayMs: number;
  readonly target: DiskTarget;
  /** Paths strace matches (-P); empty for 'both' (every sync). */
  readonly paths: readonly string[];
  /** Detach: kill strace and wait until etcd is no longer traced. etcd keeps running. */
  stop(): Promise<void>;
}

function tracerPids(pid: number): number[] {
  const out: number[] = [];
  for (const t of fs.readdirSync(`/proc/${pid}/task`)) {
    const status = fs.readFileSync(`/proc/${pid}/task/${t}/status`, 'utf8');
    out.push(Number(/^TracerPid:\s*(\d+)/m.exec(status)?.[1] ?? '0'));
  }
  return out;
}

/** Make member i's syncs slow (see the top of this file). Resolves once every etcd thread is traced. */
export async function slowDisk(cluster: EtcdCluster, i: number, opts: SlowDiskOptions): Promise<SlowDisk> {
  const pid = cluster.pid(i);
  if (!pid) throw new Error(`member ${i} is not running`);
  const target = opts.target ?? 'both';
  const member = path.join(cluster.members[i]!.dataDir, 'member');
  const paths: string[] = [];
  if (target === 'wal' || target === 'backend') {
    if (target === 'wal') {
      const dir = path.join(member, 'wal');
      for (const f of fs.readdirSync(dir).sort()) if (f.endsWith('.wal')) paths.push(path.join(dir, f));
    } else paths.push(path.join(member, 'snap', 'db'));
    if (paths.length === 0) throw new Error(`no ${target} files under ${member}`);
  }
  const strace = (process.env.PATH ?? '')
    .split(':')
    .map((d) => path.join(d, 'strace'))
    .find((f) => fs.existsSync(f));
  if (!strace) throw new Error('slowDisk needs strace on PATH (Debian package strace)');
  const us = Math.round(opts.delayMs * 1000);
  const logFile = path.join(cluster.dataRoot, `${cluster.members[i]!.name}.strace.log`);
  const proc = startProcess(
    strace,
    [
      '-qq',
      '-f',
      '-p',
      String(pid),
      '-e',
      'trace=fdatasync,fsync',
      '-e',
      'signal=none',
      '-e',
      `inject=fdatasync,fsync:delay_exit=${us}`,
      '-o',
      '/dev/null',
      ...paths.flatMap((p) => ['-P', p]),
    ],
    { logFile },
  );
  const stracePid = proc.pid;
  if (!stracePid) throw new Error('strace did not start');
  try {
    await waitFor(
      `strace attached to every thread of ${pid}`,
      async () => {
        if (proc.exitCode !== null) throw new Error(`strace exited: ${fs.readFileSync(logFile, 'utf8')}`);
        return tracerPids(pid).every((t) => t === stracePid);
      },
      10_000,
      50,
    );
  } catch (e) {
    await stopProcess(proc, 500);
    throw e;
  }
  const fault: SlowDisk = {
    member: i,
    pid,
    stracePid,
    delayMs: opts.delayMs,
    target,
    paths,
    async stop(): Promise<void> {
      active.delete(fault);
      await stopProcess(proc, 2000);
      await waitFor(
        `etcd ${pid} detached`,
        async () => !fs.existsSync(`/proc/${pid}`) || tracerPids(pid).every((t) => t === 0),
        5000,
        50,
      );
    },
  };
  active.add(fault);
  return fault;
}

// ---------------------------------------------------------------------------------------------------
// Slow peer network (userspace delay proxy)

interface ProxySpec {
  control: number;
  delayMs: number;
  routes: Array<{ listen: number; target: number }>;
}

export interface SlowPeerNetwork {
  readonly cluster: EtcdCluster;
  /** Current one-way delay, ms (a peer round trip costs twice this). */
  readonly delayMs: number;
  /** The proxy port in front of member i's peer listener. */
  readonly proxyPorts: readonly number[];
  /** Change the one-way delay at runtime; resolves when the proxy applies it. */
  setDelay(ms: number): Promise<void>;
  /** Proxy counters: connections accepted and bytes forwarded. */
  proxyStats(): Promise<{ delayMs: number; connections: number; bytes: number }>;
  /** Stop the cluster, then the proxy. */
  stop(): Promise<void>;
}

async function controlCall(port: number, method: 'GET' | 'PUT', query = ''): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/delay${query}`, {
    method,
    signal: AbortSignal.timeout(2000),
  });
  if (!res.ok) throw new Error(`delay proxy: HTTP ${res.status}`);
  return res.text();
}

/**
 * A cluster whose peer traffic goes through a delay proxy (delayMs each way from the first byte; see the
 * top of this file). Other EtcdClusterOptions pass through (size, binary, …); peerPorts and
 * advertisePeerUrls are set here.
 */
export async function startSlowPeerCluster(
  opts: EtcdClusterOptions & { delayMs: number },
): Promise<SlowPeerNetwork> {
  const size = opts.size ?? 3;
  const ports = await freePorts(2 * size + 1);
  const peerPorts = ports.slice(0, size);
  const proxyPorts = ports.slice(size, 2 * size);
  const control = ports[2 * size]!;
  const spec: ProxySpec = {
    control,
    delayMs: opts.delayMs,
    routes: peerPorts.map((target, i) => ({ listen: proxyPorts[i]!, target })),
  };
  const dataRoot = opts.dataRoot ?? fastDataRoot();
  const ownRoot = !opts.dataRoot;
  const proxy: ChildProcess = startProcess(
    process.execPath,
    ['--import', 'tsx', here, 'delay-proxy', JSON.stringify(spec)],
    { logFile: path.join(dataRoot, 'delay-proxy.log') },
  );
  let cluster: EtcdCluster | undefined;
  let delayMs = opts.delayMs;
  const stopAll = async (): Promise<void> => {
    await cluster?.stop();
    await stopProcess(proxy, 1000);
    if (ownRoot) fs.rmSync(dataRoot, { recursive: true, force: true });
  };
  try {
    await waitFor(
      'delay proxy listening',
      async () => {
        if (proxy.exitCode !== null) throw new Error('delay proxy exited');
        return (await controlCall(control, 'GET')).length > 0;
      },
      15_000,
      100,
    );
    cluster = await EtcdCluster.start({
      ...opts,
      size,
      dataRoot,
      peerPorts,
      advertisePeerUrls: proxyPorts.map((p) => `http://127.0.0.1:${p}`),
    });
  } catch (e) {
    await stopAll();
    throw e;
  }
  const started = cluster;
  const net_: SlowPeerNetwork = {
    cluster: started,
    get delayMs() {
      return delayMs;
    },
    proxyPorts,
    async setDelay(ms: number): Promise<void> {
      await controlCall(control, 'PUT', `?ms=${ms}`);
      delayMs = ms;
    },
    async proxyStats() {
      return JSON.parse(await controlCall(control, 'GET')) as {
        delayMs: number;
        connections: number;
        bytes: number;
      };
    },
    async stop(): Promise<void> {
      active.delete(net_);
      await stopAll();
    },
  };
  active.add(net_);
  return net_;
}

/** One direction of a proxied connection: every chunk leaves delayMs after it arrived, in order. */
class DelayLine {
  private queue: Array<{ at: number; buf?: Buffer }> = [];
  private queued = 0;
  private last = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly from: net.Socket,
    private readonly to: net.Socket,
    private readonly delay: () => number,
    private readonly count: (bytes: number) => void,
  ) {
    from.on('data', (b: Buffer) => this.push(b));
    from.on('end', () => this.push(undefined));
  }

  private push(buf: Buffer | undefined): void {
    const at = Math.max(Date.now() + this.delay(), this.last);
    this.last = at;
    this.queue.push(buf ? { at, buf } : { at });
    if (buf) {
      this.queued += buf.length;
      if (this.queued > 8 << 20) this.from.pause();
    }
    this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.queue.length === 0) return;
    const wait = Math.max(0, this.queue[0]!.at - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, wait);
  }

  private flush(): void {
    const now = Date.now();
    while (this.queue.length > 0 && this.queue[0]!.at <= now) {
      const e = this.queue.shift()!;
      if (e.buf) {
        this.queued -= e.buf.length;
        this.count(e.buf.length);
        if (!this.to.destroyed) this.to.write(e.buf);
      } else this.to.end();
    }
    if (this.queued < 1 << 20 && this.from.isPaused()) this.from.resume();
    this.schedule();
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.queue = [];
  }
}

/** The proxy process: `node --import tsx faults.ts delay-proxy '<ProxySpec JSON>'`. */
function runDelayProxy(spec: ProxySpec): void {
  let delayMs = spec.delayMs;
  let connections = 0;
  let bytes = 0;
  for (const route of spec.routes) {
    net
      .createServer((client) => {
        connections++;
        const upstream = net.connect(route.target, '127.0.0.1');
        client.setNoDelay(true);
        upstream.setNoDelay(true);
        const count = (n: number): void => {
          bytes += n;
        };
        const lines = [
          new DelayLine(client, upstream, () => delayMs, count),
          new DelayLine(upstream, client, () => delayMs, count),
        ];
        const close = (): void => {
          for (const l of lines) l.close();
          client.destroy();
          upstream.destroy();
        };
        client.on('error', close).on('close', close);
        upstream.on('error', close).on('close', close);
      })
      .listen(route.listen, '127.0.0.1');
  }
  http
    .createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (req.method === 'PUT' && url.searchParams.has('ms')) {
        const ms = Number(url.searchParams.get('ms'));
        if (!Number.isFinite(ms) || ms < 0) {
          res.writeHead(400).end('bad ms');
          return;
        }
        delayMs = ms;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ delayMs, connections, bytes }));
    })
    .listen(spec.control, '127.0.0.1');
}

if (
  process.argv[2] === 'delay-proxy' &&
  process.argv[1] &&
  pathToFileURL(path.resolve(process.argv[1])).pathname === here
) {
  runDelayProxy(JSON.parse(process.argv[3] ?? '{}') as ProxySpec);
}
