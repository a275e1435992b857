/**
 * The observability artefacts against the real thing: Debian's Prometheus scrapes the standalone monitor
 * and a real 3-member etcd with the compose stack's scrape config (prometheus/prometheus.yml, only the
 * targets rewritten to loopback ports and the intervals shortened) and evaluates the real alert rules
 * (prometheus/rules/etcd-monitor-alerts.yml). Then:
 *
 *   * every panel query of grafana/dashboards/etcd-dash.json, with the dashboard's template variables
 *     filled in as Grafana would, succeeds and returns data on a healthy cluster (a panel that shows
 *     "No data" on a healthy cluster is a dashboard bug);
 *   * every alert rule evaluates without error, and no critical alert is pending or firing;
 *   * killing a follower makes the member-down alerts go pending.
 *
 * Needs `prometheus` (Debian package prometheus: bash scripts/install-deps.sh prometheus). Without it the
 * suite is skipped, except in CI (CI=true), where that is a failure.
 */
import { expect } from 'chai';
import { spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import type { StandaloneApp } from '../../src/cli/monitorCommand.js';
import { parseEndpoint } from '../../src/etcd/endpoints.js';
import { MemberClient } from '../../src/etcd/grpc.js';
import { EtcdCluster } from '../helpers/etcdCluster.js';
import { startTestMonitor } from '../helpers/monitor.js';
import { freePort } from '../helpers/ports.js';
import { startProcess, stopProcess, waitFor } from '../helpers/procs.js';

const PROM_CONFIG = 'prometheus/prometheus.yml';
const RULES = 'prometheus/rules/etcd-monitor-alerts.yml';
const DASHBOARD = 'grafana/dashboards/etcd-dash.json';
/** The monitor's --cluster-name: the value the dashboard's `cluster` variable must offer. */
const CLUSTER = 'prom-live';
const INTERVAL_S = 1;

/**
 * Panels (by "title (refId)") whose query may legitimately return nothing on a healthy, fresh cluster,
 * each with the reason. Keep it tiny: everything else must show data.
 */
const MAY_BE_EMPTY: Record<string, string> = {
  // The monitor here has no backup schedule. The other backup & defragmentation panels show "off",
  // "none" or a 0 line then; a quantile of no runs has no honest stand-in (a 0 would read "instant").
  'Backup duration (24h) (A)': 'p50 of the backups of the last 24h: none without a backup schedule',
  'Backup duration (24h) (B)': 'p99 of the backups of the last 24h: none without a backup schedule',
};

const inCI = /^(true|1)$/i.test(process.env.CI ?? '');

/** $PROMETHEUS_BIN if set, else Debian's /usr/bin/prometheus or prometheus on PATH; undefined if none runs. */
function prometheusBinary(): string | undefined {
  const env = process.env.PROMETHEUS_BIN;
  for (const c of env ? [env] : ['/usr/bin/prometheus', 'prometheus']) {
    const r = spawnSync(c, ['--version'], { timeout: 10_000, stdio: 'ignore' });
    if (r.status === 0) return c;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------
// The files read (only what is used).

interface StaticJob {
  job_name: string;
  static_configs: Array<{ targets: string[]; labels?: Record<string, string> }>;
  [k: string]: unknown;
}
interface PromConfig {
  global: Record<string, unknown>;
  rule_files?: string[];
  alerting?: unknown;
  scrape_configs: StaticJob[];
}
interface Target {
  expr: string;
  refId: string;
}
interface Panel {
  type: string;
  title: string;
  targets?: Target[];
  panels?: Panel[];
}
interface Variable {
  name: string;
  type: string;
  query: string | { query: string };
  current?: { value?: string | string[] };
  allValue?: string;
}
interface Dashboard {
  panels: Panel[];
  templating: { list: Variable[] };
  annotations: { list: Array<{ name: string; expr?: string }> };
}

// Prometheus HTTP API answers (only what is used).
interface Sample {
  metric: Record<string, string>;
  value?: [number, string];
  values?: Array<[number, string]>;
}
type QueryData =
  | { resultType: 'vector' | 'matrix'; result: Sample[] }
  | { resultType: 'scalar' | 'string'; result: [number, string] };
interface RuleState {
  name: string;
  query: string;
  type: 'alerting' | 'recording';
  health: string;
  lastError?: string;
  state?: 'inactive' | 'pending' | 'firing';
  labels?: Record<string, string>;
  alerts?: Array<{ labels: Record<string, string>; state: string }>;
}
interface RuleGroupState {
  name: string;
  file: string;
  rules: RuleState[];
  lastEvaluation: string;
}

function panelTargets(d: Dashboard): Array<{ where: string; expr: string }> {
  const out: Array<{ where: string; expr: string }> = [];
  const walk = (ps: Panel[]): void => {
    for (const p of ps) {
      for (const t of p.targets ?? []) out.push({ where: `${p.title} (${t.refId})`, expr: t.expr });
      walk(p.panels ?? []);
    }
  };
  walk(d.panels);
  return out;
}

/** RFC 3339 with up to nanoseconds -> ms since the epoch. */
const parseTime = (s: string): number => Date.parse(s.replace(/(\.\d{3})\d+/, '$1'));

const regexEscape = (s: string): string => s.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&');

function tail(file: string, lines = 30): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

// ---------------------------------------------------------------------------------------------------

describe("Debian's Prometheus scraping the monitor and a real 3-member etcd (compose scrape config)", function () {
  this.timeout(180_000);
  let dir: string | undefined;
  let cluster: EtcdCluster | undefined;
  let app: StandaloneApp | undefined;
  let prom: ChildProcess | undefined;
  let promUrl = '';
  let promLog = '';
  let ruleCount = 0;
  let clusterStarted = 0;
  const vars: Record<string, string> = {};

  const api = async <T>(route: string): Promise<T> => {
    const res = await fetch(`${promUrl}${route}`, { signal: AbortSignal.timeout(10_000) });
    const body = (await res.json()) as { status: string; data: T; error?: string; errorType?: string };
    if (res.status !== 200 || body.status !== 'success')
      throw new Error(`${route}: HTTP ${res.status} ${body.errorType ?? ''} ${body.error ?? ''}`);
    return body.data;
  };
  const query = (q: string): Promise<QueryData> =>
    api<QueryData>(`/api/v1/query?query=${encodeURIComponent(q)}`);
  const groups = async (): Promise<RuleGroupState[]> =>
    (await api<{ groups: RuleGroupState[] }>('/api/v1/rules')).groups;

  /**
   * A light, steady load for the whole test: a put and a read every 100ms, round-robin over the members.
   * A real cluster always writes (Kubernetes renews leases every few seconds); on one with no writes at all
   * the monitor's write p99 is absent by design (SPEC: not measurable, never a made-up 0).
   */
  let loading: Promise<void> | undefined;
  let stopLoad = false;
  const startLoad = (): void => {
    const clients = cluster!.endpoints.map((u) => new MemberClient(parseEndpoint(u)));
    loading = (async () => {
      for (let i = 0; !stopLoad; i++) {
        const c = clients[i % clients.length]!;
        const key = Buffer.from(`/prom-live/k${i % 50}`);
        try {
          await c.put(key, Buffer.from(`v${i}`), 2000);
          await c.get(key, 2000);
        } catch {
          /* a killed member: the others carry on */
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      for (const c of clients) c.close();
    })();
  };

  before(async function () {
    const bin = prometheusBinary();
    if (!bin) {
      const msg =
        'prometheus not found (install it: bash scripts/install-deps.sh prometheus, or set PROMETHEUS_BIN)';
      if (inCI) throw new Error(msg);
      console.warn(`      skipped: ${msg}`);
      this.skip();
    }

    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'etcd-monitor-prom-live-'));
    cluster = await EtcdCluster.start({ size: 3, dataRoot: path.join(dir, 'etcd') });
    clusterStarted = Date.now();
    app = await startTestMonitor(cluster.endpoints, {
      clusterName: CLUSTER,
      intervalMs: INTERVAL_S * 1000,
      timeoutMs: 1000,
    });
    startLoad();

    // The compose config with only the targets (compose host names) rewritten to the loopback ports.
    const promPort = await freePort();
    const hostPort = (url: string): string => new URL(url).host;
    const rewrite = (t: string): string => {
      if (t === 'etcd-monitor:8080') return hostPort(app!.url);
      if (t === 'localhost:9090') return `127.0.0.1:${promPort}`;
      const m = /^etcd(\d+):2379$/.exec(t);
      const member = m ? cluster!.members[Number(m[1]) - 1] : undefined;
      if (member) return hostPort(member.clientUrl);
      throw new Error(`${PROM_CONFIG}: target ${t} has no local counterpart in this test`);
    };
    const cfg = YAML.parse(fs.readFileSync(PROM_CONFIG, 'utf8')) as PromConfig;
    cfg.global = {
      ...cfg.global,
      scrape_interval: `${INTERVAL_S}s`,
      scrape_timeout: `${INTERVAL_S}s`,
      evaluation_interval: `${INTERVAL_S}s`,
    };
    cfg.rule_files = [path.resolve(RULES)];
    delete cfg.alerting; // no Alertmanager here: the alerts' state is read from /api/v1/rules
    for (const job of cfg.scrape_configs)
      for (const sc of job.static_configs) sc.targets = sc.targets.map(rewrite);
    expect(cfg.scrape_configs.map((j) => j.job_name)).to.have.members([
      'etcd-monitor',
      'etcd-cluster',
      'prometheus',
    ]);
    const cfgFile = path.join(dir, 'prometheus.yml');
    fs.writeFileSync(cfgFile, YAML.stringify(cfg));
    const ruleFile = YAML.parse(fs.readFileSync(RULES, 'utf8')) as { groups: Array<{ rules: unknown[] }> };
    ruleCount = ruleFile.groups.reduce((n, g) => n + g.rules.length, 0);

    promUrl = `http://127.0.0.1:${promPort}`;
    promLog = path.join(dir, 'prometheus.log');
    prom = startProcess(
      bin!,
      [
        `--config.file=${cfgFile}`,
        `--storage.tsdb.path=${path.join(dir, 'tsdb')}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
        '--log.level=warn',
      ],
      { logFile: promLog },
    );
    try {
      await waitFor(
        'Prometheus ready',
        async () => {
          if (prom!.exitCode !== null) throw new Error(`prometheus exited with ${prom!.exitCode}`);
          const r = await fetch(`${promUrl}/-/ready`, { signal: AbortSignal.timeout(2000) });
          return r.status === 200;
        },
        30_000,
        200,
      );
      // Every target (1 monitor, 3 members, Prometheus itself) up, each scraped a few times.
      await waitFor(
        'all 5 targets up',
        async () => {
          const t = await api<{ activeTargets: Array<{ health: string }> }>('/api/v1/targets?state=active');
          return t.activeTargets.length === 5 && t.activeTargets.every((x) => x.health === 'up');
        },
        30_000,
        500,
      );
      await waitFor(
        'five scrapes of every target',
        async () => {
          const r = await query('count(count_over_time(up[1m]) >= 5)');
          return r.resultType === 'vector' && r.result[0]?.value?.[1] === '5';
        },
        30_000,
        500,
      );
    } catch (e) {
      throw new Error(`${(e as Error).message}\n--- prometheus log\n${tail(promLog)}`);
    }

    // The dashboard's variables, resolved the way Grafana does (query variables asked of Prometheus).
    const d = JSON.parse(fs.readFileSync(DASHBOARD, 'utf8')) as Dashboard;
    for (const v of d.templating.list) {
      if (v.type === 'datasource') continue;
      const current = v.current?.value;
      vars[v.name] = Array.isArray(current) ? current.join('|') : (current ?? '');
    }
    for (const v of d.templating.list.filter((x) => x.type === 'query')) {
      const q = typeof v.query === 'string' ? v.query : v.query.query;
      const m = /^label_values\((.*),\s*(\w+)\)$/.exec(q);
      expect(m, `${v.name}: ${q}`).to.not.equal(null);
      const match = m![1]!.replace(/\$(\w+)/g, (_, n: string) => vars[n] ?? '');
      const offered = await api<string[]>(
        `/api/v1/label/${m![2]}/values?match[]=${encodeURIComponent(match)}`,
      );
      // The monitor's cluster is what a user picks; etcd_job's default must be one of the offered jobs.
      if (v.name === 'cluster') {
        expect(offered, 'values of $cluster').to.deep.equal([CLUSTER]);
        vars.cluster = regexEscape(CLUSTER);
      } else {
        for (const x of vars[v.name]!.split('|')) expect(offered, `values of $${v.name}`).to.include(x);
      }
    }
    // Grafana's built-ins for the dashboard's range (now-1h) and a data source with the default 15s scrape.
    Object.assign(vars, {
      __interval: '15s',
      __interval_ms: '15000',
      __rate_interval: '1m',
      __range: '1h',
      __range_s: '3600',
      __range_ms: '3600000',
    });
  });

  after(async () => {
    stopLoad = true;
    await loading;
    if (prom) await stopProcess(prom, 5000);
    await app?.stop();
    await cluster?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const substitute = (expr: string): string =>
    expr.replace(/\$\{?(\w+)\}?/g, (m, name: string) => {
      const v = vars[name];
      if (v === undefined) throw new Error(`unknown dashboard variable ${m} in ${expr}`);
      return v;
    });

  it('every panel query of the Grafana dashboard returns data on a healthy cluster', async () => {
    const d = JSON.parse(fs.readFileSync(DASHBOARD, 'utf8')) as Dashboard;
    const targets = panelTargets(d);
    expect(targets.length).to.be.greaterThan(25);
    // The allowlist stays small and names only panels that exist.
    expect(Object.keys(MAY_BE_EMPTY).length).to.be.at.most(2);
    for (const k of Object.keys(MAY_BE_EMPTY))
      expect(
        targets.map((t) => t.where),
        'allowlist entry',
      ).to.include(k);

    /** Why the panel would show nothing (no series, or only NaN), or undefined when it shows data. */
    const check = async (expr: string): Promise<string | undefined> => {
      const q = substitute(expr);
      let r: QueryData;
      try {
        r = await query(q);
      } catch (e) {
        return `${q}: ${(e as Error).message}`;
      }
      const values =
        r.resultType === 'vector'
          ? r.result.map((s) => s.value![1])
          : r.resultType === 'scalar'
            ? [r.result[1]]
            : [];
      return values.map(Number).some((x) => Number.isFinite(x))
        ? undefined
        : `${q}: no data (${r.resultType} ${JSON.stringify(values)})`;
    };
    // etcd observes the peer round-trip histogram only every 30s (3.4: rafthttp's statusMonitoringInterval),
    // so in a cluster younger than that its panel is legitimately empty: queries without data are asked
    // again until the cluster is 75s old.
    let pending = targets.filter((t) => !(t.where in MAY_BE_EMPTY));
    let problems: string[] = [];
    for (;;) {
      problems = [];
      const still: typeof pending = [];
      for (const t of pending) {
        const why = await check(t.expr);
        if (why) {
          problems.push(`${t.where}: ${why}`);
          still.push(t);
        }
      }
      pending = still;
      if (pending.length === 0 || Date.now() > clusterStarted + 75_000) break;
      await new Promise((r) => setTimeout(r, 2000));
    }
    expect(problems, problems.join('\n')).to.deep.equal([]);

    // The annotation queries are valid too (empty is fine: they mark events).
    for (const a of d.annotations.list.filter((x) => x.expr)) await query(substitute(a.expr!));
  });

  it('the monitor panels show the cluster as the monitor sees it', async () => {
    const one = async (q: string): Promise<number> => {
      const r = await query(substitute(q));
      expect(r.resultType, q).to.equal('vector');
      const s = r.result as Sample[];
      expect(s.length, q).to.equal(1);
      return Number(s[0]!.value![1]);
    };
    expect(await one('etcd_cluster_healthy{job=~"$job", cluster=~"$cluster"}')).to.equal(1);
    expect(await one('etcd_cluster_has_leader{job=~"$job", cluster=~"$cluster"}')).to.equal(1);
    expect(await one('etcd_cluster_member_count{job=~"$job", cluster=~"$cluster"}')).to.equal(3);
    expect(await one('sum(etcd_member_is_leader{job=~"$job", cluster=~"$cluster"})')).to.equal(1);
    // The monitor mirrors some of etcd's own names: both jobs have them, once per member, kept apart by job.
    const r = await query('count by (job) (etcd_server_proposals_committed_total)');
    const byJob = Object.fromEntries((r.result as Sample[]).map((s) => [s.metric.job, Number(s.value![1])]));
    expect(byJob).to.deep.equal({ 'etcd-monitor': 3, 'etcd-cluster': 3 });
  });

  it('every alert rule evaluates without error, and no critical alert is pending or firing', async () => {
    // At least two evaluations of every group after all targets were scraped.
    const t0 = Date.now();
    const gs = await waitFor(
      'two rule evaluations',
      async () => {
        const g = await groups();
        return g.length > 0 && g.every((x) => parseTime(x.lastEvaluation) >= t0 + INTERVAL_S * 1000) && g;
      },
      30_000,
      500,
    );
    expect(gs.map((g) => g.name)).to.deep.equal(['etcd-monitor', 'etcd-native']);
    const rules = gs.flatMap((g) => g.rules.map((r) => ({ group: g.name, ...r })));
    expect(rules.length, 'rules loaded').to.equal(ruleCount);
    const bad = rules.filter((r) => r.health !== 'ok' || r.lastError);
    expect(bad.map((r) => `${r.name}: ${r.health} ${r.lastError ?? ''}`)).to.deep.equal([]);
    const active = rules.filter((r) => r.state !== 'inactive');
    const critical = active.filter((r) => r.labels?.severity === 'critical');
    expect(
      critical.map(
        (r) => `${r.group}/${r.name} ${r.state} ${JSON.stringify(r.alerts?.map((a) => a.labels))}`,
      ),
      'critical alerts on a healthy cluster',
    ).to.deep.equal([]);
  });

  it('a killed follower makes EtcdMemberDown and EtcdNativeMembersDown go pending', async () => {
    const leader = await cluster!.leaderIndex();
    const victim = (leader + 1) % cluster!.members.length;
    const name = cluster!.members[victim]!.name;
    await cluster!.kill(victim);
    // Pending (not yet firing: both rules wait 3m) as soon as the monitor, a scrape and an evaluation saw it.
    const pending = async (alertname: string, extra = ''): Promise<boolean> => {
      const r = await query(`ALERTS{alertname="${alertname}", alertstate="pending"${extra}}`);
      return r.resultType === 'vector' && r.result.length > 0;
    };
    await waitFor(
      'EtcdMemberDown pending',
      () => pending('EtcdMemberDown', `, cluster="${CLUSTER}", member="${name}"`),
      30_000,
      500,
    );
    await waitFor(
      'EtcdNativeMembersDown pending',
      () => pending('EtcdNativeMembersDown', ', job="etcd-cluster"'),
      30_000,
      500,
    );
    // The dashboard's "Probe errors" panel now shows the failing probe kinds instead of its "no errors" line.
    const probeErrors = panelTargets(JSON.parse(fs.readFileSync(DASHBOARD, 'utf8')) as Dashboard).find(
      (t) => t.where === 'Probe errors (A)',
    )!;
    const reasons = await waitFor(
      'probe errors on the dashboard',
      async () => {
        const r = await query(substitute(probeErrors.expr));
        const rs = (r.result as Sample[]).filter((x) => Number(x.value![1]) > 0).map((x) => x.metric.reason);
        return rs.length > 0 && rs;
      },
      30_000,
      500,
    );
    expect(reasons).to.not.include('no errors');
    // A quorum remains: the critical alerts stay quiet.
    const critical = (await groups())
      .flatMap((g) => g.rules)
      .filter((r) => r.labels?.severity === 'critical' && r.state !== 'inactive');
    expect(critical.map((r) => `${r.name} ${r.state}`)).to.deep.equal([]);
  });
});
