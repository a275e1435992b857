/** Start the standalone monitor in-process against a test cluster, on a free loopback port. */
import { startStandalone, type StandaloneApp } from '../../src/cli/monitorCommand.js';
import { parseEndpoints } from '../../src/etcd/endpoints.js';
import type { ConnectionOptions } from '../../src/etcd/grpc.js';
import { DEFAULT_THRESHOLDS, type Thresholds } from '../../src/health/evaluate.js';
import { silentLogger } from '../../src/log.js';

export interface TestMonitorOptions {
  intervalMs?: number;
  timeoutMs?: number;
  conn?: ConnectionOptions;
  token?: string;
  clusterName?: string;
  metrics?: boolean;
  writeProbe?: boolean;
  thresholds?: Partial<Thresholds>;
}

export async function startTestMonitor(
  endpoints: string[],
  o: TestMonitorOptions = {},
): Promise<StandaloneApp> {
  return startStandalone(
    {
      endpoints: parseEndpoints(endpoints),
      conn: o.conn ?? {},
      timeoutMs: o.timeoutMs ?? 1000,
      clusterName: o.clusterName ?? 'test',
    },
    {
      interval: o.intervalMs ?? 1000,
      apiHost: '127.0.0.1',
      apiPort: 0,
      apiToken: o.token,
      thresholds: { ...DEFAULT_THRESHOLDS, ...o.thresholds },
      logLevel: 'error',
    },
    { metrics: o.metrics ?? true, writeProbe: o.writeProbe ?? false },
    silentLogger(),
  );
}

export async function getJson(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: res.status, body };
}
