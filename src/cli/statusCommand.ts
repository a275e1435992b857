/** `etcd-monitor status`: one probe round, a table, exit 0 when healthy. */
import { DEFAULT_THRESHOLDS, emptyMemory, evaluate } from '../health/evaluate.js';
import { EtcdProber } from '../etcd/probe.js';
import { CONNECTION_FLAGS, UsageError, choiceFlag, connectionConfig, parseFlags } from './args.js';
import type { Io } from './main.js';
import { statusTable } from './table.js';
import { STATUS_USAGE } from './usage.js';

export async function runStatus(argv: string[], io: Io): Promise<number> {
  let v;
  try {
    v = parseFlags(argv, { ...CONNECTION_FLAGS, 'write-out': { type: 'string', short: 'w' } });
  } catch (e) {
    io.err(`etcd-monitor status: ${(e as Error).message}\n\n${STATUS_USAGE}`);
    return 2;
  }
  if (v.help) {
    io.out(STATUS_USAGE);
    return 0;
  }
  let cfg;
  let out: 'table' | 'json';
  try {
    cfg = connectionConfig(v, io.env);
    out = choiceFlag(v, 'write-out', ['table', 'json'] as const, 'table');
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`etcd-monitor status: ${e.message}\n\n${STATUS_USAGE}`);
      return 2;
    }
    throw e;
  }
  const prober = new EtcdProber(cfg.endpoints, cfg.conn, { timeoutMs: cfg.timeoutMs, metrics: true });
  try {
    // A read that sets up its connection times the set-up, not etcd (no latency sample): connect first.
    await prober.connect(cfg.timeoutMs);
    const obs = await prober.probe(Date.now());
    const { status } = evaluate(obs, undefined, emptyMemory(), { thresholds: DEFAULT_THRESHOLDS });
    io.out(out === 'json' ? JSON.stringify({ cluster: cfg.clusterName, ...status }, null, 2) : statusTable(status));
    return status.healthy ? 0 : 1;
  } finally {
    prober.close();
  }
}
