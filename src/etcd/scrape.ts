/** Fetch a member's own /metrics over HTTP(S) with a hard deadline. */
import http from 'node:http';
import https from 'node:https';
import type { TlsMaterial } from './grpc.js';

const MAX_BYTES = 32 * 1024 * 1024;

export interface FetchOptions {
  /** Keep-alive agents to reuse connections with (one per scheme); default: a new connection per request. */
  agents?: ScrapeAgents;
}

/**
 * Keep-alive connections for one prober's scrapes: one socket per member, reused every round instead
 * of a TCP (and TLS) handshake per member per round. Idle sockets close after `idleMs`.
 */
export class ScrapeAgents {
  private httpAgent: http.Agent | undefined;
  private httpsAgent: https.Agent | undefined;

  constructor(private readonly idleMs = 60_000) {}

  get(isHttps: boolean): http.Agent {
    const o = { keepAlive: true, maxSockets: 2, maxFreeSockets: 1, timeout: this.idleMs };
    if (isHttps) return (this.httpsAgent ??= new https.Agent(o));
    return (this.httpAgent ??= new http.Agent(o));
  }

  destroy(): void {
    this.httpAgent?.destroy();
    this.httpsAgent?.destroy();
  }
}

/**
 * GET `url` and hand each chunk of the body to `onChunk` as it arrives (nothing is buffered whole).
 * A request on a reused keep-alive connection that the server had already closed is sent once more
 * on a new connection (the request never reached the member); nothing else is retried.
 */
export function fetchChunks(
  url: string,
  timeoutMs: number,
  tls: TlsMaterial | undefined,
  onChunk: (c: Buffer) => void,
  o: FetchOptions = {},
): Promise<void> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return Promise.reject(new Error(`bad metrics URL "${url}"`));
  }
  const isHttps = u.protocol === 'https:';
  const deadline = Date.now() + timeoutMs;
  const attempt = (reuse: boolean): Promise<void> =>
    new Promise((resolve, reject) => {
      const opts: https.RequestOptions = {
        method: 'GET',
        headers: { accept: 'text/plain;version=0.0.4' },
        agent: reuse && o.agents ? o.agents.get(isHttps) : false,
      };
      if (isHttps) {
        if (tls?.ca) opts.ca = tls.ca;
        if (tls?.cert) opts.cert = tls.cert;
        if (tls?.key) opts.key = tls.key;
        if (tls?.serverName) opts.servername = tls.serverName;
        if (tls?.insecureSkipVerify) opts.rejectUnauthorized = false;
      }
      let answered = false;
      const req = (isHttps ? https : http).request(u, opts, (res) => {
        answered = true;
        if (res.statusCode !== 200) {
          res.resume();
          reject(new Error(`GET ${url}: HTTP ${res.statusCode}`));
          return;
        }
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_BYTES) {
            req.destroy(new Error(`GET ${url}: response larger than ${MAX_BYTES} bytes`));
            return;
          }
          try {
            onChunk(c);
          } catch (e) {
            req.destroy(e as Error);
          }
        });
        res.on('end', () => resolve());
        res.on('error', reject);
      });
      const timer = setTimeout(
        () => req.destroy(new Error(`GET ${url}: no answer within ${timeoutMs}ms`)),
        Math.max(0, deadline - Date.now()),
      );
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (
          !answered &&
          req.reusedSocket &&
          (e.code === 'ECONNRESET' || e.code === 'EPIPE') &&
          Date.now() < deadline
        ) {
          clearTimeout(timer);
          attempt(false).then(resolve, reject);
          return;
        }
        reject(e);
      });
      req.on('close', () => clearTimeout(timer));
      req.end();
    });
  return attempt(true);
}

/** GET `url` and return the whole body as text. */
export async function fetchText(
  url: string,
  timeoutMs: number,
  tls?: TlsMaterial,
  o: FetchOptions = {},
): Promise<string> {
  const chunks: Buffer[] = [];
  await fetchChunks(url, timeoutMs, tls, (c) => chunks.push(c), o);
  return Buffer.concat(chunks).toString('utf8');
}
