/**
 * One probe round over a cluster: every member concurrently (Status, health read, optionally its
 * /metrics), the cluster-wide member and alarm lists from one member, every call bounded by the timeout.
 * A member that hangs costs at most `timeoutMs`; nothing is retried.
 */
import type { ClusterObservation, MemberObservation } from '../health/observation.js';
import type { Endpoint } from './endpoints.js';
import { MemberClient, type ConnectionOptions } from './grpc.js';
import { MemberMetricsScanner } from './memberMetrics.js';
import { ScrapeAgents, fetchChunks } from './scrape.js';

export interface ProbeOptions {
  timeoutMs: number;
  /** Scrape each member's own /metrics. */
  metrics: boolean;
  /** Per-member metrics URLs, same order as the endpoints; default <endpoint>/metrics. */
  metricsUrls?: string[];
  /** Opt-in write probe: put then delete a key under this prefix. */
  writeProbePrefix?: string;
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

export class EtcdProber implements ClusterProber {
  private readonly clients: MemberClient[];
  /** Keep-alive connections for the members' /metrics (one per member, reused every round). */
  private readonly agents = new ScrapeAgents();
  /** The members that answered the member list and the alarm list last: asked first next round. */
  private readonly preferred = { memberList: 0, alarms: 0 };

  constructor(
    readonly endpoints: readonly Endpoint[],
    private readonly conn: ConnectionOptions,
    private readonly opts: ProbeOptions,
  ) {
    this.clients = endpoints.map((e) => new MemberClient(e, conn));
  }

  private async probeMember(i: number): Promise<MemberObservation> {
    const c = this.clients[i]!;
    const ep = this.endpoints[i]!;
    const t = this.opts.timeoutMs;
    const obs: MemberObservation = { endpoint: ep.url, healthChecked: false };
    const status = bounded(c.status(t), t + 50, 'status')
      .then((s) => (obs.status = s))
      .catch((e: unknown) => (obs.statusError = message(e)));
    const started = performance.now();
    const health = bounded(c.healthRead(t), t + 50, 'health read')
      .then(() => {
        obs.healthLatencyMs = performance.now() - started;
      })
      .catch((e: unknown) => (obs.healthError = message(e)))
      .finally(() => (obs.healthChecked = true));
    const jobs: Array<Promise<unknown>> = [status, health];
    if (this.opts.metrics) {
      const url = this.opts.metricsUrls?.[i] ?? `${ep.url}/metrics`;
      // Parsed as it streams in, reading only the families the snapshot needs (see MemberMetricsScanner).
      const scanner = new MemberMetricsScanner();
      jobs.push(
        fetchChunks(url, t, this.conn.tls, (c) => scanner.push(c), { agents: this.agents })
          .then(() => (obs.metrics = scanner.finish()))
          .catch((e: unknown) => (obs.metricsError = message(e))),
      );
    }
    if (this.opts.writeProbePrefix !== undefined) {
      const key = Buffer.from(`${this.opts.writeProbePrefix}${ep.authority}`);
      jobs.push(
        (async () => {
          const w0 = performance.now();
          await bounded(c.put(key, Buffer.from(String(Date.now())), t), t + 50, 'write probe');
          obs.writeLatencyMs = performance.now() - w0;
          await bounded(c.deletePrefix(key, t), t + 50, 'write probe cleanup');
        })().catch((e: unknown) => (obs.writeError = message(e))),
      );
    }
    await Promise.all(jobs);
    return obs;
  }

  /**
   * A cluster-wide list (member list, alarm list) from one member, as `etcdctl member list` and
   * `etcdctl alarm list` take it: the member that answered last time. The others are asked too only when
   * it fails, or has not answered within a quarter of the timeout (a hung member), so the answer still
   * comes well within the timeout. One RPC per round instead of one per member.
   */
  private fromOneMember<T>(
    which: keyof EtcdProber['preferred'],
    call: (c: MemberClient, budgetMs: number) => Promise<T>,
    what: string,
  ): Promise<{ value: T; from: number } | { errors: Array<[number, string]> }> {
    const t = this.opts.timeoutMs;
    const n = this.clients.length;
    const started = Date.now();
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

  async probe(now: number): Promise<ClusterObservation> {
    const members = Promise.all(this.endpoints.map((_, i) => this.probeMember(i)));
    const memberList = this.fromOneMember('memberList', (c, ms) => c.memberList(ms), 'member list');
    const alarms = this.fromOneMember('alarms', (c, ms) => c.alarms(ms), 'alarm list');
    const [obsMembers, ml, al] = await Promise.all([members, memberList, alarms]);
    const out: ClusterObservation = { time: now, members: obsMembers };
    if ('value' in ml) out.memberList = ml.value;
    else out.memberListError = ml.errors.map(([, e]) => e).join('; ');
    // The alarm list is cluster-wide: it goes with the member that answered it (or each asked member's error).
    if ('value' in al) obsMembers[al.from]!.alarms = al.value;
    else for (const [i, e] of al.errors) obsMembers[i]!.alarmsError = e;
    return out;
  }

  /** The gRPC client of the first endpoint, for tools that write (benchmark, disarm). */
  client(i = 0): MemberClient {
    return this.clients[i]!;
  }

  close(): void {
    for (const c of this.clients) c.close();
    this.agents.destroy();
  }
}
