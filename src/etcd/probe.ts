/**
 * One probe round over a cluster: every member concurrently, every call bounded by the timeout.
 * A member that hangs costs at most `timeoutMs`; nothing is retried.
 */
import type { ClusterObservation, MemberObservation } from '../health/observation.js';
import type { Endpoint } from './endpoints.js';
import { MemberClient, type ConnectionOptions } from './grpc.js';
import { extractMemberMetrics } from './memberMetrics.js';
import { parsePromText } from './promtext.js';
import { fetchText } from './scrape.js';

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
    const alarms = bounded(c.alarms(t), t + 50, 'alarm list')
      .then((a) => (obs.alarms = a))
      .catch((e: unknown) => (obs.alarmsError = message(e)));
    const jobs: Array<Promise<unknown>> = [status, health, alarms];
    if (this.opts.metrics) {
      const url = this.opts.metricsUrls?.[i] ?? `${ep.url}/metrics`;
      jobs.push(
        fetchText(url, t, this.conn.tls)
          .then((text) => (obs.metrics = extractMemberMetrics(parsePromText(text))))
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

  async probe(now: number): Promise<ClusterObservation> {
    const t = this.opts.timeoutMs;
    const members = this.endpoints.map((_, i) => this.probeMember(i));
    // The member list comes from the first member that answers it.
    const memberList = (async () => {
      const errors: string[] = [];
      const attempts = this.clients.map((c) =>
        bounded(c.memberList(t), t + 50, 'member list').catch((e: unknown) => {
          errors.push(message(e));
          throw e;
        }),
      );
      try {
        return { list: await Promise.any(attempts) };
      } catch {
        return { error: errors.join('; ') };
      }
    })();
    const [obsMembers, ml] = await Promise.all([Promise.all(members), memberList]);
    const out: ClusterObservation = { time: now, members: obsMembers };
    if (ml.list) out.memberList = ml.list;
    else out.memberListError = ml.error;
    return out;
  }

  /** The gRPC client of the first endpoint, for tools that write (benchmark, disarm). */
  client(i = 0): MemberClient {
    return this.clients[i]!;
  }

  close(): void {
    for (const c of this.clients) c.close();
  }
}
