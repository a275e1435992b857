/**
 * Fetch a member's own /metrics over HTTP(S) with a hard deadline, gzip-compressed when the server
 * offers it. etcd's handler (client_golang's promhttp, in 3.4, 3.5 and 3.6) compresses its ~220 KiB of
 * text to ~13 KiB: the body then arrives in ~10 socket reads instead of ~85. `npm run bench:cost
 * -- --also-no-gzip` measures both (bench/results/cost.json).
 */
import http from 'node:http';
import https from 'node:https';
import zlib from 'node:zlib';
import type { TlsMaterial } from './grpc.js';

/** Largest body accepted, compressed or not (and the largest a compressed one may inflate to). */
const MAX_BYTES = 32 * 1024 * 1024;

export interface FetchOptions {
  /** Keep-alive agents to reuse connections with (one per scheme); default: a new connection per request. */
  agents?: ScrapeAgents;
  /** Ask for `Content-Encoding: gzip` (default true); an uncompressed answer is read as it streams in. */
  gzip?: boolean;
  /** The Accept header (default: the text exposition, `text/plain;version=0.0.4`). */
  accept?: string;
  /** Told the response's Content-Type before the first chunk of its body. */
  onContentType?: (contentType: string | undefined) => void;
}

/**
 * A gzip body, inflated in one call into one buffer, sized by the gzip trailer's ISIZE (the length
 * of the data, mod 2^32), so zlib neither hands it over in 16 KiB pieces nor allocates more than it
 * needs (a wrong ISIZE only costs more pieces). Synchronous: ~0.1 ms for etcd's /metrics.
 */
function gunzip(compressed: Buffer[], url: string): Buffer {
  const input = compressed.length === 1 ? compressed[0]! : Buffer.concat(compressed);
  const isize = input.length >= 18 ? input.readUInt32LE(input.length - 4) : 0;
  const chunkSize = Math.min(MAX_BYTES, Math.max(64 * 1024, isize + 1));
  try {
    return zlib.gunzipSync(input, { chunkSize, maxOutputLength: MAX_BYTES });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ERR_BUFFER_TOO_LARGE')
      throw new Error(`GET ${url}: response larger than ${MAX_BYTES} bytes`);
    throw new Error(`GET ${url}: bad gzip body: ${err.message}`);
  }
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
 * GET `url` and hand the body to `onChunk`: an uncompressed one chunk by chunk as it arrives (nothing
 * buffered whole), a gzip one inflated at its end in one piece (only the compressed bytes are buffered).
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
      const accept = o.accept ?? 'text/plain;version=0.0.4';
      const opts: https.RequestOptions = {
        method: 'GET',
        headers: o.gzip === false ? { accept } : { accept, 'accept-encoding': 'gzip' },
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
        const encoding = (res.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
        if (encoding !== 'identity' && encoding !== 'gzip') {
          res.resume();
          reject(new Error(`GET ${url}: unsupported Content-Encoding "${encoding}"`));
          return;
        }
        o.onContentType?.(res.headers['content-type']);
        const compressed: Buffer[] | undefined = encoding === 'gzip' ? [] : undefined;
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_BYTES) {
            req.destroy(new Error(`GET ${url}: response larger than ${MAX_BYTES} bytes`));
            return;
          }
          if (compressed) {
            compressed.push(c);
            return;
          }
          try {
            onChunk(c);
          } catch (e) {
            req.destroy(e as Error);
          }
        });
        res.on('end', () => {
          try {
            if (compressed) onChunk(gunzip(compressed, url));
            resolve();
          } catch (e) {
            reject(e as Error);
          }
        });
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
