/**
 * The live dashboard in a real headless Chromium (Debian's `chromium`, driven by playwright-core)
 * against a real 3-member etcd: what users see first. Screenshots go to test-artifacts/ and the
 * healthy one also to docs/dashboard.png (the README's picture).
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import winston from 'winston';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { createDashboard } from '../../src/api/dashboard/index.js';
import { SESSION_COOKIE } from '../../src/api/dashboard/session.js';
import { ApiServer } from '../../src/api/server.js';
import { startStandalone, type StandaloneApp } from '../../src/cli/monitorCommand.js';
import { parseEndpoint, parseEndpoints } from '../../src/etcd/endpoints.js';
import { MemberClient } from '../../src/etcd/grpc.js';
import { EtcdProber } from '../../src/etcd/probe.js';
import { DEFAULT_THRESHOLDS } from '../../src/health/evaluate.js';
import { silentLogger, type Logger } from '../../src/log.js';
import { MetricsExporter } from '../../src/metrics/exporter.js';
import { ClusterMonitor } from '../../src/monitor/clusterMonitor.js';
import { MonitorRegistry } from '../../src/monitor/registry.js';
import type { EtcdMonitorStatus } from '../../src/crd/types.js';
import { EtcdCluster } from '../helpers/etcdCluster.js';
import { getJson } from '../helpers/monitor.js';
import { waitFor } from '../helpers/procs.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const ARTIFACTS = path.join(ROOT, 'test-artifacts');
const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
const VIEWPORT = { width: 1360, height: 900 };

/** The standalone monitor on a given port (0: any), optionally with an API token and a logger. */
function startMonitor(
  cluster: EtcdCluster,
  port = 0,
  token?: string,
  log: Logger = silentLogger(),
): Promise<StandaloneApp> {
  return startStandalone(
    { endpoints: parseEndpoints(cluster.endpoints), conn: {}, timeoutMs: 800, clusterName: 'demo' },
    // A shared CI machine under test load can cross the 100ms latency warning; this test is about membership health.
    {
      interval: 1000,
      apiHost: '127.0.0.1',
      apiPort: port,
      apiToken: token,
      thresholds: { ...DEFAULT_THRESHOLDS, latencyWarningMs: 5000 },
      logLevel: 'debug',
    },
    { metrics: true, writeProbe: false },
    log,
  );
}

/** Real client traffic (puts and gets on a few keys) so the latency and rate charts have something to show. */
function startTraffic(endpoints: string[]): { stop(): Promise<void> } {
  const clients = endpoints.map((e) => new MemberClient(parseEndpoint(e), {}));
  let stopped = false;
  const loop = (async () => {
    for (let i = 0; !stopped; i++) {
      const c = clients[i % clients.length]!;
      try {
        await c.put(
          Buffer.from(`/dashboard-e2e/key-${i % 64}`),
          Buffer.alloc(512 + (i % 7) * 256, 'v'),
          1000,
        );
        await c.get(Buffer.from(`/dashboard-e2e/key-${(i * 7) % 64}`), 1000);
      } catch {
        /* a killed member: keep going with the others */
      }
      await new Promise((r) => setTimeout(r, 15 + (i % 40)));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      for (const c of clients) c.close();
    },
  };
}

async function text(page: Page, selector: string): Promise<string> {
  return (await page.locator(selector).first().innerText()).trim();
}

/**
 * Wait (polling from Node, through Playwright's locators) until an element's text matches. Not
 * page.waitForFunction: the page's CSP forbids eval, and this project's tsconfig has no DOM types.
 */
async function waitText(
  page: Page,
  selector: string,
  expected: string | RegExp,
  timeout = 20_000,
): Promise<void> {
  const end = Date.now() + timeout;
  let last = '';
  for (;;) {
    last = (
      (await page
        .locator(selector)
        .first()
        .textContent({ timeout: 1000 })
        .catch(() => null)) ?? ''
    ).trim();
    if (typeof expected === 'string' ? last === expected : expected.test(last)) return;
    if (Date.now() > end)
      throw new Error(
        `${selector}: waited ${timeout}ms for ${String(expected)}, last saw ${JSON.stringify(last)}`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function staleBannerShown(page: Page, shown: boolean, timeout = 10_000): Promise<void> {
  await page.locator('#stale').waitFor({ state: shown ? 'visible' : 'hidden', timeout });
}

async function waitCount(page: Page, selector: string, atLeast: number, timeout = 30_000): Promise<void> {
  await waitFor(
    `${atLeast} × ${selector}`,
    async () => (await page.locator(selector).count()) >= atLeast,
    timeout,
  );
}

const setMarker = (page: Page, v: number): Promise<unknown> => page.evaluate(`window.noReload = ${v}`);
const marker = (page: Page): Promise<unknown> => page.evaluate('window.noReload');

interface Timing {
  paint: Record<string, number>;
  domContentLoaded: number;
  load: number;
  bytes: number;
}

const TIMING_JS = `(() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const paint = Object.fromEntries(performance.getEntriesByType('paint').map((p) => [p.name, Math.round(p.startTime)]));
  const bytes = performance.getEntriesByType('resource').reduce((n, r) => n + (r.transferSize || 0), nav ? nav.transferSize : 0);
  return { paint, domContentLoaded: Math.round(nav ? nav.domContentLoadedEventEnd : 0), load: Math.round(nav ? nav.loadEventEnd : 0), bytes };
})()`;

/** Every page error and console error of a page (asserted empty at the end of each test). */
function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    // A stream or sign-in check answered 401/503 while we test exactly that: the browser logs the failed request.
    if (m.type() === 'error' && !/Failed to load resource|EventSource/.test(m.text()))
      errors.push(`console: ${m.text()}`);
  });
  return errors;
}

async function settle<T>(what: Promise<T> | undefined): Promise<void> {
  try {
    await what;
  } catch (e) {
    console.error('cleanup failed:', (e as Error).message);
  }
}

describe('live dashboard in headless Chromium against a real 3-member etcd', function () {
  this.timeout(120_000);
  let cluster: EtcdCluster | undefined;
  let traffic: { stop(): Promise<void> } | undefined;
  let browser: Browser | undefined;

  before(async function () {
    if (!fs.existsSync(CHROMIUM))
      throw new Error(`${CHROMIUM} not found: apt-get install -y chromium (or set CHROMIUM_BIN)`);
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    cluster = await EtcdCluster.start({ size: 3 });
    traffic = startTraffic(cluster.endpoints);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  });

  after(async () => {
    await settle(browser?.close());
    await settle(traffic?.stop());
    await settle(cluster?.stop());
  });

  describe('standalone mode', () => {
    let app: StandaloneApp | undefined;
    let context: BrowserContext | undefined;
    let page: Page;
    let errors: string[] = [];

    before(async () => {
      app = await startMonitor(cluster!);
      context = await browser!.newContext({ viewport: VIEWPORT, colorScheme: 'light', deviceScaleFactor: 1 });
      page = await context.newPage();
      errors = watchErrors(page);
    });
    after(async () => {
      await settle(context?.close());
      await settle(app?.stop());
    });
    afterEach(() => {
      expect(errors, errors.join('\n')).to.deep.equal([]);
    });

    it('paints fast, then shows three members, Healthy and the leader', async () => {
      const started = Date.now();
      await page.goto(`${app!.url}/`, { waitUntil: 'load' });
      await waitText(page, '#phase .badge-text', 'Healthy');
      const dataMs = Date.now() - started;
      const timing = (await page.evaluate(TIMING_JS)) as Timing;
      const report = (what: string, t: Timing, extra = ''): void =>
        console.log(
          `      dashboard timing (${what}): first paint ${t.paint['first-paint'] ?? '?'} ms, first contentful paint ${t.paint['first-contentful-paint'] ?? '?'} ms, ` +
            `DOMContentLoaded ${t.domContentLoaded} ms, load ${t.load} ms, ${t.bytes} bytes transferred${extra}`,
        );
      report('first visit', timing, `, Healthy on screen ${dataMs} ms after navigation began`);
      // Again with a warm browser (assets revalidated by ETag: 304s).
      await page.reload({ waitUntil: 'load' });
      await waitText(page, '#phase .badge-text', 'Healthy');
      report('reload', (await page.evaluate(TIMING_JS)) as Timing);

      // The badge says it in text and with an icon, not only with colour.
      expect(await page.locator('#phase').getAttribute('data-tone')).to.equal('ok');
      expect(await page.locator('#phase use').getAttribute('href')).to.equal('#i-ok');
      const rows = page.locator('#members tbody tr');
      expect(await rows.count()).to.equal(3);
      expect(
        // The name is the header cell's own text; its endpoint sits in a child span. (innerText would depend
        // on layout: an element not yet laid out gives its text without the line break.)
        (
          await page
            .locator('#members tbody th[scope=row]')
            .evaluateAll((ths) => ths.map((th) => th.firstChild?.textContent?.trim() ?? ''))
        ).sort(),
      ).to.deep.equal(['etcd1', 'etcd2', 'etcd3']);
      const leader = cluster!.members[await cluster!.leaderIndex()]!.name;
      await waitText(page, '#s-leader', leader);
      expect(await text(page, `#members tbody tr[data-member="${leader}"] td:nth-of-type(1)`)).to.equal(
        'Leader',
      );
      for (const row of await rows.all())
        expect(await row.locator('td').nth(1).innerText()).to.equal('Healthy');
      expect(await text(page, '#alarms')).to.equal('No active alarms');
      expect(await page.locator('#clusters').isHidden(), 'no cluster list with one cluster').to.equal(true);

      // Semantic structure: landmarks, one h1, column and row headers.
      expect(await page.locator('header.topbar, main, footer').count()).to.equal(3);
      expect(await page.locator('h1').count()).to.equal(1);
      expect(await text(page, 'h1')).to.equal('demo');
      expect(await page.locator('#members thead th[scope=col]').count()).to.equal(8);
      expect(await page.locator('#conditions tbody th[scope=row]').count()).to.equal(6);
      expect(await text(page, '#conn')).to.equal('Live');

      // Let the charts fill up with real traffic, then take the picture users see first.
      await waitCount(page, '#c-rate path.line', 1);
      await waitCount(page, '#c-latency path.line', 2);
      await page.waitForTimeout(25_000);
      expect(await page.locator('#c-latency svg[role=img]').getAttribute('aria-label')).to.match(/read \d/);
      const shot = path.join(ARTIFACTS, 'dashboard.png');
      await page.screenshot({ path: shot, fullPage: true });
      fs.mkdirSync(path.join(ROOT, 'docs'), { recursive: true });
      fs.copyFileSync(shot, path.join(ROOT, 'docs', 'dashboard.png'));
      const dark = await context!
        .browser()!
        .newContext({ viewport: VIEWPORT, colorScheme: 'dark', deviceScaleFactor: 1 });
      try {
        const p2 = await dark.newPage();
        await p2.goto(`${app!.url}/`);
        await waitText(p2, '#phase .badge-text', 'Healthy');
        await p2.waitForTimeout(1500);
        await p2.screenshot({ path: path.join(ARTIFACTS, 'dashboard-dark.png'), fullPage: true });
      } finally {
        await dark.close();
      }
    });

    it('lists the advice of status.advice (severity, code, member, message, evidence, doc) and the capacity block', async () => {
      // Standalone without --backup-schedule: NoBackup (info) after two rounds; on Debian's etcd 3.4 (the
      // default binary) also UnsupportedVersion (warning) for every member.
      await waitCount(page, '#advice li.advice[data-code="NoBackup"]', 1, 20_000);
      const status = (await getJson(`${app!.url}/api/v1/cluster/status`)).body as EtcdMonitorStatus;
      const advice = status.advice ?? [];
      expect(advice.map((a) => a.code)).to.include('NoBackup');
      await waitCount(page, '#advice li.advice', advice.length, 10_000);
      const shown = await page.locator('#advice li.advice').evaluateAll((lis) =>
        lis.map((li) => ({
          code: li.getAttribute('data-code'),
          severity: li.getAttribute('data-severity'),
          member: li.getAttribute('data-member'),
          badge: li.querySelector('.sev')?.textContent?.trim() ?? '',
          icon: li.querySelector('.sev use')?.getAttribute('href') ?? '',
          message: li.querySelector('.advice-msg')?.textContent ?? '',
          evidence: li.querySelector('.advice-ev')?.textContent ?? '',
          doc: li.querySelector('a.advice-doc')?.getAttribute('href') ?? '',
        })),
      );
      // The page shows what the status says, in the status's order (worst first).
      expect(shown.map((s) => [s.code, s.severity, s.member])).to.deep.equal(
        advice.map((a) => [a.code, a.severity, a.member ?? null]),
      );
      for (const [i, a] of advice.entries()) {
        const s = shown[i]!;
        expect(s.message).to.equal(a.message);
        expect(s.doc).to.equal(a.evidence.doc);
        expect(s.badge).to.equal(
          a.severity === 'info' ? 'Info' : a.severity === 'warning' ? 'Warning' : 'Critical',
        );
        expect(s.icon).to.equal(
          a.severity === 'info' ? '#i-info' : a.severity === 'warning' ? '#i-warn' : '#i-bad',
        );
        expect(s.evidence).to.match(/\(threshold .+\) · etcd docs$/);
      }
      const noBackup = shown.find((s) => s.code === 'NoBackup')!;
      expect(noBackup.evidence).to.match(/^0 schedules \(threshold 1 schedules\)/);
      expect(noBackup.member).to.equal(null);
      const version = status.versions[0] ?? '';
      if (/^3\.4\./.test(version)) {
        const unsupported = shown.filter((s) => s.code === 'UnsupportedVersion');
        expect(unsupported.map((s) => s.member).sort()).to.deep.equal(['etcd1', 'etcd2', 'etcd3']);
        for (const s of unsupported) {
          expect(s.severity).to.equal('warning');
          expect(s.message).to.contain(`member ${s.member} runs etcd 3.4.`);
          expect(s.evidence).to.match(/^3\.4\.\d+ \(threshold 3\.5\.3\)/);
        }
      }
      expect(await text(page, '#advice-count')).to.match(/\d+ (info|warning|critical)/);

      // Capacity: fragmentation and reclaimable from the members' Status, the tier, and the growth (or
      // while the history is shorter than 30 rounds over 60 s, the note saying so).
      await waitText(page, '#cap-frag', /%$/);
      expect(await text(page, '#cap-reclaim')).to.match(/\d (B|KiB|MiB)$/);
      expect(await text(page, '#cap-tier')).to.equal('small');
      expect(await text(page, '#cap-revs')).to.match(/\/s$/);
      const growth = await text(page, '#cap-growth');
      if (growth === '—')
        expect(await text(page, '#capacity-notes')).to.match(/^Growth: a trend needs 30 rounds over 60 s/);
      else expect(growth).to.match(/\/h$/);
      await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-advice.png'), fullPage: true });
    });

    it('turns Degraded without a reload when a member is killed', async () => {
      await setMarker(page, 42);
      const leaderIdx = await cluster!.leaderIndex();
      const victim = (leaderIdx + 1) % 3;
      const name = cluster!.members[victim]!.name;
      await cluster!.kill(victim);
      await waitText(page, '#phase .badge-text', 'Degraded', 20_000);
      expect(await page.locator('#phase').getAttribute('data-tone')).to.equal('warn');
      expect(await page.locator('#phase use').getAttribute('href')).to.equal('#i-warn');
      expect(await text(page, `#members tbody tr[data-member="${name}"] td:nth-of-type(2)`)).to.equal(
        'Unhealthy',
      );
      expect(await text(page, '#s-members')).to.equal('2/3');
      expect(await text(page, '#phase-why')).to.contain(name);
      expect(await marker(page), 'the page was not reloaded').to.equal(42);
      await page.waitForTimeout(1500);
      await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-degraded.png'), fullPage: true });
    });

    it('says Stale while the monitor is down and reconnects by itself when it is back', async () => {
      const port = Number(new URL(app!.url).port);
      await app!.stop();
      app = undefined;
      await waitText(page, '#conn', /Reconnecting|Stale/, 10_000);
      // No update for more than three intervals (1s each): the page says so in words.
      await staleBannerShown(page, true);
      expect(await text(page, '#stale')).to.match(
        /^Stale: connection to the monitor lost, no update for \d+ s \(one is expected every 1 s\)/,
      );
      expect(await page.locator('#cluster').getAttribute('data-stale')).to.equal('true');
      await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-stale.png'), fullPage: true });

      app = await startMonitor(cluster!, port);
      await waitText(page, '#conn', 'Live', 20_000);
      await staleBannerShown(page, false);
      await waitText(page, '#phase .badge-text', 'Degraded', 10_000);
      expect(await marker(page), 'reconnected without a reload').to.equal(42);
    });
  });

  describe('with --api-token', () => {
    const token = `e2e-token-${process.pid}-${Date.now()}`;
    let app: StandaloneApp | undefined;
    let context: BrowserContext | undefined;
    const logLines: string[] = [];

    before(async () => {
      const sink = new Writable({
        write(chunk: Buffer, _enc, cb) {
          logLines.push(chunk.toString());
          cb();
        },
      });
      const log = winston.createLogger({
        level: 'debug',
        format: winston.format.json(),
        transports: [new winston.transports.Stream({ stream: sink })],
      });
      app = await startMonitor(cluster!, 0, token, log);
      context = await browser!.newContext({ viewport: VIEWPORT, colorScheme: 'light' });
    });
    after(async () => {
      await settle(context?.close());
      await settle(app?.stop());
    });

    it('asks for the token, rejects a wrong one, then streams with an HttpOnly session cookie', async () => {
      const page = await context!.newPage();
      const errors = watchErrors(page);
      await page.goto(`${app!.url}/`);
      await page.locator('#signin').waitFor({ state: 'visible', timeout: 15_000 });
      expect(await text(page, '#conn')).to.equal('Sign-in needed');
      expect(await page.locator('#cluster').isHidden()).to.equal(true);
      await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-signin.png') });

      await page.fill('#token', 'not-the-token');
      await page.click('#signin button[type=submit]');
      await waitText(page, '#signin-error', /not accepted/);

      await page.fill('#token', token);
      await page.click('#signin button[type=submit]');
      await waitText(page, '#phase .badge-text', /^(Healthy|Degraded)$/, 20_000);
      expect(await page.locator('#signin').isHidden()).to.equal(true);
      expect(await page.locator('#signout-wrap').isVisible()).to.equal(true);

      const cookies = await context!.cookies(app!.url);
      const session = cookies.find((c) => c.name === SESSION_COOKIE);
      expect(session, 'session cookie').to.not.equal(undefined);
      expect(session!.httpOnly).to.equal(true);
      expect(session!.sameSite).to.equal('Strict');
      expect(session!.value).to.not.contain(token);
      expect(await page.evaluate('document.cookie'), 'invisible to scripts').to.equal('');

      // A reload (or a monitor restart) keeps the session: no prompt again.
      await page.reload();
      await waitText(page, '#phase .badge-text', /^(Healthy|Degraded)$/, 20_000);
      expect(await page.locator('#signin').isHidden()).to.equal(true);
      expect(errors, errors.join('\n')).to.deep.equal([]);

      // The token never shows up in the monitor's logs.
      expect(logLines.length).to.be.greaterThan(0);
      expect(logLines.join('')).to.not.contain(token);
      await page.close();
    });

    it('keeps the JSON and the stream closed without the token; no ?token= anywhere', async () => {
      expect((await getJson(`${app!.url}/api/v1/history`)).status).to.equal(401);
      expect((await getJson(`${app!.url}/api/v1/history?token=${token}`)).status).to.equal(401);
      expect(
        (await getJson(`${app!.url}/api/v1/history`, { authorization: `Bearer ${token}` })).status,
      ).to.equal(200);
      const noAuth = await fetch(`${app!.url}/events`, { signal: AbortSignal.timeout(5000) });
      expect(noAuth.status).to.equal(401);
      await noAuth.body?.cancel();
      const queryToken = await fetch(`${app!.url}/events?token=${token}`, {
        signal: AbortSignal.timeout(5000),
      });
      expect(queryToken.status).to.equal(401);
      await queryToken.body?.cancel();
      const page = await fetch(`${app!.url}/`, { signal: AbortSignal.timeout(5000) });
      expect(page.status, 'the static page stays open').to.equal(200);
      await page.body?.cancel();
      expect(logLines.join('')).to.not.contain(token);
    });
  });

  describe('several clusters (the operator wiring: one registry, many monitors)', () => {
    let registry: MonitorRegistry | undefined;
    let api: ApiServer | undefined;
    let dashboard: ReturnType<typeof createDashboard> | undefined;
    let context: BrowserContext | undefined;

    before(async () => {
      registry = new MonitorRegistry();
      for (const name of ['prod/main', 'staging/main']) {
        const prober = new EtcdProber(
          parseEndpoints(cluster!.endpoints),
          {},
          { timeoutMs: 800, metrics: true },
        );
        registry.add(
          new ClusterMonitor(
            {
              name,
              intervalMs: 1000,
              timeoutMs: 800,
              thresholds: { ...DEFAULT_THRESHOLDS, latencyWarningMs: 5000 },
            },
            prober,
            silentLogger(),
          ),
        );
      }
      dashboard = createDashboard(registry);
      api = new ApiServer(
        registry,
        new MetricsExporter(registry),
        { host: '127.0.0.1', port: 0, ready: () => true, extraRoutes: dashboard.routes },
        silentLogger(),
      );
      await api.listen();
      for (const m of registry.list()) m.start(0);
      context = await browser!.newContext({ viewport: VIEWPORT, colorScheme: 'light' });
    });
    after(async () => {
      await settle(context?.close());
      dashboard?.close();
      await settle(registry?.stopAll());
      await settle(api?.close());
    });

    it('lists the clusters and switches between them without a reload', async () => {
      const addr = api!.server.address() as { port: number };
      const base = `http://127.0.0.1:${addr.port}`;
      const page = await context!.newPage();
      const errors = watchErrors(page);
      await page.goto(`${base}/`);
      await page.locator('#clusters').waitFor({ state: 'visible', timeout: 15_000 });
      await waitCount(page, '#cluster-list a', 2, 15_000);
      expect(await page.locator('#cluster-list .cl-name').allInnerTexts()).to.deep.equal([
        'prod/main',
        'staging/main',
      ]);
      await waitText(page, 'h1', 'prod/main');
      expect(await page.locator('#cluster-list a[aria-current=page] .cl-name').innerText()).to.equal(
        'prod/main',
      );
      await setMarker(page, 7);
      await page.click('#cluster-list a[data-cluster="staging/main"]');
      await waitText(page, 'h1', 'staging/main');
      await waitText(page, '#phase .badge-text', /^(Healthy|Degraded)$/);
      expect(await page.locator('#members tbody tr').count()).to.equal(3);
      expect(await marker(page)).to.equal(7);
      await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-clusters.png'), fullPage: true });

      // The JSON history follows the same ?cluster= rules as /api/v1/cluster/status.
      const none = await getJson(`${base}/api/v1/history`);
      expect(none.status).to.equal(400);
      expect((none.body as { error: { code: string; clusters: string[] } }).error).to.include({
        code: 'ClusterRequired',
      });
      expect((none.body as { error: { clusters: string[] } }).error.clusters).to.deep.equal([
        'prod/main',
        'staging/main',
      ]);
      const one = await getJson(`${base}/api/v1/history?cluster=${encodeURIComponent('staging/main')}`);
      expect(one.status).to.equal(200);
      expect((one.body as { cluster: string }).cluster).to.equal('staging/main');
      expect(errors, errors.join('\n')).to.deep.equal([]);
      await page.close();
    });
  });
});
