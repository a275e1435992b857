/** The dashboard's pure parts: formatting, chart geometry and markup, the session cookie, the embedded assets. */
import { expect } from 'chai';
import fs from 'node:fs';
import type http from 'node:http';
import { DASHBOARD_ASSETS } from '../../src/api/dashboard/assets.generated.js';
import {
  cookieValue,
  sessionCookie,
  sessionValue,
  streamAuthorized,
  SESSION_COOKIE,
} from '../../src/api/dashboard/session.js';
import { sseFrame } from '../../src/api/dashboard/events.js';
import {
  escapeXml,
  linePath,
  nearestIndex,
  niceScale,
  niceStep,
  renderChart,
  timeTicks,
  xDomain,
} from '../../web/dashboard/charts.js';
import {
  absentLatencyText,
  ago,
  capacityNotes,
  dateTime,
  dbInUseText,
  DASH,
  evidenceFigure,
  evidenceText,
  growthText,
  humanBytes,
  humanDuration,
  humanInt,
  humanLongDuration,
  humanMs,
  humanPercent,
  humanRate,
  isStale,
  latencyFigureText,
  latencyNotes,
  leaderChangeDeltas,
  phaseInfo,
  phaseReason,
  quotaFullText,
  safeDocUrl,
  severityInfo,
  tickBytes,
  tickMs,
  tickRate,
  tierText,
} from '../../web/dashboard/format.js';
import { GENERATED, generateAssetsModule } from '../../scripts/build-dashboard.js';

describe('dashboard formatting', () => {
  it('bytes in binary units, absent as a dash', () => {
    expect(humanBytes(0)).to.equal('0 B');
    expect(humanBytes(512)).to.equal('512 B');
    expect(humanBytes(20480)).to.equal('20.0 KiB');
    expect(humanBytes(2342912)).to.equal('2.2 MiB');
    expect(humanBytes(180 * 1024 * 1024)).to.equal('180 MiB');
    expect(humanBytes(2147483648)).to.equal('2.0 GiB');
    expect(humanBytes(null)).to.equal(DASH);
    expect(humanBytes(undefined)).to.equal(DASH);
    expect(humanBytes(NaN)).to.equal(DASH);
  });

  it('milliseconds, rates, percentages and counts', () => {
    expect(humanMs(0.423)).to.equal('0.42 ms');
    expect(humanMs(1.84)).to.equal('1.8 ms');
    expect(humanMs(120.4)).to.equal('120 ms');
    expect(humanMs(1250)).to.equal('1.25 s');
    expect(humanMs(null)).to.equal(DASH);
    expect(humanMs(0)).to.equal('0.00 ms');
    expect(humanRate(0.5)).to.equal('0.5/s');
    expect(humanRate(412.5)).to.equal('413/s');
    expect(humanRate(1234)).to.equal('1.2k/s');
    expect(humanRate(45_000)).to.equal('45k/s');
    expect(humanRate(undefined)).to.equal(DASH);
    expect(humanPercent(0.0011)).to.equal('<0.1%');
    expect(humanPercent(0)).to.equal('0.0%');
    expect(humanPercent(42.34)).to.equal('42%');
    expect(humanPercent(4.34)).to.equal('4.3%');
    expect(humanInt(1234567)).to.equal('1,234,567');
    expect(humanInt(12)).to.equal('12');
    expect(humanInt(undefined)).to.equal(DASH);
  });

  it('durations and ages', () => {
    expect(humanDuration(45_000)).to.equal('45 s');
    expect(humanDuration(6 * 60_000)).to.equal('6 min');
    expect(humanDuration(90 * 60_000)).to.equal('1 h 30 min');
    expect(humanDuration(2 * 3600_000)).to.equal('2 h');
    expect(ago(400)).to.equal('just now');
    expect(ago(12_000)).to.equal('12 s ago');
    expect(ago(180_000)).to.equal('3 min ago');
  });

  it('axis ticks stay short', () => {
    expect(tickMs(0)).to.equal('0');
    expect(tickMs(25)).to.equal('25 ms');
    expect(tickMs(0.25)).to.equal('0.25 ms');
    expect(tickMs(1500)).to.equal('1.5 s');
    expect(tickMs(2000)).to.equal('2 s');
    expect(tickBytes(512 * 1024)).to.equal('512 KiB');
    expect(tickBytes(1024 * 1024)).to.equal('1 MiB');
    expect(tickBytes(1.5 * 1024 * 1024)).to.equal('1.5 MiB');
    expect(tickRate(20)).to.equal('20/s');
    expect(tickRate(2)).to.equal('2/s');
  });

  it('every phase has an icon and a sentence, not only a colour', () => {
    for (const phase of ['Healthy', 'Degraded', 'Unhealthy', 'Unreachable', 'Pending', 'Paused']) {
      const p = phaseInfo(phase);
      expect(p.icon, phase).to.match(/^i-/);
      expect(p.meaning, phase).to.not.equal('');
    }
    expect(phaseInfo('Healthy').tone).to.equal('ok');
    expect(phaseInfo('Degraded').tone).to.equal('warn');
    expect(phaseInfo('Unhealthy').tone).to.equal('bad');
    expect(phaseInfo('Unreachable').icon).to.not.equal(phaseInfo('Unhealthy').icon);
    expect(phaseInfo('Bogus').tone).to.equal('neutral');
  });

  it('says why from the conditions', () => {
    const conds = [
      { type: 'Healthy', status: 'True', message: '2/3 voting members healthy, leader etcd1' },
      { type: 'Degraded', status: 'True', message: 'unhealthy members: etcd2' },
      { type: 'ConfigValid', status: 'True', message: 'configuration accepted' },
    ];
    expect(phaseReason('Degraded', conds)).to.equal('unhealthy members: etcd2');
    expect(phaseReason('Healthy', conds)).to.equal('2/3 voting members healthy, leader etcd1');
    expect(phaseReason('Unhealthy', [{ type: 'Healthy', status: 'False', message: 'quorum lost' }])).to.equal(
      'quorum lost',
    );
    expect(
      phaseReason('Unreachable', [
        { type: 'ConfigValid', status: 'False', message: 'TLS secret missing' },
        { type: 'Healthy', status: 'False', message: 'x' },
      ]),
    ).to.equal('TLS secret missing');
    expect(phaseReason('Pending', conds)).to.equal('');
  });

  it('stale means no update for more than three intervals', () => {
    expect(isStale(10_000, 13_000, 1000)).to.equal(false);
    expect(isStale(10_000, 13_001, 1000)).to.equal(true);
    expect(isStale(0, 29_000, 10_000)).to.equal(false);
    expect(isStale(0, 31_000, 10_000)).to.equal(true);
  });

  it('leader changes per round from the counter; a restarted monitor (counter reset) is not a change', () => {
    expect(leaderChangeDeltas([])).to.deep.equal([]);
    expect(
      leaderChangeDeltas([0, 0, 1, 1, 3, 0, 1].map((leaderChanges) => ({ leaderChanges }))),
    ).to.deep.equal([0, 0, 1, 0, 2, 0, 1]);
  });

  it("says what a latency figure is: the interval, the slowest of few requests, or the monitor's own reads", () => {
    const own = [
      "readP99Ms: from the monitor's own health reads (members export no grpc_server_handling_seconds; …)",
    ];
    expect(latencyFigureText('readP99Ms', { readP99Ms: 4, readP99Kind: 'p99', readSamples: 3000 })).to.equal(
      'last interval',
    );
    expect(latencyFigureText('readP99Ms', { readP99Ms: 4, readP99Kind: 'max', readSamples: 40 })).to.equal(
      'slowest of 40 requests, last interval',
    );
    expect(
      latencyFigureText('readP99Ms', { readP99Ms: 4, readP99Kind: 'max', readSamples: 12, notes: own }),
    ).to.equal('max of 12 health reads');
    expect(
      latencyFigureText('readP99Ms', { readP99Ms: 4, readP99Kind: 'p99', readSamples: 120, notes: own }),
    ).to.equal('p99 of the last 120 health reads');
    expect(
      latencyFigureText('writeP99Ms', { notes: ['writeP99Ms: no such requests in the last interval'] }),
    ).to.equal('no writes in the last interval');
  });
  it('DB size with what is in use, and latency notes in words', () => {
    expect(dbInUseText(2 * 1024 * 1024, 1024 * 1024)).to.equal('1.0 MiB in use (50%)');
    expect(dbInUseText(2048, undefined)).to.equal('');
    expect(dbInUseText(undefined, 5)).to.equal('5 B in use');
    expect(latencyNotes(['writeP99Ms: no such requests in the last interval', 'other'])).to.deep.equal([
      'Write p99: no such requests in the last interval',
      'other',
    ]);
    expect(absentLatencyText('writeP99Ms', ['writeP99Ms: no such requests in the last interval'])).to.equal(
      'no writes in the last interval',
    );
    expect(absentLatencyText('readP99Ms', ['readP99Ms: no such requests in the last interval'])).to.equal(
      'no reads in the last interval',
    );
    expect(absentLatencyText('readP99Ms', ['readP99Ms: member metrics disabled'])).to.equal(
      'member metrics disabled',
    );
    expect(absentLatencyText('readP99Ms', undefined)).to.equal('not measured');
  });
});

describe('dashboard capacity and advice (SPEC §10)', () => {
  it('growth per hour, when the quota is full, tier: a dash while there is no trend, never a made-up 0', () => {
    expect(growthText(1.5 * 1024 * 1024)).to.equal('1.5 MiB/h');
    expect(growthText(0)).to.equal('0 B/h');
    expect(growthText(undefined)).to.equal(DASH);
    const now = Date.parse('2026-12-01T12:00:00Z');
    expect(quotaFullText('2026-12-04T16:30:00Z', 4096, now)).to.equal('in 3 d 4 h');
    expect(quotaFullText('2026-12-01T17:20:00Z', 4096, now)).to.equal('in 5 h 20 min');
    expect(quotaFullText('2026-12-01T11:59:00Z', 4096, now)).to.equal('now');
    expect(quotaFullText(undefined, 0, now), 'a trend that is flat').to.equal('not growing');
    expect(quotaFullText(undefined, undefined, now), 'no trend yet').to.equal(DASH);
    expect(humanLongDuration(47 * 3600_000)).to.equal('47 h');
    expect(humanLongDuration(72 * 3600_000)).to.equal('3 d');
    expect(dateTime(new Date(2026, 11, 4, 9, 5).getTime())).to.equal('2026-12-04 09:05');
    expect(tierText('medium')).to.equal('medium');
    expect(tierText('beyond-xlarge')).to.equal('beyond xlarge');
    expect(tierText(undefined)).to.equal(DASH);
  });

  it('says why a capacity figure is not there yet, in words', () => {
    expect(
      capacityNotes([
        'dbGrowthBytesPerHour: a trend needs 30 rounds over 60 s of history; have 3 over 2 s',
        'quotaExhaustionTime: the backend is not growing (over 5 min)',
        'something else',
      ]),
    ).to.deep.equal([
      'Growth: a trend needs 30 rounds over 60 s of history; have 3 over 2 s',
      'Quota full: the backend is not growing (over 5 min)',
      'something else',
    ]);
    expect(capacityNotes(undefined)).to.deep.equal([]);
  });

  it('every severity has an icon and a word, not only a colour', () => {
    expect(severityInfo('critical')).to.deep.equal({ tone: 'bad', icon: 'i-bad', label: 'Critical' });
    expect(severityInfo('warning')).to.deep.equal({ tone: 'warn', icon: 'i-warn', label: 'Warning' });
    expect(severityInfo('info')).to.deep.equal({ tone: 'neutral', icon: 'i-info', label: 'Info' });
    expect(severityInfo('bogus').label).to.equal('bogus');
  });

  it('shows the evidence figure against its threshold, in its unit', () => {
    expect(evidenceText({ value: 12.345, threshold: 10, unit: 'ms', window: '5m' })).to.equal(
      '12.3 ms (threshold 10 ms, over 5m)',
    );
    expect(evidenceText({ value: 251658240, threshold: 104857600, unit: 'bytes' })).to.equal(
      '240 MiB (threshold 100 MiB)',
    );
    expect(evidenceText({ value: 18.52, threshold: 168, unit: 'hours', window: '3600s' })).to.equal(
      '18.5 h (threshold 168 h, over 3600s)',
    );
    expect(evidenceFigure(4, 'version')).to.equal('3.4.0');
    expect(evidenceFigure(5.03, 'version')).to.equal('3.5.3');
    expect(evidenceFigure(4, 'members')).to.equal('4 members');
    expect(evidenceFigure(5, 'changes/h')).to.equal('5 changes/h');
    expect(evidenceFigure(12.4, 'minutes')).to.equal('12 min');
    expect(evidenceFigure(1234, 'requests/s')).to.equal('1.2k/s');
    expect(evidenceFigure(NaN, 'ms')).to.equal(DASH);
  });

  it('links only https documentation; anything else stays text', () => {
    expect(safeDocUrl('https://etcd.io/docs/v3.5/op-guide/hardware/#disks')).to.equal(
      'https://etcd.io/docs/v3.5/op-guide/hardware/#disks',
    );
    expect(safeDocUrl('javascript:alert(1)')).to.equal(undefined);
    expect(safeDocUrl('http://example.com/')).to.equal(undefined);
    expect(safeDocUrl('not a url')).to.equal(undefined);
    expect(safeDocUrl(undefined)).to.equal(undefined);
  });

  it('puts the advice messages on the page as text: innerHTML only for the escaped chart SVG', () => {
    const app = fs.readFileSync('web/dashboard/app.ts', 'utf8');
    expect(app.match(/\.innerHTML\b/g)).to.have.length(1);
    expect(app).to.match(/plot\.innerHTML = renderChart\(/);
    expect(app).to.not.match(/insertAdjacentHTML|outerHTML|document\.write/);
    const html = DASHBOARD_ASSETS[0]!.body;
    for (const id of ['advice', 'advice-count', 'capacity', 'capacity-notes', 'cap-growth', 'cap-quota'])
      expect(html, id).to.contain(`id="${id}"`);
    expect(html).to.contain('<symbol id="i-info"');
  });
});

describe('dashboard charts', () => {
  it('nice y scales from 0, on round numbers (binary for bytes, whole for counts)', () => {
    expect(niceStep(0.075)).to.be.closeTo(0.1, 1e-12);
    expect(niceStep(23)).to.equal(25);
    expect(niceStep(3)).to.equal(5);
    expect(niceScale(0.3)).to.deep.equal({ max: 0.3, ticks: [0, 0.1, 0.2, 0.3] });
    expect(niceScale(93)).to.deep.equal({ max: 100, ticks: [0, 25, 50, 75, 100] });
    expect(niceScale(0)).to.deep.equal({ max: 1, ticks: [0, 0.25, 0.5, 0.75, 1] });
    expect(niceScale(0, { integer: true })).to.deep.equal({ max: 1, ticks: [0, 1] });
    expect(niceScale(3, { integer: true })).to.deep.equal({ max: 3, ticks: [0, 1, 2, 3] });
    const mib = 1024 * 1024;
    const b = niceScale(1.3 * mib, { binary: true });
    expect(b.max).to.equal(1.5 * mib);
    expect(b.ticks).to.deep.equal([0, 0.5 * mib, mib, 1.5 * mib]);
  });

  it('time ticks on round wall-clock instants', () => {
    expect(timeTicks(0, 60_000, 6)).to.deep.equal([0, 15_000, 30_000, 45_000, 60_000]);
    expect(timeTicks(1_000, 59_000, 6)).to.deep.equal([10_000, 20_000, 30_000, 40_000, 50_000]);
    const hour = timeTicks(0, 3600_000, 6);
    expect(hour).to.have.length(5);
    expect(hour[1]).to.equal(900_000);
    expect(timeTicks(5, 5)).to.deep.equal([]);
  });

  it('x domain grows to a minimum span; nearest point by time', () => {
    expect(xDomain([100_000, 101_000], 60_000)).to.deep.equal([41_000, 101_000]);
    expect(xDomain([0, 120_000], 60_000)).to.deep.equal([0, 120_000]);
    expect(nearestIndex([], 5)).to.equal(-1);
    expect(nearestIndex([0, 10, 20, 30], 14)).to.equal(1);
    expect(nearestIndex([0, 10, 20, 30], 16)).to.equal(2);
    expect(nearestIndex([0, 10, 20, 30], -50)).to.equal(0);
    expect(nearestIndex([0, 10, 20, 30], 99)).to.equal(3);
  });

  it('lines break where a figure is absent', () => {
    expect(linePath([0, 1, 2, 3, 4], [5, 6, null, 7, 8])).to.equal('M0 5L1 6M3 7L4 8');
    expect(linePath([0, 1], [null, null])).to.equal('');
  });

  it('renders accessible SVG with escaped text, dashes and an empty state', () => {
    const svg = renderChart({
      width: 400,
      height: 170,
      times: [0, 1000, 2000],
      series: [
        { label: 'Read', cls: 's1', values: [1, 2, 3] },
        { label: 'Write', cls: 's2', dashed: true, values: [null, 4, 5] },
      ],
      format: (v) => `${v} ms`,
      minSpanMs: 2000,
      label: 'Latency <p99> & "more"',
      timeLabel: (t) => `t${t}`,
    });
    expect(svg).to.match(/^<svg [^>]*role="img" aria-label="Latency &lt;p99&gt; &amp; &quot;more&quot;"/);
    expect(svg).to.contain('<title>Latency &lt;p99&gt; &amp; &quot;more&quot;</title>');
    expect(svg).to.contain('stroke-dasharray="6 4"');
    expect(svg.match(/class="line /g)).to.have.length(2);
    expect(svg).to.contain('>6 ms<');
    expect(svg).to.contain('>t0<');
    expect(svg).to.not.contain('class="empty"');
    const empty = renderChart({
      width: 400,
      height: 170,
      times: [0, 1000],
      series: [{ label: 'x', cls: 's1', values: [null, null] }],
      format: String,
      label: 'x',
      emptyText: 'No data <yet>',
    });
    expect(empty).to.contain('No data &lt;yet&gt;');
    const bars = renderChart({
      width: 400,
      height: 170,
      times: [0, 1000, 2000],
      series: [{ label: 'c', cls: 's5', values: [0, 2, 0] }],
      kind: 'bars',
      integer: true,
      format: String,
      label: 'c',
    });
    expect(bars.match(/<rect /g)).to.have.length(1);
    const none = renderChart({
      width: 400,
      height: 170,
      times: [0, 1000],
      series: [{ label: 'c', cls: 's5', values: [0, 0] }],
      kind: 'bars',
      format: String,
      label: 'c',
      emptyText: 'No change',
    });
    expect(none).to.contain('No change');
    expect(escapeXml(`<a href='x'>&`)).to.equal('&lt;a href=&#39;x&#39;&gt;&amp;');
  });
});

describe('dashboard session cookie', () => {
  const req = (headers: http.IncomingHttpHeaders, encrypted = false): http.IncomingMessage =>
    ({ headers, socket: { encrypted } }) as unknown as http.IncomingMessage;

  it('is derived from the token, never the token itself, and changes with it', () => {
    const v = sessionValue('s3cret-token');
    expect(v).to.match(/^[A-Za-z0-9_-]{43}$/);
    expect(v).to.not.contain('s3cret');
    expect(sessionValue('s3cret-token')).to.equal(v);
    expect(sessionValue('other-token')).to.not.equal(v);
  });

  it('is HttpOnly and SameSite=Strict, Secure behind HTTPS', () => {
    expect(sessionCookie(req({}), 't')).to.equal(
      `${SESSION_COOKIE}=${sessionValue('t')}; Path=/; HttpOnly; SameSite=Strict`,
    );
    expect(sessionCookie(req({ 'x-forwarded-proto': 'https' }), 't')).to.match(/; Secure$/);
    expect(sessionCookie(req({}, true), 't')).to.match(/; Secure$/);
  });

  it('authorises the stream with the Bearer token or the cookie, nothing else', () => {
    const token = 'tok-123';
    const cookie = `${SESSION_COOKIE}=${sessionValue(token)}`;
    expect(streamAuthorized(req({}), undefined)).to.equal(true);
    expect(streamAuthorized(req({}), token)).to.equal(false);
    expect(streamAuthorized(req({ authorization: `Bearer ${token}` }), token)).to.equal(true);
    expect(streamAuthorized(req({ authorization: 'Bearer nope' }), token)).to.equal(false);
    expect(streamAuthorized(req({ cookie: `a=b; ${cookie}; c=d` }), token)).to.equal(true);
    expect(
      streamAuthorized(req({ cookie: `${SESSION_COOKIE}=${token}` }), token),
      'the raw token is not a session',
    ).to.equal(false);
    expect(
      streamAuthorized(req({ cookie: `${SESSION_COOKIE}=${sessionValue('old-token')}` }), token),
    ).to.equal(false);
  });

  it('reads one cookie from a Cookie header', () => {
    expect(cookieValue('a=1; b=2; a=3', 'a')).to.equal('1');
    expect(cookieValue(' b = 2 ', 'b')).to.equal('2');
    expect(cookieValue('ab=1', 'a')).to.equal(undefined);
    expect(cookieValue(undefined, 'a')).to.equal(undefined);
  });
});

describe('dashboard assets and events', () => {
  it('one SSE event per frame: one data line of JSON, blank-line terminated', () => {
    const f = sseFrame('round', { cluster: 'a\nb', n: 1 });
    expect(f).to.equal('event: round\ndata: {"cluster":"a\\nb","n":1}\n\n');
  });

  it('the embedded page is self-contained: no inline script, nothing from another origin', () => {
    const paths = DASHBOARD_ASSETS.map((a) => a.path);
    expect(paths).to.deep.equal([
      '/',
      '/dashboard/app.css',
      '/dashboard/app.js',
      '/dashboard/charts.js',
      '/dashboard/format.js',
    ]);
    const html = DASHBOARD_ASSETS[0]!.body;
    expect(html).to.match(/^<!doctype html>/);
    for (const tag of html.match(/<script\b[^>]*>/g) ?? [])
      expect(tag, 'scripts are external files (CSP script-src self)').to.match(/\bsrc="\/dashboard\//);
    for (const a of DASHBOARD_ASSETS) {
      expect(a.body, a.path).to.not.match(/(?:src|href)=["']?(?:https?:)?\/\//);
      expect(a.body, a.path).to.not.match(/@import|url\(\s*['"]?https?:/);
      expect(a.body, a.path).to.not.match(/\bstyle="/);
    }
    expect(html).to.contain('<main');
    expect(html).to.contain('<meta name="color-scheme" content="light dark">');
    expect(DASHBOARD_ASSETS[1]!.body).to.contain('@media (prefers-color-scheme: dark)');
  });

  it('the committed generated module is up to date with web/dashboard (run `npm run build` if not)', function () {
    this.timeout(30_000);
    expect(
      fs.readFileSync(GENERATED, 'utf8') === generateAssetsModule(),
      'src/api/dashboard/assets.generated.ts is stale: run npm run build',
    ).to.equal(true);
  });
});
