/** The `status` command's table (pure). */
import type { EtcdMonitorStatus } from '../crd/types.js';
import { humanBytes, humanMs } from '../health/format.js';

export function renderTable(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string => '| ' + r.map((c, i) => c.padEnd(widths[i]!)).join(' | ') + ' |';
  const sep = '+' + widths.map((w) => '-'.repeat(w + 2)).join('+') + '+';
  return [sep, line(rows[0]!), sep, ...rows.slice(1).map(line), sep].join('\n');
}

export function statusTable(s: EtcdMonitorStatus): string {
  const header = [
    'ENDPOINT',
    'NAME',
    'ID',
    'VERSION',
    'DB SIZE',
    'IN USE',
    'IS LEADER',
    'IS LEARNER',
    'RAFT TERM',
    'RAFT INDEX',
    'APPLIED',
    'HEALTH',
    'TOOK',
    'ERRORS',
  ];
  const rows = s.members.map((m) => [
    m.endpoint,
    m.name,
    m.id || '-',
    m.version ?? '-',
    humanBytes(m.dbSizeBytes),
    humanBytes(m.dbSizeInUseBytes),
    String(m.role === 'Leader'),
    String(m.role === 'Learner'),
    m.raftTerm?.toString() ?? '-',
    m.raftIndex?.toString() ?? '-',
    m.raftAppliedIndex?.toString() ?? '-',
    m.healthy ? 'healthy' : 'unhealthy',
    humanMs(m.probeLatencyMs),
    m.errors.length === 0
      ? ''
      : m.errors.length === 1
        ? shorten(m.errors[0]!)
        : `${m.errors.length} errors (below)`,
  ]);
  const leader = s.leader ? `${s.leader.name} (${s.leader.id})` : 'none';
  const alarms = s.alarms.length ? s.alarms.map((a) => `${a.type}@${a.memberID}`).join(', ') : 'none';
  const summary = [
    `cluster ${s.clusterID ?? '-'}: ${s.phase}  healthy=${s.healthy}  leader=${leader}  members=${s.summary.members} (quorum ${s.quorumSize})  alarms=${alarms}`,
  ];
  for (const m of s.members) {
    if (m.errors.length > 1 || (m.errors[0] && m.errors[0].length > 60)) {
      summary.push(`errors of ${m.endpoint}:`, ...m.errors.map((e) => `  - ${e}`));
    }
  }
  const bad = s.conditions.filter((c) =>
    c.type === 'Degraded' ? c.status === 'True' : c.status === 'False',
  );
  for (const c of bad) summary.push(`  ${c.type}=${c.status} ${c.reason}: ${c.message}`);
  return renderTable([header, ...rows]) + '\n' + summary.join('\n');
}

function shorten(s: string, max = 60): string {
  return s.length <= max ? s : s.slice(0, max - 1) + '…';
}
