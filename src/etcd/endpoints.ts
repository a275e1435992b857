/** Parsing and validation of etcd client endpoints ("host:port", "http://host:port", "https://host:port"). */

export interface Endpoint {
  /** The endpoint as the user wrote it (used as the member key until a name is known). */
  readonly raw: string;
  readonly scheme: 'http' | 'https';
  readonly host: string;
  readonly port: number;
  /** host:port form suitable for a gRPC target. */
  readonly authority: string;
  /** Normalised URL, e.g. "http://127.0.0.1:2379". */
  readonly url: string;
}

export class EndpointError extends Error {}

const HOSTPORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

/** Parse one endpoint. A bare host:port uses `defaultScheme` (https when TLS material was given). */
export function parseEndpoint(raw: string, defaultScheme: 'http' | 'https' = 'http'): Endpoint {
  const text = raw.trim();
  if (text === '') throw new EndpointError('empty endpoint');
  let scheme: 'http' | 'https' = defaultScheme;
  let rest = text;
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/(.*)$/.exec(text);
  if (m) {
    const s = m[1]!.toLowerCase();
    if (s !== 'http' && s !== 'https') {
      throw new EndpointError(`endpoint "${raw}": unsupported scheme "${s}" (use http or https)`);
    }
    scheme = s;
    rest = m[2]!.replace(/\/+$/, '');
    if (rest.includes('/')) throw new EndpointError(`endpoint "${raw}": a path is not allowed`);
  }
  const hp = HOSTPORT.exec(rest);
  if (!hp) throw new EndpointError(`endpoint "${raw}": expected host:port or a http(s):// URL with a port`);
  const host = hp[1]!;
  const port = Number(hp[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new EndpointError(`endpoint "${raw}": port ${hp[2]} out of range`);
  }
  const authority = `${host}:${port}`;
  return { raw: text, scheme, host, port, authority, url: `${scheme}://${authority}` };
}

/** Parse a comma-separated or array list; rejects empty lists and duplicates. */
export function parseEndpoints(
  list: string | readonly string[],
  defaultScheme: 'http' | 'https' = 'http',
): Endpoint[] {
  const items = typeof list === 'string' ? list.split(',') : [...list];
  const cleaned = items.map((s) => s.trim()).filter((s) => s !== '');
  if (cleaned.length === 0) throw new EndpointError('no endpoints given');
  const out = cleaned.map((e) => parseEndpoint(e, defaultScheme));
  const seen = new Set<string>();
  for (const e of out) {
    if (seen.has(e.url)) throw new EndpointError(`duplicate endpoint "${e.raw}"`);
    seen.add(e.url);
  }
  return out;
}
