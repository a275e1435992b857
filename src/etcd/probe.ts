/**
 * One probe round over a cluster: every member concurrently (Status, health read, optionally its
 * /metrics), the cluster-wide member and alarm lists from one member, every call bounded by the timeout.
 * A member that hangs costs at most `timeoutMs`; nothing is retried.
 *
 * The RPCs go over the hand-framed HTTP/2 client (wireClient.ts), all at once; the members' /metrics,
 * whose ~200 KiB bodies are parsed on this event loop, come after them (see probe()), so the timed calls
 * are etcd's time, not ours. The health read and the write probe are timed around their own RPC, say
 * whether they had to set up the connection, and how long this process's event loop was stalled
 * meanwhile.
 */
import type { Endpoint } from './endpoints.js';
import type { ConnectionOptions } from './grpc.js';
import { processLoopLag, type StallMeter } from './loopLag.js';
import { MemberMetricsScanner } from './memberMetrics.js';
import {
  PROTOBUF_OR_TEXT,
  extractMemberMetricsFromProto,
  isProtobufExposition,
} from './memberMetricsProto.js';
import type { ClusterObservation, MemberObservation } from './observation.js';
import { ScrapeAgents, fetchChunks } from './scrape.js';
import { ProbeClient } from './wireClient.js';

export interface ProbeOptions {
  timeoutMs: number;
  /** Scrape each member's own /metrics. */
  metrics: boolean;
  /** Per-member metrics URLs, same order as the endpoints; default <endpoint>/metrics. */
  metricsUrls?: string[];
  /** Ask the members for gzip-compressed /metrics (default true; `npm run bench:cost` compares both). */
  metricsGzip?: boolean;
  /**
   * Ask for the protobuf exposition (default true; a server that only has text answers text, which is
   * read as before). etcd's is ~120 KiB instead of ~220 KiB, and read ~4x faster (memberMetricsProto.ts).
   */
  metricsProtobuf?: boolean;
  /** Opt-in write probe: put then delete a key under this prefix. */
  writeProbePrefix?: string;
  /** Measures event-loop stalls during the timed calls; default: the process-wide meter. */
  stall?: StallMeter;
}

/** The I/O a cluster monitor needs: one probe round, and closing connections. */
export interface ClusterProber {
  probe(now: number): Promise<ClusterObservation>;
  close(): void;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Race a promise against the deadline so no single call can outlive the round's budget. */
function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms}ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** Resolves when `p` has settled or after `ms`, whichever comes first. */
function settledOrAfter(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const later = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  const settled = p.then(
    () => undefined,
    () => undefined,
  );
  return Promise.race([settled, later]).finally(() => clearTimeout(timer));
}

export class EtcdProber implements ClusterProber {
  private readonly clients: ProbeClient[];
  /** Keep-alive connections for the members' /metrics (one per member, reused every round). */
  private readonly agents = new ScrapeAgents();
  /** The members that answered the member list and the alarm list last: asked first next round. */
  private readonly preferred = { memberList: 0, alarms: 0 };

  constructor(
    readonly endpoints: readonly Endpoint[],
    private readonly conn: ConnectionOptions,
    private readonly opts: ProbeOptions,
  ) {
    this.clients = endpoints.map((e) => new ProbeClient(e, conn));
  }

  /** Milliseconds left of the round's budget (at least 1). */
  private left(startedAt: number): number {
    return Math.max(1, this.opts.timeoutMs - (Date.now() - startedAt));
  }

  /** The health read, timed around its own RPC. */
  private async healthRead(i: number, obs: MemberObservation): Promise<void> {
    const t = this.opts.timeoutMs;
    try {
      const timing = await bounded(
        this.clients[i]!.healthRead(t, this.opts.stall ?? processLoopLag()),
        t + 50,
        'health read',
      );
      obs.healthLatencyMs = timing.ms;
      if (timing.setup) obs.healthSetup = true;
      if (timing.stallMs !== undefined) obs.healthStallMs = timing.stallMs;
    } catch (e) {
      obs.healthError = message(e);
    } finally {
      obs.healthChecked = true;
    }
  }

  /** Per member: Status and the opt-in write probe, within what is left of the round's budget. */
  private async statusAndWrite(i: number, obs: MemberObservation, startedAt: number): Promise<void> {
    const budget = this.left(startedAt);
    const status = bounded(this.clients[i]!.status(budget), budget + 50, 'status')
      .then((s) => (obs.status = s))
      .catch((e: unknown) => (obs.statusError = message(e)));
    await Promise.all([status, this.writeProbe(i, obs, startedAt, this.opts.stall ?? processLoopLag())]);
  }

  private async writeProbe(
    i: number,
    obs: MemberObservation,
    startedAt: number,
    stall: StallMeter,
  ): Promise<void> {
    if (this.opts.writeProbePrefix === undefined) return;
    const c = this.clients[i]!;
    const key = Buffer.from(`${this.opts.writeProbePrefix}${this.endpoints[i]!.authority}`);
    try {
      const budget = this.left(startedAt);
      const timing = await bounded(
        c.timedPut(key, Buffer.from(String(Date.now())), budget, stall),
        budget + 50,
        'write probe',
      );
      obs.writeLatencyMs = timing.ms;
      if (timing.setup) obs.writeSetup = true;
      if (timing.stallMs !== undefined) obs.writeStallMs = timing.stallMs;
      const rest = this.left(startedAt);
      await bounded(c.deletePrefix(key, rest), rest + 50, 'write probe cleanup');
    } catch (e) {
      obs.writeError = message(e);
    }
  }

  /**
   * One member's /metrics, reading only the families the snapshot needs: the protobuf exposition whole
   * when the member gives it, the text one as it streams in otherwise.
   */
  private async scrape(i: number, obs: MemberObservation, budgetMs: number): Promise<void> {
    const url = this.opts.metricsUrls?.[i] ?? `${this.endpoints[i]!.url}/metrics`;
    const protobuf = this.opts.metricsProtobuf !== false;
    let proto: Buffer[] | undefined;
    const scanner = new MemberMetricsScanner();
    try {
      await fetchChunks(url, budgetMs, this.conn.tls, (c) => (proto ? proto.push(c) : scanner.push(c)), {
        agents: this.agents,
        gzip: this.opts.metricsGzip,
        accept: protobuf ? PROTOBUF_OR_TEXT : undefined,
        onContentType: (t) => (proto = protobuf && isProtobufExposition(t) ? [] : undefined),
      });
      obs.metrics = proto
        ? extractMemberMetricsFromProto(proto.length === 1 ? proto[0]! : Buffer.concat(proto))
        : scanner.finish();
    } catch (e) {
      obs.metricsError = message(e);
    }
  }

  /**
   * A cluster-wide list (member list, alarm list) from one member, as `etcdctl member list` and
   * `etcdctl alarm list` take it: the member that answered last time. The others are asked too only when
   * it fails, or has not answered within a quarter of the timeout (a hung member), so the answer still
   * comes well within the timeout. One RPC per round instead of one per member.
   */
  private fromOneMember<T>(
    which: keyof EtcdProber['preferred'],
    call: (c: ProbeClient, budgetMs: number) => Promise<T>,
    what: string,
    started: number,
  ): Promise<{ value: T; from: number } | { errors: Array<[number, string]> }> {
    const t = this.opts.timeoutMs;
    const n = this.clients.length;
    const first = this.preferred[which] < n ? this.preferred[which] : 0;
    const order = [first, ...this.clients.map((_, i) => i).filter((i) => i !== first)];
    return new Promise((resolve) => {
      const errors: Array<[number, string]> = [];
      let next = 0;
      let pending = 0;
      let done = false;
      let hedge: NodeJS.Timeout | undefined;
      const askRest = (): void => {
        clearTimeout(hedge);
        while (next < n) ask(order[next++]!);
      };
      const ask = (i: number): void => {
        pending++;
        const budget = Math.max(1, t - (Date.now() - started));
        bounded(call(this.clients[i]!, budget), budget + 50, what).then(
          (value) => {
            if (done) return;
            done = true;
            clearTimeout(hedge);
            this.preferred[which] = i;
            resolve({ value, from: i });
          },
          (e: unknown) => {
            pending--;
            errors.push([i, message(e)]);
            if (done) return;
            if (next < n) askRest();
            else if (pending === 0) {
              done = true;
              resolve({ errors });
            }
          },
        );
      };
      ask(order[next++]!);
      if (next < n) hedge = setTimeout(askRest, Math.max(1, Math.floor(t / 4)));
    });
  }

  /**
   * Two steps: (1) every RPC at once — the health reads first, then Status, the alarm and member lists
   * and the write probe, so each member gets them in one socket write; issuing a call on the wire
   * client is ~30 µs of JS, so the timed health read is not held up by our own work (with grpc-js it was
   * ~0.4 ms a call, and the reads went alone); (2) the /metrics scrapes, whose ~200 KiB bodies are parsed
   * on this event loop, once the RPCs have settled or a quarter of the timeout has passed (a slow or
   * hung member then costs the others nothing). Every call's deadline is what is left of `timeoutMs`
   * since the round began.
   */
  async probe(now: number): Promise<ClusterObservation> {
    const startedAt = Date.now();
    const hedge = Math.max(1, Math.floor(this.opts.timeoutMs / 4));
    const obsMembers: MemberObservation[] = this.endpoints.map((e) => ({
      endpoint: e.url,
      healthChecked: false,
    }));
    const reads = Promise.all(obsMembers.map((o, i) => this.healthRead(i, o)));
    const rpcs = Promise.all([
      Promise.all(obsMembers.map((o, i) => this.statusAndWrite(i, o, startedAt))),
      this.fromOneMember('memberList', (c, ms) => c.memberList(ms), 'member list', startedAt),
      this.fromOneMember('alarms', (c, ms) => c.alarms(ms), 'alarm list', startedAt),
    ]);
    const scrapes = this.opts.metrics
      ? settledOrAfter(Promise.all([reads, rpcs]), hedge).then(() => {
          const budget = this.left(startedAt);
          return Promise.all(obsMembers.map((o, i) => this.scrape(i, o, budget)));
        })
      : undefined;
    const [, [, ml, al]] = await Promise.all([reads, rpcs, scrapes]);
    const out: ClusterObservation = { time: now, members: obsMembers };
    if ('value' in ml) out.memberList = ml.value;
    else out.memberListError = ml.errors.map(([, e]) => e).join('; ');
    // The alarm list is cluster-wide: it goes with the member that answered it (or each asked member's error).
    if ('value' in al) obsMembers[al.from]!.alarms = al.value;
    else for (const [i, e] of al.errors) obsMembers[i]!.alarmsError = e;
    return out;
  }

  /** Connect to every member now (each bounded by `timeoutMs`), so the next round's reads need no set-up. */
  async connect(timeoutMs: number): Promise<void> {
    await Promise.all(this.clients.map((c) => c.connect(timeoutMs)));
  }

  close(): void {
    for (const c of this.clients) c.close();
    this.agents.destroy();
  }
}
