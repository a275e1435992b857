/**
 * `etcd-monitor advise`: watch one cluster for a while (read-only), then print status.capacity and
 * status.advice as a table (or JSON). Exit 1 when any advice is a warning or critical.
 */
import type { Advice, EtcdMonitorStatus } from '../crd/types.js';
import { EtcdProber } from '../etcd/probe.js';
import { emptyMemory, evaluate, type Memory } from '../health/evaluate.js';
import { humanBytes } from '../health/format.js';
import { CONNECTION_FLAGS, choiceFlag, connectionConfig, durationFlag, str, type Values } from './args.js';
import { runCommand } from './command.js';
import type { Io } from './io.js';
import { renderTable } from './table.js';
import { THRESHOLD_FLAGS, thresholdsFromFlags } from './thresholdFlags.js';
import { ADVISE_USAGE } from './usage.js';

const ADVISE_FLAGS = {
  ...CONNECTION_FLAGS,
  ...THRESHOLD_FLAGS,
  'defrag-fragmentation-percent': { type: 'string' },
  'defrag-reclaimable-bytes': { type: 'string' },
  duration: { type: 'string' },
  interval: { type: 'string' },
  'write-out': { type: 'string', short: 'w' },
} as const;

export function runAdvise(argv: string[], io: Io, signal?: AbortSignal): Promise<number> {
  return runCommand(
    argv,
    io,
    { name: 'etcd-monitor advise', usage: ADVISE_USAGE, flags: ADVISE_FLAGS },
    (v) => advise(v, io, signal),
  );
}

function evidenceText(a: Advice): string {
  const e = a.evidence;
  return `${e.value} ${e.unit} (threshold ${e.threshold})${e.window ? ` over ${e.window}` : ''}`;
}

export function adviceTable(s: EtcdMonitorStatus): string {
  const c = s.capacity;
  const lines: string[] = [];
  if (c) {
    const fig = (label: string, v: string | number | undefined): void => {
      if (v !== undefined) lines.push(`  ${label.padEnd(24)} ${v}`);
    };
    lines.push('Capacity:');
    fig(
      'db size',
      humanBytes(s.dbSizeBytes) + (s.dbQuotaBytes ? ` of ${humanBytes(s.dbQuotaBytes)} quota` : ''),
    );
    fig(
      'growth',
      c.dbGrowthBytesPerHour !== undefined ? `${humanBytes(c.dbGrowthBytesPerHour)}/h` : undefined,
    );
    fig('quota full at', c.quotaExhaustionTime);
    fig(
      'fragmentation',
      c.fragmentationPercent !== undefined
        ? `${c.fragmentationPercent}% (${humanBytes(c.reclaimableBytes)} reclaimable)`
        : undefined,
    );
    fig('write revisions/s', c.writeRevisionsPerSecond);
    fig('requests/s', c.requestsPerSecond);
    fig('hardware-guide tier', c.sizeTier);
    fig('history', `${c.historyRounds} rounds over ${c.historySeconds}s`);
    for (const n of c.notes ?? []) lines.push(`  note: ${n}`);
    lines.push('');
  }
  const advice = s.advice ?? [];
  if (advice.length === 0) {
    lines.push('No advice.');
    return lines.join('\n');
  }
  const rows = [['#', 'SEVERITY', 'CODE', 'MEMBER', 'EVIDENCE']];
  advice.forEach((a, i) =>
    rows.push([`${i + 1}`, a.severity.toUpperCase(), a.code, a.member ?? '', evidenceText(a)]),
  );
  lines.push(renderTable(rows), '');
  advice.forEach((a, i) => lines.push(`${i + 1}. ${a.message}`, `   see ${a.evidence.doc}`));
  return lines.join('\n');
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

async function advise(v: Values, io: Io, signal?: AbortSignal): Promise<number> {
  const cfg = connectionConfig(v, io.env);
  const out = choiceFlag(v, 'write-out', ['table', 'json'] as const, 'table');
  const durationMs = durationFlag(v, 'duration', 30_000);
  const intervalMs = durationFlag(v, 'interval', 1000);
  const thresholds = thresholdsFromFlags(v);
  // The windows are the watch itself unless --advice-window says otherwise.
  if (str(v, 'advice-window') === undefined) thresholds.adviceWindowMs = Math.max(10_000, durationMs);
  const prober = new EtcdProber(cfg.endpoints, cfg.conn, {
    timeoutMs: Math.min(cfg.timeoutMs, intervalMs),
    metrics: true,
  });
  let memory: Memory = emptyMemory();
  let status: EtcdMonitorStatus | undefined;
  try {
    await prober.connect(cfg.timeoutMs);
    const end = Date.now() + durationMs;
    io.err(`watching ${cfg.endpoints.length} members for ${Math.round(durationMs / 1000)}s …`);
    do {
      const t0 = Date.now();
      const e = evaluate(await prober.probe(t0), status, memory, { thresholds });
      memory = e.memory;
      status = e.status;
      await sleep(Math.max(0, Math.min(intervalMs - (Date.now() - t0), end - Date.now())), signal);
    } while (Date.now() < end && !signal?.aborted);
  } finally {
    prober.close();
  }
  io.out(
    out === 'json'
      ? JSON.stringify(
          { cluster: cfg.clusterName, phase: status.phase, capacity: status.capacity, advice: status.advice },
          null,
          2,
        )
      : adviceTable(status),
  );
  return (status.advice ?? []).some((a) => a.severity !== 'info') ? 1 : 0;
}
