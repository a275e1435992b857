/**
 * Member /metrics for many monitored clusters without as many etcd members rendering them: a server
 * in the parent process that answers `GET /m/<i>/metrics` with what real member i last answered
 * (re-read from it every `refreshMs`, so counters and histograms move as the member's do), gzip or
 * plain and protobuf or text as the request asks (the Accept header: protobuf when it names it, as
 * etcd's handler negotiates), written in the pieces the member's answer arrived in (etcd's handler
 * writes ~10 gzip pieces, ~85 plain ones), so the monitor receives about what it would from etcd.
 *
 * Why: on a 2-CPU machine, 1000 clusters x 3 members at 10 s are 300 scrapes a second, and etcd's own
 * /metrics handler costs it ~3 ms CPU each (gather, text, gzip): the real members serving them took the
 * monitor's CPU and the run saturated. The gRPC calls still go to the real members. Only the monitor
 * process's CPU is counted; this server's is reported beside it (`replayCores`).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const PROTOBUF = 'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited';

interface Answer {
  contentType: string;
  /** Body pieces as the member's answer arrived. */
  pieces: Buffer[];
}

interface Captured {
  gzip: Answer;
  plain: Answer;
  protoGzip: Answer;
  protoPlain: Answer;
}

function capture(url: string, gzip: boolean, proto: boolean): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: http.OutgoingHttpHeaders = proto ? { accept: PROTOBUF } : {};
    if (gzip) headers['accept-encoding'] = 'gzip';
    const req = http.get(url, { headers, timeout: 5000 }, (res) => {
      const pieces: Buffer[] = [];
      const contentType = res.headers['content-type'] ?? '';
      if (
        res.statusCode !== 200 ||
        (gzip && res.headers['content-encoding'] !== 'gzip') ||
        proto !== contentType.startsWith('application/vnd.google.protobuf')
      ) {
        res.resume();
        reject(new Error(`${url}: HTTP ${res.statusCode} ${res.headers['content-encoding'] ?? ''}`));
        return;
      }
      res.on('data', (c: Buffer) => pieces.push(c));
      res.on('end', () => resolve({ contentType, pieces }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${url}: timeout`)));
    req.on('error', reject);
  });
}

export class MetricsReplay {
  private readonly latest: Array<Captured | undefined>;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private server: http.Server | undefined;
  private port = 0;
  /** Requests answered. */
  served = 0;

  /** `members`: the real members' /metrics URLs. */
  constructor(
    private readonly members: readonly string[],
    private readonly refreshMs = 1000,
  ) {
    this.latest = members.map(() => undefined);
  }

  /** The URL that replays real member `i`. */
  url(i: number): string {
    return `http://127.0.0.1:${this.port}/m/${i % this.members.length}/metrics`;
  }

  private async refresh(): Promise<void> {
    await Promise.all(
      this.members.map(async (u, i) => {
        try {
          const [gzip, plain, protoGzip, protoPlain] = await Promise.all([
            capture(u, true, false),
            capture(u, false, false),
            capture(u, true, true),
            capture(u, false, true),
          ]);
          this.latest[i] = { gzip, plain, protoGzip, protoPlain };
        } catch {
          // keep the previous capture
        }
      }),
    );
  }

  async start(): Promise<void> {
    await this.refresh();
    if (this.latest.some((c) => !c)) throw new Error('metrics replay: a member did not answer /metrics');
    const loop = (): void => {
      if (!this.stopped) this.timer = setTimeout(() => void this.refresh().finally(loop), this.refreshMs);
    };
    loop();
    this.server = http.createServer({ keepAliveTimeout: 120_000 }, (req, res) => {
      const m = /^\/m\/(\d+)\/metrics$/.exec(req.url ?? '');
      const c = m ? this.latest[Number(m[1])] : undefined;
      if (!c) {
        res.writeHead(404).end();
        return;
      }
      this.served++;
      const gzip = /\bgzip\b/.test(req.headers['accept-encoding'] ?? '');
      const proto = (req.headers.accept ?? '').includes('application/vnd.google.protobuf');
      const a = proto ? (gzip ? c.protoGzip : c.protoPlain) : gzip ? c.gzip : c.plain;
      const pieces = a.pieces;
      const headers: http.OutgoingHttpHeaders = { 'content-type': a.contentType };
      if (gzip) headers['content-encoding'] = 'gzip';
      res.writeHead(200, headers);
      for (const p of pieces) res.write(p);
      res.end();
    });
    this.server.maxConnections = Infinity;
    this.server.headersTimeout = 0;
    this.server.requestTimeout = 0;
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    const s = this.server;
    if (!s) return;
    this.server = undefined;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
}
