/** `etcd-monitor status`: one probe round, a table, exit 0 when healthy. */
import { DEFAULT_THRESHOLDS, emptyMemory, evaluate } from '../health/evaluate.js';
import { EtcdProber } from '../etcd/probe.js';
import { CONNECTION_FLAGS, choiceFlag, connectionConfig, type Values } from './args.js';
import { runCommand } from './command.js';
import type { Io } from './io.js';
import { statusTable } from './table.js';
import { STATUS_USAGE } from './usage.js';

const STATUS_FLAGS = { ...CONNECTION_FLAGS, 'write-out': { type: 'string', short: 'w' } } as const;

export function runStatus(argv: string[], io: Io): Promise<number> {
  return runCommand(
    argv,
    io,
    { name: 'etcd-monitor status', usage: STATUS_USAGE, flags: STATUS_FLAGS },
    (v) => probeOnce(v, io),
  );
}

async function probeOnce(v: Values, io: Io): Promise<number> {
  const cfg = connectionConfig(v, io.env);
  const out = choiceFlag(v, 'write-out', ['table', 'json'] as const, 'table');
  const prober = new EtcdProber(cfg.endpoints, cfg.conn, { timeoutMs: cfg.timeoutMs, metrics: true });
  try {
    // A read that sets up its connection times the set-up, not etcd (no latency sample): connect first.
    await prober.connect(cfg.timeoutMs);
    const obs = await prober.probe(Date.now());
    const { status } = evaluate(obs, undefined, emptyMemory(), { thresholds: DEFAULT_THRESHOLDS });
    io.out(
      out === 'json' ? JSON.stringify({ cluster: cfg.clusterName, ...status }, null, 2) : statusTable(status),
    );
    return status.healthy ? 0 : 1;
  } finally {
    prober.close();
  }
}
