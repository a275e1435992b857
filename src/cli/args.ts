/** Flag parsing shared by the subcommands. A bad flag is a UsageError: the caller prints usage and exits 2. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { readFileSync } from 'node:fs';
import { parseDuration } from '../crd/duration.js';
import { parseEndpoints, type Endpoint } from '../etcd/endpoints.js';
import type { ConnectionOptions } from '../etcd/grpc.js';

export class UsageError extends Error {}

export type Options = NonNullable<ParseArgsConfig['options']>;

export const CONNECTION_FLAGS: Options = {
  endpoints: { type: 'string' },
  cacert: { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  'insecure-skip-tls-verify': { type: 'boolean' },
  'server-name': { type: 'string' },
  user: { type: 'string' },
  password: { type: 'string' },
  timeout: { type: 'string' },
  'cluster-name': { type: 'string' },
  'log-level': { type: 'string' },
  'log-format': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

export type Values = Record<string, string | boolean | undefined>;

export function parseFlags(argv: string[], options: Options): Values {
  return parseCommandLine(argv, options, 0).values;
}

/** Flags and up to `maxPositionals` positional arguments (more, or an unknown flag, is a UsageError). */
export function parseCommandLine(
  argv: string[],
  options: Options,
  maxPositionals: number,
): { values: Values; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args: argv, options, strict: true, allowPositionals: true });
    if (positionals.length > maxPositionals)
      throw new UsageError(`unexpected argument "${positionals[maxPositionals]}"`);
    return { values: values as Values, positionals };
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError((e as Error).message);
  }
}

export function str(v: Values, name: string): string | undefined {
  const x = v[name];
  return typeof x === 'string' ? x : undefined;
}

export function durationFlag(v: Values, name: string, fallbackMs: number): number {
  const s = str(v, name);
  if (s === undefined) return fallbackMs;
  try {
    // A bare number means seconds, as the guide's --health-check-interval=30 would.
    const ms = /^\d+(\.\d+)?$/.test(s) ? Number(s) * 1000 : parseDuration(s);
    if (ms <= 0) throw new Error('must be positive');
    return ms;
  } catch (e) {
    throw new UsageError(`--${name}: ${(e as Error).message}`);
  }
}

export function numberFlag(
  v: Values,
  name: string,
  fallback: number,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const s = str(v, name);
  if (s === undefined) return fallback;
  const n = Number(s);
  if (s.trim() === '' || !Number.isFinite(n) || n < min || n > max)
    throw new UsageError(`--${name}: expected a number from ${min} to ${max}, got "${s}"`);
  return n;
}

export function choiceFlag<T extends string>(v: Values, name: string, choices: readonly T[], fallback: T): T {
  const s = str(v, name);
  if (s === undefined) return fallback;
  if (!(choices as readonly string[]).includes(s))
    throw new UsageError(`--${name}: expected one of ${choices.join(', ')}, got "${s}"`);
  return s as T;
}

function readFlagFile(v: Values, name: string): Buffer | undefined {
  const p = str(v, name);
  if (p === undefined) return undefined;
  try {
    return readFileSync(p);
  } catch (e) {
    throw new UsageError(
      `--${name}: cannot read ${p}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
}

export interface ConnectionConfig {
  endpoints: Endpoint[];
  conn: ConnectionOptions;
  timeoutMs: number;
  clusterName: string;
}

export function connectionConfig(
  v: Values,
  env: NodeJS.ProcessEnv,
  defaultTimeoutMs = 5000,
): ConnectionConfig {
  const raw = str(v, 'endpoints') ?? env.ETCD_MONITOR_ENDPOINTS ?? env.ETCDCTL_ENDPOINTS;
  if (!raw)
    throw new UsageError(
      '--endpoints is required (e.g. --endpoints=localhost:2379,localhost:22379,localhost:32379)',
    );
  const ca = readFlagFile(v, 'cacert');
  const cert = readFlagFile(v, 'cert');
  const key = readFlagFile(v, 'key');
  if ((cert === undefined) !== (key === undefined)) throw new UsageError('--cert and --key go together');
  const insecure = v['insecure-skip-tls-verify'] === true;
  const tlsWanted = ca !== undefined || cert !== undefined || insecure;
  let endpoints: Endpoint[];
  try {
    endpoints = parseEndpoints(raw, tlsWanted ? 'https' : 'http');
  } catch (e) {
    throw new UsageError(`--endpoints: ${(e as Error).message}`);
  }
  const conn: ConnectionOptions = {};
  if (tlsWanted || endpoints.some((e) => e.scheme === 'https')) {
    conn.tls = { ca, cert, key, insecureSkipVerify: insecure, serverName: str(v, 'server-name') };
  }
  let user = str(v, 'user') ?? env.ETCD_MONITOR_USER ?? env.ETCDCTL_USER;
  let password = str(v, 'password') ?? env.ETCD_MONITOR_PASSWORD ?? env.ETCDCTL_PASSWORD;
  if (user !== undefined && password === undefined && user.includes(':')) {
    // etcdctl's --user=name:password form.
    const i = user.indexOf(':');
    password = user.slice(i + 1);
    user = user.slice(0, i);
  }
  if (user !== undefined) {
    if (password === undefined)
      throw new UsageError(
        '--user needs a password (--password, ETCD_MONITOR_PASSWORD or --user=name:password)',
      );
    conn.auth = { username: user, password };
  }
  const timeoutMs = durationFlag(v, 'timeout', defaultTimeoutMs);
  const clusterName = str(v, 'cluster-name') ?? 'default';
  if (clusterName.trim() === '') throw new UsageError('--cluster-name must not be empty');
  return { endpoints, conn, timeoutMs, clusterName };
}
