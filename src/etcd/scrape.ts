/** Fetch a member's own /metrics over HTTP(S) with a hard deadline. */
import http from 'node:http';
import https from 'node:https';
import type { TlsMaterial } from './grpc.js';

const MAX_BYTES = 32 * 1024 * 1024;

export function fetchText(url: string, timeoutMs: number, tls?: TlsMaterial): Promise<string> {
  return new Promise((resolve, reject) => {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      reject(new Error(`bad metrics URL "${url}"`));
      return;
    }
    const isHttps = u.protocol === 'https:';
    const opts: https.RequestOptions = { method: 'GET', headers: { accept: 'text/plain;version=0.0.4' }, agent: false };
    if (isHttps) {
      if (tls?.ca) opts.ca = tls.ca;
      if (tls?.cert) opts.cert = tls.cert;
      if (tls?.key) opts.key = tls.key;
      if (tls?.serverName) opts.servername = tls.serverName;
      if (tls?.insecureSkipVerify) opts.rejectUnauthorized = false;
    }
    const req = (isHttps ? https : http).request(u, opts, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`GET ${url}: HTTP ${res.statusCode}`));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BYTES) {
          req.destroy(new Error(`GET ${url}: response larger than ${MAX_BYTES} bytes`));
          return;
        }
        chunks.push(c);
      });
      res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      res.on('error', reject);
    });
    const timer = setTimeout(() => req.destroy(new Error(`GET ${url}: no answer within ${timeoutMs}ms`)), timeoutMs);
    req.on('error', (e) => reject(e));
    req.on('close', () => clearTimeout(timer));
    req.end();
  });
}
