/** The HTTP API (SPEC §5). Reading never writes to etcd; bad requests get JSON 4xx errors. */
import http from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { ClusterMonitor } from '../monitor/clusterMonitor.js';
import type { MonitorRegistry } from '../monitor/registry.js';
import type { MetricsExporter } from '../metrics/exporter.js';
import type { Logger } from '../log.js';
import { currentFigures, clusterSummary } from './views.js';

export interface ApiOptions {
  host: string;
  port: number;
  /** When set, /api/* needs `Authorization: Bearer <token>`; /health, /ready and /metrics stay open. */
  token?: string;
  ready: () => boolean;
  /** Extra routes (e.g. the live dashboard) tried before the 404. Return true when handled. */
  extraRoutes?: Array<
    (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => boolean | Promise<boolean>
  >;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, null, 2) + '\n';
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text);
}

function sendError(res: http.ServerResponse, e: HttpError): void {
  sendJson(res, e.status, { error: { code: e.code, message: e.message, ...e.extra } });
}

export function allowOnly(url: URL, allowed: readonly string[]): void {
  for (const k of url.searchParams.keys()) {
    if (!allowed.includes(k)) {
      throw new HttpError(
        400,
        'BadQueryParameter',
        `unknown query parameter "${k}"${allowed.length ? ` (allowed: ${allowed.join(', ')})` : ''}`,
      );
    }
  }
  for (const k of allowed) {
    if (url.searchParams.getAll(k).length > 1)
      throw new HttpError(400, 'BadQueryParameter', `query parameter "${k}" given more than once`);
  }
}

export function tokenMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(header ?? '');
  if (!m) return false;
  const a = Buffer.from(m[1]!.trim());
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The cluster a request means: `?cluster=` when several are monitored, else the only one (also used by the dashboard routes). */
export function pickCluster(monitors: MonitorRegistry, url: URL): ClusterMonitor {
  const all = monitors.list();
  const wanted = url.searchParams.get('cluster');
  if (wanted !== null) {
    if (wanted === '') throw new HttpError(400, 'BadQueryParameter', 'query parameter "cluster" is empty');
    const m = monitors.get(wanted);
    if (!m)
      throw new HttpError(404, 'ClusterNotFound', `no monitored cluster named "${wanted}"`, {
        clusters: all.map((x) => x.name),
      });
    return m;
  }
  if (all.length === 1) return all[0]!;
  if (all.length === 0) throw new HttpError(404, 'NoClusters', 'no cluster is monitored yet');
  throw new HttpError(
    400,
    'ClusterRequired',
    `${all.length} clusters are monitored: name one with ?cluster=<namespace>/<name>`,
    {
      clusters: all.map((x) => x.name),
    },
  );
}

export class ApiServer {
  readonly server: http.Server;

  constructor(
    private readonly monitors: MonitorRegistry,
    private readonly exporter: MetricsExporter,
    private readonly opts: ApiOptions,
    private readonly log: Logger,
  ) {
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => {
        if (e instanceof HttpError) {
          sendError(res, e);
          return;
        }
        this.log.error('API handler failed', { error: String(e), path: req.url });
        if (!res.headersSent) sendJson(res, 500, { error: { code: 'Internal', message: 'internal error' } });
        else res.destroy();
      });
    });
    this.server.keepAliveTimeout = 5000;
    this.server.headersTimeout = 10_000;
    this.server.requestTimeout = 30_000;
  }

  listen(): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.opts.port, this.opts.host, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private pickCluster(url: URL): ClusterMonitor {
    return pickCluster(this.monitors, url);
  }

  private statusOf(m: ClusterMonitor): unknown {
    const s = m.status;
    if (!s)
      throw new HttpError(503, 'NotProbedYet', `cluster "${m.name}" has not completed a probe round yet`);
    return { cluster: m.name, ...s };
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      throw new HttpError(400, 'BadRequest', 'malformed request URL');
    }
    const path = url.pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      throw new HttpError(405, 'MethodNotAllowed', `${req.method} is not allowed on ${path}; use GET`);
    }
    if (path === '/health' || path === '/healthz') {
      allowOnly(url, []);
      sendJson(res, 200, { status: 'ok' });
      return;
    }
    if (path === '/ready' || path === '/readyz') {
      allowOnly(url, []);
      const ok = this.opts.ready();
      sendJson(res, ok ? 200 : 503, { status: ok ? 'ready' : 'not ready' });
      return;
    }
    if (path === '/metrics') {
      allowOnly(url, []);
      const { contentType, body } = await this.exporter.render(req.headers.accept);
      res.writeHead(200, { 'content-type': contentType });
      res.end(body);
      return;
    }
    if (path.startsWith('/api/')) {
      if (this.opts.token && !tokenMatches(req.headers.authorization, this.opts.token)) {
        res.setHeader('www-authenticate', 'Bearer');
        throw new HttpError(401, 'Unauthorized', 'this API needs "Authorization: Bearer <token>"');
      }
      if (path === '/api/v1/cluster/status') {
        allowOnly(url, ['cluster']);
        sendJson(res, 200, this.statusOf(this.pickCluster(url)));
        return;
      }
      if (path === '/api/v1/metrics/current') {
        allowOnly(url, ['cluster']);
        const m = this.pickCluster(url);
        const r = m.latest;
        if (!r)
          throw new HttpError(503, 'NotProbedYet', `cluster "${m.name}" has not completed a probe round yet`);
        sendJson(res, 200, currentFigures(r));
        return;
      }
      if (path === '/api/v1/clusters') {
        allowOnly(url, []);
        sendJson(res, 200, { clusters: this.monitors.list().map(clusterSummary) });
        return;
      }
      const m = /^\/api\/v1\/clusters\/(.+)$/.exec(path);
      if (m) {
        allowOnly(url, []);
        const name = decodeURIComponent(m[1]!);
        const mon = this.monitors.get(name);
        if (!mon)
          throw new HttpError(404, 'ClusterNotFound', `no monitored cluster named "${name}"`, {
            clusters: this.monitors.list().map((x) => x.name),
          });
        sendJson(res, 200, this.statusOf(mon));
        return;
      }
    }
    for (const route of this.opts.extraRoutes ?? []) {
      if (await route(req, res, url)) return;
    }
    throw new HttpError(404, 'NotFound', `no route ${path}`);
  }
}
