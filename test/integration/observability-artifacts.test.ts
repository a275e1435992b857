/**
 * The observability artefacts of SPEC §7, checked with the real tools (Debian's promtool and amtool):
 * prometheus/prometheus.yml, the alert rules and their unit tests, alertmanager/alertmanager.yml, and the
 * Grafana dashboard grafana/dashboards/etcd-dash.json (the guide's panels and settings, the monitor's
 * series selected by job and cluster, every query valid PromQL and evaluated against synthetic data
 * in which etcd's own same-named series are present).
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import YAML from 'yaml';

const execFileP = promisify(execFile);

const PROM_CONFIG = 'prometheus/prometheus.yml';
const RULES = 'prometheus/rules/etcd-monitor-alerts.yml';
const RULE_TESTS_DIR = 'prometheus/rules/tests';
const AM_CONFIG = 'alertmanager/alertmanager.yml';
const DASHBOARD = 'grafana/dashboards/etcd-dash.json';

/** SPEC §4: every series the monitor exports (histograms by base name). */
const MONITOR_METRICS = [
  'etcd_cluster_healthy',
  'etcd_cluster_has_leader',
  'etcd_cluster_member_count',
  'etcd_cluster_leader_changes_total',
  'etcd_request_read_latency_p99_milliseconds',
  'etcd_request_write_latency_p99_milliseconds',
  'etcd_request_rate_per_second',
  'etcd_mvcc_db_total_size_bytes',
  'etcd_server_proposals_committed_total',
  'etcd_server_proposals_pending',
  'etcd_server_proposals_failed_total',
  'etcd_server_memory_usage_bytes',
  'etcd_server_disk_usage_bytes',
  'etcd_server_active_connections',
  'etcd_server_watchers',
  'etcd_cluster_quorum_size',
  'etcd_cluster_healthy_members',
  'etcd_cluster_db_quota_used_ratio',
  'etcd_member_healthy',
  'etcd_member_is_leader',
  'etcd_member_is_learner',
  'etcd_member_alarm',
  'etcd_member_raft_index_lag',
  'etcd_member_probe_duration_seconds',
  'etcd_monitor_probe_errors_total',
  // SPEC §9: backups and defragmentation (series only for clusters with a schedule).
  'etcd_backup_last_success_timestamp_seconds',
  'etcd_backup_last_size_bytes',
  'etcd_backup_last_revision',
  'etcd_backup_duration_seconds',
  'etcd_backup_failures_total',
  'etcd_backup_retained_snapshots',
  'etcd_defrag_last_timestamp_seconds',
  'etcd_defrag_reclaimed_bytes_total',
  // The backup schedule (period length, first seen), for EtcdBackupStale.
  'etcd_backup_schedule_period_seconds',
  'etcd_backup_schedule_start_timestamp_seconds',
  // SPEC §10: capacity and advice.
  'etcd_cluster_db_growth_bytes_per_second',
  'etcd_cluster_db_quota_exhaustion_timestamp_seconds',
  'etcd_cluster_db_reclaimable_bytes',
  'etcd_cluster_write_revisions_per_second',
  'etcd_member_db_fragmentation_ratio',
  'etcd_cluster_advice',
];
/** Monitor series the alerts need but no dashboard panel has to show. */
const ALERT_ONLY_METRICS = ['etcd_backup_schedule_start_timestamp_seconds'];
/** SPEC §10: the alerts on capacity and advice. */
const CAPACITY_ALERTS = [
  'EtcdQuotaExhaustionWithin24h',
  'EtcdQuotaExhaustionWithin7d',
  'EtcdDatabaseHighFragmentation',
  'EtcdSlowDisk',
  'EtcdSlowBackendCommit',
  'EtcdSlowPeerNetwork',
  'EtcdAdviceWarning',
];
const MONITOR_SELECTOR = ['job=~"$job"', 'cluster=~"$cluster"'];
const NATIVE_SELECTOR = 'job=~"$etcd_job"';

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(cmd: string, args: string[]): Promise<Result> {
  try {
    const { stdout, stderr } = await execFileP(cmd, args, { maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const x = e as { code?: number | string; stdout?: string; stderr?: string; message: string };
    if (x.code === 'ENOENT')
      throw new Error(
        `${cmd} not found: install it (apt-get install prometheus prometheus-alertmanager, or bash scripts/install-deps.sh prometheus alertmanager)`,
      );
    return {
      code: typeof x.code === 'number' ? x.code : 1,
      stdout: x.stdout ?? '',
      stderr: x.stderr ?? x.message,
    };
  }
}

const out = (r: Result): string => `${r.stdout}\n${r.stderr}`;

/** Run `fn` in a fresh temporary directory, removed afterwards (also when an assertion fails). */
async function inTmp<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'etcd-monitor-obs-'));
  try {
    return await fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------
// Types of the files we read (only what the tests look at).

interface AlertRule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleFile {
  groups: Array<{ name: string; rules: AlertRule[] }>;
}
interface RuleTestFile {
  rule_files: string[];
  tests: Array<{
    alert_rule_test?: Array<{
      eval_time: string;
      alertname: string;
      exp_alerts?: Array<{ exp_labels?: Record<string, string>; exp_annotations?: Record<string, string> }>;
    }>;
  }>;
}

interface Target {
  expr: string;
  legendFormat?: string;
  refId: string;
  datasource?: { type?: string; uid?: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
  panels?: Panel[];
  fieldConfig?: {
    defaults: {
      unit?: string;
      min?: number;
      max?: number;
      thresholds?: { mode: string; steps: Array<{ color: string; value: number | null }> };
      mappings?: Array<{ type: string; options: Record<string, { text: string; color?: string }> }>;
    };
  };
}
interface Variable {
  name: string;
  type: string;
  query: string | { query: string };
  current?: { value?: string | string[] };
  multi?: boolean;
  includeAll?: boolean;
  datasource?: { type?: string; uid?: string };
}
interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  refresh: string;
  time: { from: string; to: string };
  panels: Panel[];
  templating: { list: Variable[] };
  annotations: {
    list: Array<{
      name: string;
      expr?: string;
      builtIn?: number;
      datasource?: { type?: string; uid?: string };
    }>;
  };
}

const rules = (): RuleFile => YAML.parse(fs.readFileSync(RULES, 'utf8')) as RuleFile;
const alerts = (): Array<AlertRule & { alert: string; group: string }> =>
  rules().groups.flatMap((g) =>
    g.rules.filter((r) => r.alert).map((r) => ({ ...r, alert: r.alert!, group: g.name })),
  );
const ruleTestFiles = (): string[] =>
  fs
    .readdirSync(RULE_TESTS_DIR)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => path.join(RULE_TESTS_DIR, f));
const dashboard = (): Dashboard => JSON.parse(fs.readFileSync(DASHBOARD, 'utf8')) as Dashboard;

/** Every panel with the title of the row it sits in (uncollapsed rows: the panels that follow it). */
function panelsWithRows(d: Dashboard): Array<{ panel: Panel; row: string | undefined }> {
  const res: Array<{ panel: Panel; row: string | undefined }> = [];
  let row: string | undefined;
  for (const p of d.panels) {
    if (p.type === 'row') {
      row = p.title;
      for (const c of p.panels ?? []) res.push({ panel: c, row });
    } else {
      res.push({ panel: p, row });
    }
  }
  return res;
}

function allExprs(d: Dashboard): Array<{ where: string; expr: string }> {
  const res: Array<{ where: string; expr: string }> = [];
  for (const { panel } of panelsWithRows(d))
    for (const t of panel.targets ?? []) res.push({ where: `${panel.title} (${t.refId})`, expr: t.expr });
  for (const a of d.annotations.list) if (a.expr) res.push({ where: `annotation ${a.name}`, expr: a.expr });
  return res;
}

/** Grafana's template variables replaced by values Prometheus accepts. */
function substitute(expr: string): string {
  const values: Record<string, string> = {
    job: 'etcd-monitor',
    cluster: '.+',
    etcd_job: 'etcd-cluster',
    __rate_interval: '1m',
    __interval: '15s',
    __range: '1h',
  };
  return expr.replace(/\$\{?(\w+)\}?/g, (m, name: string) => {
    const v = values[name];
    if (v === undefined) throw new Error(`unknown variable ${m} in ${expr}`);
    return v;
  });
}

/** Occurrences of a metric name (as a whole word, histograms with their suffixes) in an expression. */
function metricUses(expr: string, metric: string): Array<{ selector: string | undefined }> {
  const re = new RegExp(`\\b${metric}(?:_bucket|_sum|_count)?\\b(\\s*\\{([^}]*)\\})?`, 'g');
  return [...expr.matchAll(re)].map((m) => ({ selector: m[2] }));
}

// ---------------------------------------------------------------------------------------------------

describe('observability artefacts', function () {
  this.timeout(60_000);

  describe('Prometheus (promtool)', () => {
    it("prometheus/prometheus.yml has the guide's scrape jobs and passes promtool check config with the rules loaded", async () => {
      const cfg = YAML.parse(fs.readFileSync(PROM_CONFIG, 'utf8')) as {
        global: Record<string, string>;
        rule_files: string[];
        alerting: { alertmanagers: Array<{ static_configs: Array<{ targets: string[] }> }> };
        scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }>;
      };
      expect(cfg.global.scrape_interval).to.equal('15s');
      expect(cfg.global.evaluation_interval).to.equal('15s');
      expect(cfg.rule_files).to.deep.equal(['/etc/prometheus/rules/*.yml']);
      expect(
        cfg.alerting.alertmanagers.flatMap((a) => a.static_configs.flatMap((s) => s.targets)),
      ).to.deep.equal(['alertmanager:9093']);
      const targets = Object.fromEntries(
        cfg.scrape_configs.map((j) => [j.job_name, j.static_configs.flatMap((s) => s.targets)]),
      );
      expect(targets).to.deep.equal({
        'etcd-monitor': ['etcd-monitor:8080'],
        'etcd-cluster': ['etcd1:2379', 'etcd2:2379', 'etcd3:2379'],
        prometheus: ['localhost:9090'],
      });

      // The compose path /etc/prometheus/rules does not exist here: check a copy that loads the repo's rules.
      await inTmp(async (dir) => {
        const copy = path.join(dir, 'prometheus.yml');
        fs.writeFileSync(
          copy,
          YAML.stringify({ ...cfg, rule_files: [path.resolve('prometheus/rules/*.yml')] }),
        );
        const r = await run('promtool', ['check', 'config', copy]);
        expect(r.code, out(r)).to.equal(0);
        const n = rules().groups.reduce((s, g) => s + g.rules.length, 0);
        expect(out(r)).to.include(path.resolve(RULES));
        expect(out(r)).to.match(new RegExp(`SUCCESS: ${n} rules found`));
      });
      // The original too (its rule glob matches nothing here, which promtool accepts).
      const o = await run('promtool', ['check', 'config', PROM_CONFIG]);
      expect(o.code, out(o)).to.equal(0);
    });

    it('the alert rules pass promtool check rules', async () => {
      const r = await run('promtool', ['check', 'rules', RULES]);
      expect(r.code, out(r)).to.equal(0);
      expect(r.stdout).to.match(/SUCCESS: \d+ rules found/);
    });

    it('the alert rules pass their unit tests (promtool test rules)', async () => {
      const files = ruleTestFiles();
      expect(files.length).to.be.greaterThan(0);
      const r = await run('promtool', ['test', 'rules', ...files]);
      expect(r.code, out(r)).to.equal(0);
      expect(r.stdout).to.not.match(/FAILED/);
      expect((r.stdout.match(/SUCCESS/g) ?? []).length).to.equal(files.length);
    });

    it('has the groups the chart expects and unique alert names', () => {
      expect(rules().groups.map((g) => g.name)).to.deep.equal(['etcd-monitor', 'etcd-native']);
      const names = alerts().map((a) => a.alert);
      expect(new Set(names).size, 'duplicate alert names').to.equal(names.length);
      expect(names).to.include.members([
        'EtcdClusterUnhealthy',
        'EtcdClusterNoLeader',
        'EtcdMemberDown',
        'EtcdInsufficientMembers',
        'EtcdFrequentLeaderChanges',
        'EtcdHighReadLatencyP99',
        'EtcdHighWriteLatencyP99',
        'EtcdDatabaseQuotaWarning',
        'EtcdDatabaseQuotaCritical',
        'EtcdAlarmActive',
        'EtcdMonitorProbeFailing',
        'EtcdMonitorDown',
        'EtcdBackupFailing',
        'EtcdBackupStale',
        ...CAPACITY_ALERTS,
      ]);
    });

    it("every alert has a severity, summary, description and a runbook (etcd's guides), naming its cluster or member", () => {
      for (const a of alerts()) {
        expect(a.labels?.severity, a.alert).to.be.oneOf(['critical', 'warning']);
        const ann = a.annotations ?? {};
        expect(ann.summary, `${a.alert} summary`).to.be.a('string').and.not.equal('');
        expect(ann.description, `${a.alert} description`).to.be.a('string').and.not.equal('');
        // etcd's own operations and tuning guides: the page on what to do about it.
        expect(ann.runbook_url, `${a.alert} runbook_url`).to.match(
          /^https:\/\/etcd\.io\/docs\/v3\.5\/(op-guide|tuning)\//,
        );
        const text = `${ann.summary} ${ann.description}`;
        if (a.group === 'etcd-monitor' && a.alert !== 'EtcdMonitorDown')
          expect(text, a.alert).to.include('$labels.cluster');
        if (a.group === 'etcd-native') expect(text, a.alert).to.match(/\$labels\.(instance|job)/);
      }
    });

    it("monitor alerts select the monitor's series by cluster label; native alerts never count the monitor", () => {
      for (const a of alerts()) {
        if (a.group === 'etcd-monitor') {
          if (a.alert === 'EtcdMonitorDown') {
            expect(a.expr).to.include('up{job="etcd-monitor"}');
            continue;
          }
          for (const m of MONITOR_METRICS) {
            for (const u of metricUses(a.expr, m))
              expect(u.selector ?? '', `${a.alert}: ${m}`).to.include('cluster!=""');
          }
        } else {
          // Every selector of a native alert keeps the monitor's job out.
          const selectors = [...a.expr.matchAll(/\{([^}]*)\}/g)].map((m) => m[1]!);
          expect(selectors.length, a.alert).to.be.greaterThan(0);
          for (const s of selectors) expect(s, a.alert).to.include('job!~".*etcd-monitor.*"');
        }
      }
      const grpc = alerts().find((a) => a.alert === 'EtcdNativeHighFailedGRPCRequests')!;
      expect(grpc.expr).to.include('grpc_method!="Watch"');
      expect(grpc.expr).to.not.match(/grpc_code=~"[^"]*\b(OK|Canceled)\b/);
    });

    it('every alert has a promtool test case where it fires and one where it stays silent, and tests name only real alerts', () => {
      const firing = new Set<string>();
      const silent = new Set<string>();
      const known = new Set(alerts().map((a) => a.alert));
      for (const f of ruleTestFiles()) {
        const t = YAML.parse(fs.readFileSync(f, 'utf8')) as RuleTestFile;
        expect(
          t.rule_files.map((r) => path.resolve(path.dirname(f), r)),
          f,
        ).to.include(path.resolve(RULES));
        for (const c of t.tests.flatMap((x) => x.alert_rule_test ?? [])) {
          expect(known.has(c.alertname), `${f}: unknown alert ${c.alertname}`).to.equal(true);
          if ((c.exp_alerts ?? []).length > 0) {
            firing.add(c.alertname);
            for (const e of c.exp_alerts!) {
              const rule = alerts().find((a) => a.alert === c.alertname)!;
              expect(e.exp_labels?.severity, `${c.alertname} expected severity`).to.equal(
                rule.labels?.severity,
              );
              expect(
                Object.keys(e.exp_annotations ?? {}).sort(),
                `${c.alertname} expected annotations`,
              ).to.deep.equal(Object.keys(rule.annotations ?? {}).sort());
            }
          } else {
            silent.add(c.alertname);
          }
        }
      }
      for (const a of known) {
        expect(firing.has(a), `${a} has no firing test case`).to.equal(true);
        expect(silent.has(a), `${a} has no silent test case`).to.equal(true);
      }
    });
  });

  describe('Alertmanager (amtool)', () => {
    it('alertmanager/alertmanager.yml passes amtool check-config', async () => {
      const r = await run('amtool', ['check-config', AM_CONFIG]);
      expect(r.code, out(r)).to.equal(0);
      expect(r.stdout).to.include('SUCCESS');
    });

    it('routes critical alerts to PagerDuty, warnings to Slack and the rest to the default receiver', async () => {
      const route = async (...labels: string[]): Promise<string> => {
        const r = await run('amtool', ['config', 'routes', 'test', `--config.file=${AM_CONFIG}`, ...labels]);
        expect(r.code, out(r)).to.equal(0);
        return r.stdout.trim();
      };
      expect(await route('alertname=EtcdClusterUnhealthy', 'cluster=default', 'severity=critical')).to.equal(
        'pagerduty-critical',
      );
      expect(
        await route('alertname=EtcdMemberDown', 'cluster=default', 'member=etcd2', 'severity=warning'),
      ).to.equal('slack-warning');
      expect(await route('alertname=Watchdog', 'severity=none')).to.equal('default');
    });

    it('reads secrets from files, groups by alertname and cluster, and inhibits member warnings of an unhealthy cluster', () => {
      const cfg = YAML.parse(fs.readFileSync(AM_CONFIG, 'utf8')) as {
        route: { receiver: string; group_by: string[] };
        receivers: Array<{
          name: string;
          pagerduty_configs?: Array<Record<string, unknown>>;
          slack_configs?: Array<Record<string, unknown>>;
        }>;
        inhibit_rules: Array<{ source_matchers: string[]; target_matchers: string[]; equal: string[] }>;
      };
      expect(cfg.route.group_by).to.deep.equal(['alertname', 'cluster']);
      const pd = cfg.receivers.find((r) => r.name === 'pagerduty-critical')!.pagerduty_configs![0]!;
      expect(pd.routing_key_file).to.equal('/etc/alertmanager/secrets/pagerduty-routing-key');
      expect(pd).to.not.have.property('routing_key');
      const slack = cfg.receivers.find((r) => r.name === 'slack-warning')!.slack_configs![0]!;
      expect(slack.api_url_file).to.equal('/etc/alertmanager/secrets/slack-webhook-url');
      expect(slack).to.not.have.property('api_url');
      expect(slack.channel).to.equal('#etcd-alerts');
      const known = new Set(alerts().map((a) => a.alert));
      const inhibit = cfg.inhibit_rules.find((i) =>
        i.source_matchers.some((m) => m.includes('EtcdClusterUnhealthy')),
      );
      expect(inhibit, 'cluster-unhealthy inhibit rule').to.not.equal(undefined);
      expect(inhibit!.target_matchers).to.deep.equal(['severity="warning"']);
      expect(inhibit!.equal).to.deep.equal(['cluster']);
      // Inhibit rules name only alerts that exist.
      for (const i of cfg.inhibit_rules) {
        for (const m of [...i.source_matchers, ...i.target_matchers]) {
          const names = /^alertname=~?"([^"]*)"$/.exec(m)?.[1];
          for (const n of names?.split('|') ?? [])
            expect(known.has(n), `inhibit rule names unknown alert ${n}`).to.equal(true);
        }
      }
    });

    it("the receivers' notification templates render (amtool template render)", async () => {
      const cfg = YAML.parse(fs.readFileSync(AM_CONFIG, 'utf8')) as {
        receivers: Array<Record<string, unknown>>;
      };
      const texts: string[] = [];
      const walk = (v: unknown): void => {
        if (typeof v === 'string' && v.includes('{{')) texts.push(v);
        else if (Array.isArray(v)) v.forEach(walk);
        else if (v && typeof v === 'object') Object.values(v).forEach(walk);
      };
      walk(cfg.receivers);
      expect(texts.length).to.be.greaterThan(0);
      await inTmp(async (dir) => {
        const glob = path.join(dir, 'none.tmpl');
        fs.writeFileSync(glob, '');
        for (const t of texts) {
          const r = await run('amtool', [
            'template',
            'render',
            `--template.glob=${glob}`,
            `--template.text=${t}`,
          ]);
          expect(r.code, `${t}\n${out(r)}`).to.equal(0);
        }
      });
    });
  });

  describe('Grafana dashboard', () => {
    it('is the etcd-monitor dashboard with datasource, job and cluster variables', () => {
      const d = dashboard();
      expect(d.uid).to.equal('etcd-monitor');
      expect(d.title).to.equal('etcd cluster (etcd-monitor)');
      expect(d.schemaVersion).to.be.within(36, 41);
      expect(d.refresh).to.equal('10s');
      expect(d.time).to.deep.equal({ from: 'now-1h', to: 'now' });
      const v = Object.fromEntries(d.templating.list.map((x) => [x.name, x]));
      expect(v.datasource).to.deep.include({ type: 'datasource', query: 'prometheus' });
      expect(v.job!.type).to.be.oneOf(['constant', 'custom', 'textbox']);
      expect(v.job!.current?.value).to.equal('etcd-monitor');
      const clusterQuery = typeof v.cluster!.query === 'string' ? v.cluster!.query : v.cluster!.query.query;
      expect(clusterQuery).to.equal('label_values(etcd_cluster_healthy{job=~"$job"}, cluster)');
      expect(v.cluster).to.deep.include({ type: 'query', multi: true, includeAll: true });
      expect(v.cluster!.datasource?.uid).to.equal('${datasource}');
      expect(v.etcd_job!.current?.value).to.deep.equal(['etcd-cluster']);
    });

    it('uses the ${datasource} variable everywhere, never a hard-coded data source', () => {
      const text = fs.readFileSync(DASHBOARD, 'utf8');
      expect(text).to.not.match(/DS_PROMETHEUS|__inputs/);
      const refs: Array<{ type?: string; uid?: string }> = [];
      const walk = (x: unknown): void => {
        if (Array.isArray(x)) x.forEach(walk);
        else if (x && typeof x === 'object') {
          for (const [k, val] of Object.entries(x)) {
            if (k === 'datasource') refs.push(val as { type?: string; uid?: string });
            walk(val);
          }
        }
      };
      walk(dashboard());
      expect(refs.length).to.be.greaterThan(30);
      for (const r of refs) {
        if (r.uid === '-- Grafana --') continue; // the built-in annotations
        expect(r, JSON.stringify(r)).to.deep.equal({ type: 'prometheus', uid: '${datasource}' });
      }
    });

    it("has the guide's eight panels, in the guide's rows, with the guide's queries, thresholds and units", () => {
      const all = panelsWithRows(dashboard());
      const get = (title: string, type: string, row: string): Panel => {
        const found = all.filter((p) => p.panel.title === title && p.panel.type !== 'row');
        expect(found.length, `panel "${title}"`).to.equal(1);
        expect(found[0]!.panel.type, title).to.equal(type);
        expect(found[0]!.row, `row of "${title}"`).to.equal(row);
        return found[0]!.panel;
      };
      const expr = (p: Panel, i = 0): string => p.targets![i]!.expr;
      const steps = (p: Panel): Array<[string, number | null]> =>
        p.fieldConfig!.defaults.thresholds!.steps.map((s) => [s.color, s.value]);
      const mapping = (p: Panel): Record<string, string> =>
        Object.fromEntries(
          Object.entries(p.fieldConfig!.defaults.mappings![0]!.options).map(([k, o]) => [k, o.text]),
        );

      const healthy = get('Cluster Healthy', 'stat', 'Cluster overview');
      expect(expr(healthy)).to.match(/^etcd_cluster_healthy\{/);
      expect(steps(healthy)).to.deep.equal([
        ['red', null],
        ['green', 1],
      ]);
      expect(mapping(healthy)).to.deep.equal({ '1': 'Healthy', '0': 'Unhealthy' });

      const leader = get('Has Leader', 'stat', 'Cluster overview');
      expect(expr(leader)).to.match(/^etcd_cluster_has_leader\{/);
      expect(steps(leader)).to.deep.equal([
        ['red', null],
        ['green', 1],
      ]);
      expect(Object.keys(mapping(leader)).sort()).to.deep.equal(['0', '1']);

      const members = get('Members', 'stat', 'Cluster overview');
      expect(expr(members)).to.match(/^etcd_cluster_member_count\{/);

      const changes = get('Leader Changes (1h)', 'stat', 'Cluster overview');
      expect(expr(changes)).to.match(/\bincrease\(etcd_cluster_leader_changes_total\{[^}]*\}\[1h\]\)/);
      expect(steps(changes)).to.deep.equal([
        ['green', null],
        ['yellow', 4],
        ['red', 11],
      ]);

      const latency = get('Request Latency', 'timeseries', 'Performance');
      expect(latency.targets!.map((t) => [t.expr.replace(/\{.*\}/, ''), t.legendFormat])).to.deep.equal([
        ['etcd_request_read_latency_p99_milliseconds', 'Read P99'],
        ['etcd_request_write_latency_p99_milliseconds', 'Write P99'],
      ]);
      expect(latency.fieldConfig!.defaults.unit).to.equal('ms');

      const rate = get('Request Rate', 'timeseries', 'Performance');
      expect(expr(rate)).to.match(/^etcd_request_rate_per_second\{/);
      expect(rate.fieldConfig!.defaults.unit).to.equal('ops');

      const size = get('Database Size', 'timeseries', 'Database');
      expect(expr(size)).to.match(/^etcd_mvcc_db_total_size_bytes\{[^}]*\} \/ 1024 \/ 1024$/);
      expect(size.targets![0]!.legendFormat).to.include('{{member}}');
      // The query yields MiB (/1024/1024): Grafana's "mbytes" unit, shown as MiB.
      expect(size.fieldConfig!.defaults.unit).to.equal('mbytes');

      const proposals = get('Raft Proposals', 'timeseries', 'Database');
      expect(expr(proposals, 0)).to.match(/^rate\(etcd_server_proposals_committed_total\{[^}]*\}\[1m\]\)$/);
      expect(proposals.targets![0]!.legendFormat).to.match(/^Committed\/sec/);
      expect(expr(proposals, 1)).to.match(/^etcd_server_proposals_pending\{/);
      expect(proposals.targets![1]!.legendFormat).to.match(/^Pending/);
    });

    it('has the members, alarms & quota, resources and native disk & network rows', () => {
      const all = panelsWithRows(dashboard());
      const rows = dashboard()
        .panels.filter((p) => p.type === 'row')
        .map((p) => p.title);
      expect(rows).to.deep.equal([
        'Cluster overview',
        'Performance',
        'Database',
        'Members',
        'Alarms & quota',
        'Resources',
        'Disk & network (etcd native)',
        'Backups & maintenance',
        'Capacity & advice',
      ]);
      const exprsIn = (row: string): string =>
        all
          .filter((p) => p.row === row)
          .flatMap((p) => (p.panel.targets ?? []).map((t) => t.expr))
          .join('\n');
      for (const m of [
        'etcd_member_healthy',
        'etcd_member_is_leader',
        'etcd_member_is_learner',
        'etcd_member_raft_index_lag',
        'etcd_member_probe_duration_seconds_bucket',
      ]) {
        expect(exprsIn('Members'), m).to.include(m);
      }
      expect(exprsIn('Members')).to.match(
        /histogram_quantile\(0\.99, sum by \([^)]*\ble\b[^)]*\) \(rate\(etcd_member_probe_duration_seconds_bucket\{/,
      );
      for (const m of [
        'etcd_member_alarm',
        'etcd_cluster_db_quota_used_ratio',
        'etcd_cluster_healthy_members',
        'etcd_cluster_quorum_size',
      ]) {
        expect(exprsIn('Alarms & quota'), m).to.include(m);
      }
      const quota = all.find((p) => p.panel.title === 'DB quota used')!.panel;
      expect(quota.type).to.equal('gauge');
      expect(quota.targets![0]!.expr).to.match(/^etcd_cluster_db_quota_used_ratio\{[^}]*\} \* 100$/);
      expect(quota.fieldConfig!.defaults).to.deep.include({ unit: 'percent', min: 0, max: 100 });
      expect(quota.fieldConfig!.defaults.thresholds!.steps.map((s) => [s.color, s.value])).to.deep.equal([
        ['green', null],
        ['yellow', 80],
        ['red', 95],
      ]);
      for (const m of [
        'etcd_server_memory_usage_bytes',
        'etcd_server_disk_usage_bytes',
        'etcd_server_active_connections',
        'etcd_server_watchers',
      ]) {
        expect(exprsIn('Resources'), m).to.include(m);
      }
      const native = all
        .filter((p) => p.row === 'Disk & network (etcd native)')
        .flatMap((p) => p.panel.targets ?? []);
      for (const m of [
        'etcd_disk_wal_fsync_duration_seconds_bucket',
        'etcd_disk_backend_commit_duration_seconds_bucket',
        'etcd_network_peer_round_trip_time_seconds_bucket',
      ]) {
        const t = native.find((x) => x.expr.includes(m));
        expect(t, m).to.not.equal(undefined);
        expect(t!.expr).to.match(
          new RegExp(
            `^histogram_quantile\\(0\\.99, sum by \\(instance, (To, )?le\\) \\(rate\\(${m}\\{job=~"\\$etcd_job"\\}\\[5m\\]\\)\\)\\)$`,
          ),
        );
      }
      // Every SPEC §4 and §9 metric is on the dashboard somewhere.
      const every = allExprs(dashboard())
        .map((e) => e.expr)
        .join('\n');
      for (const m of MONITOR_METRICS.filter((x) => !ALERT_ONLY_METRICS.includes(x)))
        expect(metricUses(every, m).length, m).to.be.greaterThan(0);
    });

    it('every query of a monitor metric selects job=~"$job" and cluster=~"$cluster"; native queries only the members\' job', () => {
      for (const { where, expr } of allExprs(dashboard())) {
        const monitorUses = MONITOR_METRICS.flatMap((m) => metricUses(expr, m).map((u) => ({ m, ...u })));
        if (monitorUses.length > 0) {
          for (const u of monitorUses) {
            for (const s of MONITOR_SELECTOR)
              expect(u.selector ?? '', `${where}: ${u.m} in ${expr}`).to.include(s);
          }
          expect(expr, where).to.not.include('$etcd_job');
        } else {
          // Not a monitor metric: must be one of etcd's own, from the members' job.
          const selectors = [...expr.matchAll(/\{([^}]*)\}/g)].map((m) => m[1]!);
          expect(selectors.length, `${where}: ${expr}`).to.be.greaterThan(0);
          for (const s of selectors) expect(s, `${where}: ${expr}`).to.equal(NATIVE_SELECTOR);
        }
      }
    });

    it('the backups & maintenance row shows every SPEC §9 series, with a line or a "none" for a cluster without backups (promtool)', async () => {
      const all = panelsWithRows(dashboard()).filter((p) => p.row === 'Backups & maintenance');
      const byTitle = (title: string): Panel => {
        const p = all.find((x) => x.panel.title === title);
        expect(p, `panel "${title}" in Backups & maintenance`).to.not.equal(undefined);
        return p!.panel;
      };
      const text = (title: string, value: string): string | undefined =>
        (byTitle(title).fieldConfig!.defaults.mappings ?? [])
          .map((m) => m.options[value]?.text)
          .find((x) => x !== undefined);
      // Sentinels of the stat panels: -1 never/none, -2 no backup schedule.
      expect(text('Time since last backup', '-1')).to.equal('never');
      expect(text('Time since last backup', '-2')).to.equal('off');
      for (const t of ['Last backup size', 'Last backup revision', 'Retained snapshots'])
        expect(text(t, '-1'), t).to.equal('none');
      expect(text('Time since last defragmentation', '-1')).to.equal('never');
      expect(byTitle('Time since last backup').fieldConfig!.defaults.unit).to.equal('s');
      expect(byTitle('Last backup size').fieldConfig!.defaults.unit).to.equal('bytes');
      expect(byTitle('Defragmentation: reclaimed (24h)').fieldConfig!.defaults.unit).to.equal('bytes');

      // "default" backs up (and was defragmented), "etcd-a/main" has a schedule but no success yet,
      // "etcd-b/main" has no backup schedule. Another job's same-named series never count.
      const mon = (c: string): string => `job="etcd-monitor",instance="etcd-monitor:8080",cluster="${c}"`;
      const d = mon('default');
      const a = mon('etcd-a/main');
      const inputSeries = [
        ...['default', 'etcd-a/main', 'etcd-b/main'].map((c) => [`etcd_cluster_healthy{${mon(c)}}`, '1x60']),
        [`etcd_backup_schedule_period_seconds{${d}}`, '600x60'],
        [`etcd_backup_last_success_timestamp_seconds{${d}}`, '3300x60'],
        [`etcd_backup_last_size_bytes{${d}}`, '1048576x60'],
        ['etcd_backup_last_size_bytes{job="something-else",instance="x:1",cluster="default"}', '9999999x60'],
        [`etcd_backup_last_revision{${d}}`, '42x60'],
        [`etcd_backup_retained_snapshots{${d}}`, '3x60'],
        [`etcd_backup_duration_seconds_bucket{${d},le="1"}`, '0x30 2x30'],
        [`etcd_backup_duration_seconds_bucket{${d},le="3"}`, '0x30 4x30'],
        [`etcd_backup_duration_seconds_bucket{${d},le="+Inf"}`, '0x30 4x30'],
        [`etcd_backup_failures_total{${d},reason="Store"}`, '0x30 1x30'],
        [`etcd_defrag_last_timestamp_seconds{${d}}`, '1800x60'],
        [`etcd_defrag_reclaimed_bytes_total{${d}}`, '0x30 5000x30'],
        [`etcd_backup_schedule_period_seconds{${a}}`, '600x60'],
        [`etcd_backup_schedule_start_timestamp_seconds{${a}}`, '3000x60'],
        [`etcd_backup_failures_total{${a},reason="Unavailable"}`, '0x60'],
      ].map(([series, values]) => ({ series, values }));
      const c = (cluster: string, extra = ''): string => `{cluster="${cluster}"${extra}}`;
      const expected: Record<string, Array<{ labels: string; value: number }>> = {
        'Time since last backup (A)': [
          { labels: c('default'), value: 300 },
          { labels: c('etcd-a/main'), value: -1 },
          { labels: c('etcd-b/main'), value: -2 },
        ],
        'Last backup size (A)': [
          { labels: c('default'), value: 1048576 },
          { labels: c('etcd-a/main'), value: -1 },
          { labels: c('etcd-b/main'), value: -1 },
        ],
        'Last backup revision (A)': [
          { labels: c('default'), value: 42 },
          { labels: c('etcd-a/main'), value: -1 },
          { labels: c('etcd-b/main'), value: -1 },
        ],
        'Retained snapshots (A)': [
          { labels: c('default'), value: 3 },
          { labels: c('etcd-a/main'), value: -1 },
          { labels: c('etcd-b/main'), value: -1 },
        ],
        'Time since last defragmentation (A)': [
          { labels: c('default'), value: 1800 },
          { labels: c('etcd-a/main'), value: -1 },
          { labels: c('etcd-b/main'), value: -1 },
        ],
        // Two runs within 1s, two within 3s: p50 1s, p99 2.96s. Nothing for clusters without a success.
        'Backup duration (24h) (A)': [{ labels: c('default'), value: 1 }],
        'Backup duration (24h) (B)': [{ labels: c('default'), value: 2.96 }],
        'Backup failures (24h) (A)': [
          { labels: c('default', ',reason="Store"'), value: 1 },
          { labels: c('etcd-a/main', ',reason="Unavailable"'), value: 0 },
          { labels: c('etcd-b/main', ',reason="no failures"'), value: 0 },
        ],
        'Defragmentation: reclaimed (24h) (A)': [
          { labels: c('default'), value: 5000 },
          { labels: c('etcd-a/main'), value: 0 },
          { labels: c('etcd-b/main'), value: 0 },
        ],
      };
      const targets = all.flatMap((p) =>
        (p.panel.targets ?? []).map((t) => ({ where: `${p.panel.title} (${t.refId})`, expr: t.expr })),
      );
      expect(targets.map((t) => t.where).sort()).to.deep.equal(Object.keys(expected).sort());
      const every = targets.map((t) => t.expr).join('\n');
      for (const m of MONITOR_METRICS.filter(
        (x) => /^etcd_(backup|defrag)_/.test(x) && !ALERT_ONLY_METRICS.includes(x),
      ))
        expect(metricUses(every, m).length, m).to.be.greaterThan(0);
      const tests = targets.map((t) => ({
        expr: substitute(t.expr),
        eval_time: '60m',
        exp_samples: expected[t.where]!,
      }));
      await inTmp(async (dir) => {
        const p = path.join(dir, 'backup-panels.test.yml');
        fs.writeFileSync(
          p,
          YAML.stringify({
            rule_files: [],
            evaluation_interval: '1m',
            tests: [{ interval: '1m', input_series: inputSeries, promql_expr_test: tests }],
          }),
        );
        const r = await run('promtool', ['test', 'rules', p]);
        expect(r.code, out(r)).to.equal(0);
      });
    });

    it('the capacity & advice row shows every SPEC §10 series, with "no trend yet" / "not growing" / "none" stand-ins (promtool)', async () => {
      const all = panelsWithRows(dashboard()).filter((p) => p.row === 'Capacity & advice');
      const byTitle = (title: string): Panel => {
        const p = all.find((x) => x.panel.title === title);
        expect(p, `panel "${title}" in Capacity & advice`).to.not.equal(undefined);
        return p!.panel;
      };
      const text = (title: string, value: string): string | undefined =>
        (byTitle(title).fieldConfig!.defaults.mappings ?? [])
          .map((m) => m.options[value]?.text)
          .find((x) => x !== undefined);
      expect(byTitle('Time to quota exhaustion').type).to.equal('stat');
      expect(byTitle('Time to quota exhaustion').fieldConfig!.defaults.unit).to.equal('s');
      expect(text('Time to quota exhaustion', '-1')).to.equal('not growing');
      expect(text('Time to quota exhaustion', '-2')).to.equal('no trend yet');
      expect(text('DB growth (trend)', '-1')).to.equal('no trend yet');
      expect(byTitle('DB size vs quota').fieldConfig!.defaults.unit).to.equal('bytes');
      expect(byTitle('Fragmentation per member').fieldConfig!.defaults.unit).to.equal('percentunit');
      expect(byTitle('Reclaimable by defragmentation').fieldConfig!.defaults.unit).to.equal('bytes');
      expect(byTitle('Advice').type).to.equal('table');

      // "default" grows (1 B/s: the quota in 1e6 s) and has two advice until 40m; "etcd-a/main" has a
      // trend but does not grow; "etcd-b/main" has no trend yet and no quota. Another job's same-named
      // series never count.
      const mon = (c: string): string => `job="etcd-monitor",instance="etcd-monitor:8080",cluster="${c}"`;
      const d = mon('default');
      const a = mon('etcd-a/main');
      const b = mon('etcd-b/main');
      const inputSeries = [
        ...[d, a, b].map((l) => [`etcd_cluster_healthy{${l}}`, '1x60']),
        [`etcd_mvcc_db_total_size_bytes{${d},member="etcd1"}`, '1000000x60'],
        [`etcd_mvcc_db_total_size_bytes{${d},member="etcd2"}`, '800000x60'],
        [`etcd_mvcc_db_total_size_bytes{${a},member="etcd1"}`, '500000x60'],
        [`etcd_mvcc_db_total_size_bytes{${b},member="etcd1"}`, '100x60'],
        ['etcd_mvcc_db_total_size_bytes{job="etcd-cluster",instance="etcd1:2379"}', '9000000x60'],
        [`etcd_cluster_db_quota_used_ratio{${d}}`, '0.5x60'],
        [`etcd_cluster_db_quota_used_ratio{${a}}`, '0.25x60'],
        [`etcd_cluster_db_growth_bytes_per_second{${d}}`, '1x60'],
        [`etcd_cluster_db_growth_bytes_per_second{${a}}`, '0x60'],
        [`etcd_cluster_db_quota_exhaustion_timestamp_seconds{${d}}`, '1003600x60'],
        [`etcd_member_db_fragmentation_ratio{${d},member="etcd1"}`, '0.25x60'],
        [`etcd_member_db_fragmentation_ratio{${d},member="etcd2"}`, '0.5x60'],
        [`etcd_member_db_fragmentation_ratio{${a},member="etcd1"}`, '0.25x60'],
        [`etcd_cluster_db_reclaimable_bytes{${d}}`, '400000x60'],
        [`etcd_cluster_db_reclaimable_bytes{${a}}`, '125000x60'],
        [`etcd_cluster_write_revisions_per_second{${d}}`, '12.5x60'],
        [`etcd_cluster_write_revisions_per_second{${a}}`, '0x60'],
        [`etcd_cluster_advice{${d},code="SlowDisk",severity="warning",member="etcd2"}`, '1x40'],
        [`etcd_cluster_advice{${d},code="EvenMemberCount",severity="info"}`, '1x40'],
        [
          'etcd_cluster_advice{job="something-else",instance="x:1",cluster="default",code="NoBackup",severity="info"}',
          '1x60',
        ],
      ].map(([series, values]) => ({ series, values }));
      const c = (cluster: string, extra = ''): string => `{cluster="${cluster}"${extra}}`;
      const none = (cluster: string): { labels: string; value: number } => ({
        labels: c(cluster, ',code="none",severity="none"'),
        value: 0,
      });
      // At 30m (advice active) and 60m (advice cleared at 40m, gone after the 5m look-back).
      const expected: Record<string, Record<'30m' | '60m', Array<{ labels: string; value: number }>>> = {
        'DB size vs quota (A)': {
          '30m': [
            { labels: c('default'), value: 1000000 },
            { labels: c('etcd-a/main'), value: 500000 },
            { labels: c('etcd-b/main'), value: 100 },
          ],
          '60m': [],
        },
        'DB size vs quota (B)': {
          '30m': [
            { labels: c('default'), value: 2000000 },
            { labels: c('etcd-a/main'), value: 2000000 },
          ],
          '60m': [],
        },
        'DB size vs quota (C)': {
          '30m': [
            { labels: c('default'), value: 1000000 + 7 * 86400 },
            { labels: c('etcd-a/main'), value: 500000 },
          ],
          '60m': [],
        },
        'Time to quota exhaustion (A)': {
          '30m': [
            { labels: c('default'), value: 1003600 - 1800 },
            { labels: c('etcd-a/main'), value: -1 },
            { labels: c('etcd-b/main'), value: -2 },
          ],
          '60m': [],
        },
        'DB growth (trend) (A)': {
          '30m': [
            { labels: c('default'), value: 1 },
            { labels: c('etcd-a/main'), value: 0 },
            { labels: c('etcd-b/main'), value: -1 },
          ],
          '60m': [],
        },
        'Reclaimable by defragmentation (A)': {
          '30m': [
            { labels: c('default'), value: 400000 },
            { labels: c('etcd-a/main'), value: 125000 },
          ],
          '60m': [],
        },
        'Active advice (A)': {
          '30m': [
            { labels: '{severity="warning"}', value: 1 },
            { labels: '{severity="info"}', value: 1 },
          ],
          '60m': [{ labels: '{severity="none"}', value: 0 }],
        },
        'Fragmentation per member (A)': {
          '30m': [
            { labels: c('default', ',member="etcd1"'), value: 0.25 },
            { labels: c('default', ',member="etcd2"'), value: 0.5 },
            { labels: c('etcd-a/main', ',member="etcd1"'), value: 0.25 },
          ],
          '60m': [],
        },
        'Reclaimable space per member (A)': {
          '30m': [
            { labels: c('default', ',member="etcd1"'), value: 250000 },
            { labels: c('default', ',member="etcd2"'), value: 400000 },
            { labels: c('etcd-a/main', ',member="etcd1"'), value: 125000 },
          ],
          '60m': [],
        },
        'Write revisions/s (A)': {
          '30m': [
            { labels: c('default'), value: 12.5 },
            { labels: c('etcd-a/main'), value: 0 },
          ],
          '60m': [],
        },
        'Advice (A)': {
          '30m': [
            { labels: c('default', ',code="SlowDisk",severity="warning",member="etcd2"'), value: 1 },
            { labels: c('default', ',code="EvenMemberCount",severity="info"'), value: 1 },
            none('etcd-a/main'),
            none('etcd-b/main'),
          ],
          '60m': [none('default'), none('etcd-a/main'), none('etcd-b/main')],
        },
      };
      const targets = all.flatMap((p) =>
        (p.panel.targets ?? []).map((t) => ({ where: `${p.panel.title} (${t.refId})`, expr: t.expr })),
      );
      expect(targets.map((t) => t.where).sort()).to.deep.equal(Object.keys(expected).sort());
      const every = targets.map((t) => t.expr).join('\n');
      for (const m of MONITOR_METRICS.filter((x) =>
        /^etcd_(cluster_(db_(growth|quota_exhaustion|reclaimable)|write_revisions|advice)|member_db_fragmentation)/.test(
          x,
        ),
      ))
        expect(metricUses(every, m).length, m).to.be.greaterThan(0);
      const tests = targets.flatMap((t) =>
        (['30m', '60m'] as const)
          .filter((at) => at === '30m' || expected[t.where]![at].length > 0)
          .map((at) => ({ expr: substitute(t.expr), eval_time: at, exp_samples: expected[t.where]![at] })),
      );
      await inTmp(async (dir) => {
        const p = path.join(dir, 'capacity-panels.test.yml');
        fs.writeFileSync(
          p,
          YAML.stringify({
            rule_files: [],
            evaluation_interval: '1m',
            tests: [{ interval: '1m', input_series: inputSeries, promql_expr_test: tests }],
          }),
        );
        const r = await run('promtool', ['test', 'rules', p]);
        expect(r.code, out(r)).to.equal(0);
      });
    });

    it('every panel sits inside the 24-column grid without overlapping another, with a unique id', () => {
      const ps = dashboard().panels;
      const ids = ps.flatMap((p) => [p.id, ...(p.panels ?? []).map((c) => c.id)]);
      expect(new Set(ids).size).to.equal(ids.length);
      for (const a of ps) {
        expect(a.gridPos.x + a.gridPos.w, a.title).to.be.at.most(24);
        for (const b of ps) {
          if (a === b) continue;
          const overlap =
            a.gridPos.x < b.gridPos.x + b.gridPos.w &&
            b.gridPos.x < a.gridPos.x + a.gridPos.w &&
            a.gridPos.y < b.gridPos.y + b.gridPos.h &&
            b.gridPos.y < a.gridPos.y + a.gridPos.h;
          expect(overlap, `"${a.title}" overlaps "${b.title}"`).to.equal(false);
        }
      }
    });

    it('every query is valid PromQL (promtool check rules)', async () => {
      const exprs = allExprs(dashboard());
      const file = {
        groups: [
          {
            name: 'dashboard',
            rules: exprs.map((e, i) => ({ record: `dashboard:query_${i}`, expr: substitute(e.expr) })),
          },
        ],
      };
      await inTmp(async (dir) => {
        const p = path.join(dir, 'dashboard-queries.yml');
        fs.writeFileSync(p, YAML.stringify(file));
        const r = await run('promtool', ['check', 'rules', p]);
        expect(r.code, out(r)).to.equal(0);
        expect(r.stdout).to.include(`SUCCESS: ${exprs.length} rules found`);
      });
    });

    it("the guide panels show the monitor's series only, never etcd's same-named series (promtool)", async () => {
      const mon = 'job="etcd-monitor",instance="etcd-monitor:8080",cluster="default"';
      const member = `${mon},member="etcd1"`;
      const native = 'job="etcd-cluster",instance="etcd1:2379"';
      const inputSeries = [
        [`etcd_cluster_healthy{${mon}}`, '1x240'],
        // Another program exporting the name under a different job.
        ['etcd_cluster_healthy{job="something-else",instance="x:1",cluster="default"}', '0x240'],
        [`etcd_cluster_has_leader{${mon}}`, '1x240'],
        [`etcd_cluster_member_count{${mon}}`, '3x240'],
        [`etcd_cluster_leader_changes_total{${mon}}`, '0x120 1x120'],
        [`etcd_request_read_latency_p99_milliseconds{${mon}}`, '1.5x240'],
        [`etcd_request_write_latency_p99_milliseconds{${mon}}`, '6.25x240'],
        [`etcd_request_rate_per_second{${mon}}`, '412.5x240'],
        [`etcd_mvcc_db_total_size_bytes{${member}}`, '2097152x240'],
        [`etcd_server_proposals_committed_total{${member}}`, '0+15x240'],
        [`etcd_server_proposals_pending{${member}}`, '2x240'],
        // etcd's own series with the same names, scraped from the member.
        [`etcd_mvcc_db_total_size_bytes{${native}}`, '4194304x240'],
        [`etcd_server_proposals_committed_total{${native}}`, '0+150x240'],
        [`etcd_server_proposals_pending{${native}}`, '7x240'],
      ].map(([series, values]) => ({ series, values }));
      const lbl = (name: string, labels: string): string => `${name}{${labels}}`;
      // Expected result of each guide query at 60m: [labels, value].
      const expected: Record<string, [string, number]> = {
        'Cluster Healthy': [lbl('etcd_cluster_healthy', mon), 1],
        'Has Leader': [lbl('etcd_cluster_has_leader', mon), 1],
        Members: [lbl('etcd_cluster_member_count', mon), 3],
        'Leader Changes (1h)': [lbl('', mon), 1],
        'Read P99': [lbl('etcd_request_read_latency_p99_milliseconds', mon), 1.5],
        'Write P99': [lbl('etcd_request_write_latency_p99_milliseconds', mon), 6.25],
        'Request Rate': [lbl('etcd_request_rate_per_second', mon), 412.5],
        'Database Size': [lbl('', member), 2],
        'Committed/sec': [lbl('', member), 1],
        Pending: [lbl('etcd_server_proposals_pending', member), 2],
      };
      const all = panelsWithRows(dashboard());
      const tests: Array<{
        expr: string;
        eval_time: string;
        exp_samples: Array<{ labels: string; value: number }>;
      }> = [];
      for (const title of [
        'Cluster Healthy',
        'Has Leader',
        'Members',
        'Leader Changes (1h)',
        'Request Latency',
        'Request Rate',
        'Database Size',
        'Raft Proposals',
      ]) {
        const panel = all.find((p) => p.panel.title === title && p.panel.type !== 'row')!.panel;
        for (const t of panel.targets!) {
          const key = panel.targets!.length > 1 ? t.legendFormat!.replace(/\s*\{\{.*$/, '') : title;
          const [labels, value] = expected[key]!;
          expect(labels, `${title}/${key}`).to.not.equal(undefined);
          tests.push({ expr: substitute(t.expr), eval_time: '60m', exp_samples: [{ labels, value }] });
        }
      }
      expect(tests.length).to.equal(10);
      await inTmp(async (dir) => {
        const p = path.join(dir, 'guide-panels.test.yml');
        fs.writeFileSync(
          p,
          YAML.stringify({
            rule_files: [],
            evaluation_interval: '15s',
            tests: [{ interval: '15s', input_series: inputSeries, promql_expr_test: tests }],
          }),
        );
        const r = await run('promtool', ['test', 'rules', p]);
        expect(r.code, out(r)).to.equal(0);
      });
    });
  });
});
