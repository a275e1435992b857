/**
 * The built-in live dashboard (SPEC §5 `GET /`), as extra routes for the API server. The same wiring
 * serves one cluster (standalone) or many (operator): everything comes from the registry.
 *
 *   GET /                         the page (static; open even with --api-token: it asks for the token)
 *   GET /dashboard/*              its CSS/JS (embedded in the build, ETag + gzip)
 *   GET /events[?cluster=]        Server-Sent Events (token: Bearer header or the session cookie)
 *   GET /api/v1/history[?cluster=]  the recent history as JSON (token: Bearer header, like all of /api)
 *   GET /api/v1/dashboard/session  Bearer-checked sign-in for the page: sets the session cookie
 *   GET /dashboard/signout        clears the session cookie
 */
import { createHash } from 'node:crypto';
import type http from 'node:http';
import { gzipSync } from 'node:zlib';
import { HistoryStore } from './history.js';
import type { MonitorRegistry } from '../../monitor/registry.js';
import { HttpError, allowOnly, pickCluster, sendJson, type ApiOptions } from '../server.js';
import { DASHBOARD_ASSETS } from './assets.generated.js';
import { DEFAULT_HEARTBEAT_MS, EventHub } from './events.js';
import type { HistoryResponse } from './wire.js';
import { clearedSessionCookie, sessionCookie, streamAuthorized } from './session.js';

export type ExtraRoute = NonNullable<ApiOptions['extraRoutes']>[number];

export interface DashboardOptions {
  /** The API token (--api-token); when set, /events and /api/v1/history need it. */
  token?: string;
  /** Rounds kept per cluster (default 360). */
  historyCapacity?: number;
  heartbeatMs?: number;
}

export interface Dashboard {
  history: HistoryStore;
  events: EventHub;
  /** Pass as ApiOptions.extraRoutes. */
  routes: ExtraRoute[];
  /**
   * End the event streams and stop recording. Call it BEFORE stopping the registry on shutdown: otherwise
   * open pages are told every cluster was removed (rather than just losing the connection and retrying).
   */
  close(): void;
}

interface PreparedAsset {
  contentType: string;
  body: Buffer;
  gzip: Buffer;
  etag: string;
}

const PAGE_HEADERS: Record<string, string> = {
  // Everything is served by us: no inline script, no third party, no framing.
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

function prepare(): Map<string, PreparedAsset> {
  const out = new Map<string, PreparedAsset>();
  for (const a of DASHBOARD_ASSETS) {
    const body = Buffer.from(a.body, 'utf8');
    out.set(a.path, {
      contentType: a.contentType,
      body,
      gzip: gzipSync(body, { level: 9 }),
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
    });
  }
  return out;
}

function serveAsset(req: http.IncomingMessage, res: http.ServerResponse, a: PreparedAsset): void {
  const headers: Record<string, string> = {
    'content-type': a.contentType,
    // Revalidate every time (cheap: ETag) so a monitor upgrade never leaves an old page behind.
    'cache-control': 'no-cache',
    etag: a.etag,
    vary: 'accept-encoding',
    ...PAGE_HEADERS,
  };
  const inm = req.headers['if-none-match'];
  if (inm && inm.split(',').some((t) => t.trim() === a.etag)) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  const gz = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
  const body = gz ? a.gzip : a.body;
  if (gz) headers['content-encoding'] = 'gzip';
  headers['content-length'] = String(body.length);
  res.writeHead(200, headers);
  res.end(req.method === 'HEAD' ? undefined : body);
}

export function createDashboard(registry: MonitorRegistry, opts: DashboardOptions = {}): Dashboard {
  const history = new HistoryStore(registry, opts.historyCapacity);
  const events = new EventHub(registry, history, opts.heartbeatMs ?? DEFAULT_HEARTBEAT_MS);
  const assets = prepare();
  const token = opts.token || undefined;

  const route: ExtraRoute = (req, res, url) => {
    const path = url.pathname;
    if (path === '/' || path === '/index.html') {
      // The page reads its own ?cluster= / #cluster=; other query parameters are ignored.
      serveAsset(req, res, assets.get('/')!);
      return true;
    }
    const asset = path.startsWith('/dashboard/') ? assets.get(path) : undefined;
    if (asset) {
      allowOnly(url, ['v']);
      serveAsset(req, res, asset);
      return true;
    }
    if (path === '/dashboard/signout') {
      allowOnly(url, []);
      res.writeHead(303, {
        location: '/',
        'set-cookie': clearedSessionCookie(req),
        'cache-control': 'no-store',
      });
      res.end();
      return true;
    }
    if (path === '/events') {
      // Check the credential before the query so an unauthenticated caller learns nothing about cluster names.
      if (!streamAuthorized(req, token)) {
        res.setHeader('www-authenticate', 'Bearer');
        throw new HttpError(
          401,
          'Unauthorized',
          'this stream needs "Authorization: Bearer <token>" or the dashboard session cookie (sign in on the dashboard page)',
        );
      }
      allowOnly(url, ['cluster']);
      const selected = url.searchParams.has('cluster') ? pickCluster(registry, url) : undefined;
      if (req.method === 'HEAD') {
        res.writeHead(200, {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-store',
        });
        res.end();
        return true;
      }
      events.open(req, res, selected);
      return true;
    }
    // Below: under /api/, so the API server has already checked the Bearer token.
    if (path === '/api/v1/history') {
      allowOnly(url, ['cluster']);
      const m = pickCluster(registry, url);
      const body: HistoryResponse = {
        cluster: m.name,
        intervalMs: m.config.intervalMs,
        capacity: history.capacity,
        points: history.points(m.name),
      };
      sendJson(res, 200, body);
      return true;
    }
    if (path === '/api/v1/dashboard/session') {
      allowOnly(url, []);
      if (token) res.setHeader('set-cookie', sessionCookie(req, token));
      sendJson(res, 200, { tokenRequired: token !== undefined, signedIn: true });
      return true;
    }
    return false;
  };

  return {
    history,
    events,
    routes: [route],
    close() {
      events.close();
      history.close();
    },
  };
}
