/**
 * What every subcommand shares: flag parsing, `--help`, usage errors (exit 2), waiting for a stop signal,
 * and serving the HTTP API with the dashboard (monitor and operator).
 */
import { createDashboard } from '../api/dashboard/index.js';
import { ApiServer } from '../api/server.js';
import type { Logger } from '../log.js';
import type { MetricsExporter } from '../metrics/exporter.js';
import type { MonitorRegistry } from '../monitor/registry.js';
import { UsageError, parseCommandLine, type Options, type Values } from './args.js';
import type { Io } from './io.js';

export interface CommandInfo {
  /** How errors name the command, e.g. "etcd-monitor monitor". */
  name: string;
  usage: string;
  flags: Options;
  /** Positional arguments allowed (default none). */
  positionals?: number;
}

/**
 * Parse `argv` against the command's flags, print the usage on `--help` (exit 0), else run `body`.
 * A UsageError, from parsing or from `body`, prints "name: message" and the usage: exit 2.
 */
export async function runCommand(
  argv: string[],
  io: Io,
  cmd: CommandInfo,
  body: (v: Values, positionals: string[]) => Promise<number> | number,
): Promise<number> {
  try {
    const { values, positionals } = parseCommandLine(argv, cmd.flags, cmd.positionals ?? 0);
    if (values.help) {
      io.out(cmd.usage);
      return 0;
    }
    return await body(values, positionals);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`${cmd.name}: ${e.message}\n\n${cmd.usage}`);
      return 2;
    }
    throw e;
  }
}

/** Resolves on SIGINT, SIGTERM or `signal`'s abort, whichever comes first. */
export function waitForStop(signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      signal?.removeEventListener('abort', stop);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    signal?.addEventListener('abort', stop, { once: true });
  });
}

export interface ServeOptions {
  host: string;
  port: number;
  token?: string;
  /** What /readyz answers. */
  ready: () => boolean;
}

export interface Serving {
  api: ApiServer;
  /** Close it before the API: its event streams would keep the server open. */
  dashboard: { close(): void };
  /** The address it listens on, for logs (an IPv6 host in brackets). */
  listenUrl: string;
  /** Where a client on this host reaches it (0.0.0.0 as 127.0.0.1). */
  url: string;
}

/** Serve the HTTP API (/metrics, /api/v1, health) with the live dashboard for `registry`. */
export async function startServing(
  registry: MonitorRegistry,
  exporter: MetricsExporter,
  o: ServeOptions,
  log: Logger,
): Promise<Serving> {
  const dashboard = createDashboard(registry, { token: o.token });
  const api = new ApiServer(
    registry,
    exporter,
    { host: o.host, port: o.port, token: o.token, ready: o.ready, extraRoutes: dashboard.routes },
    log,
  );
  const addr = await api.listen();
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    api,
    listenUrl: `http://${host}:${addr.port}`,
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${addr.port}`,
    dashboard,
  };
}
