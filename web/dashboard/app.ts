/**
 * The live dashboard page: one EventSource on /events, rendering with plain DOM calls (names from the
 * API always go through textContent) and inline-SVG charts. Reconnects by itself; says "Stale" when no
 * round arrived for more than three probe intervals; asks for the API token when the stream answers 401.
 */
import { nearestIndex, PAD, renderChart, xDomain, type ChartSeries } from './charts.js';
import {
  ago,
  capacityNotes,
  clockTime,
  DASH,
  dateTime,
  dbInUseText,
  evidenceText,
  growthText,
  humanBytes,
  humanDuration,
  humanInt,
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
  tierText,
  tickMs,
  tickRate,
} from './format.js';
import type {
  Advice,
  CapacityStatus,
  ClusterStatus,
  ClusterSummary,
  Condition,
  HelloEvent,
  HistoryPoint,
  MemberStatus,
  RemovedEvent,
  RoundEvent,
} from './types.js';

type ConnState = 'connecting' | 'live' | 'reconnecting' | 'stale' | 'signin';

interface ClusterState {
  name: string;
  intervalMs: number;
  summary: ClusterSummary;
  /** Browser time of the last round received for this cluster. */
  lastUpdate: number;
}

const state = {
  clusters: new Map<string, ClusterState>(),
  selected: null as string | null,
  status: null as ClusterStatus | null,
  points: [] as HistoryPoint[],
  times: [] as number[],
  capacity: 360,
  heartbeatMs: 15_000,
  open: false,
  signin: false,
  tokenRequired: false,
  hover: new Map<string, number>(),
};

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} missing`);
  return el as T;
};

function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: Array<Node | string>
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  for (const c of children) el.append(c);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

function icon(id: string): SVGSVGElement {
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('class', 'icon');
  svg.setAttribute('aria-hidden', 'true');
  const use = document.createElementNS(SVG_NS, 'use');
  use.setAttribute('href', `#${id}`);
  svg.append(use);
  return svg;
}

function setIcon(container: Element, id: string): void {
  container.querySelector('use')?.setAttribute('href', `#${id}`);
}

/* ---------- the event stream ---------- */

let es: EventSource | null = null;
let retryTimer: number | undefined;
let backoffMs = 1000;
let lastEventAt = Date.now();

function wantedCluster(): string | null {
  const m = /(?:^#|&)cluster=([^&]*)/.exec(location.hash) ?? /(?:^\?|&)cluster=([^&]*)/.exec(location.search);
  if (!m || !m[1]) return null;
  try {
    return decodeURIComponent(m[1]);
  } catch {
    return null;
  }
}

function streamUrl(): string {
  const want = wantedCluster();
  return want ? `/events?cluster=${encodeURIComponent(want)}` : '/events';
}

function connect(): void {
  window.clearTimeout(retryTimer);
  es?.close();
  const url = streamUrl();
  const source = new EventSource(url);
  es = source;
  state.open = false;
  renderConn();
  source.addEventListener('open', () => {
    backoffMs = 1000;
  });
  source.addEventListener('hello', (e) =>
    onHello(JSON.parse((e as MessageEvent<string>).data) as HelloEvent),
  );
  source.addEventListener('round', (e) =>
    onRound(JSON.parse((e as MessageEvent<string>).data) as RoundEvent),
  );
  source.addEventListener('removed', (e) =>
    onRemoved(JSON.parse((e as MessageEvent<string>).data) as RemovedEvent),
  );
  source.addEventListener('error', () => {
    if (es !== source) return;
    state.open = false;
    // CONNECTING: the browser retries by itself (after the server's `retry:`), e.g. while the monitor restarts.
    // CLOSED: the server answered with an error status; find out which one.
    if (source.readyState === EventSource.CLOSED) void diagnose(url);
    renderConn();
  });
}

/** The stream failed with an HTTP error: ask again with HEAD to learn why (EventSource does not say). */
async function diagnose(url: string): Promise<void> {
  es = null;
  let status = 0;
  try {
    status = (await fetch(url, { method: 'HEAD', cache: 'no-store', credentials: 'same-origin' })).status;
  } catch {
    /* the monitor is down: retry below */
  }
  if (status === 401) {
    state.tokenRequired = true;
    showSignin(true);
    return;
  }
  if ((status === 404 || status === 400) && wantedCluster() !== null) {
    // The cluster in the address is not (or no longer) monitored: fall back to the default one.
    history.replaceState(null, '', location.pathname);
    connect();
    return;
  }
  retryTimer = window.setTimeout(connect, backoffMs);
  backoffMs = Math.min(backoffMs * 2, 15_000);
  renderConn();
}

function onHello(hello: HelloEvent): void {
  const now = Date.now();
  lastEventAt = now;
  const serverNow = Date.parse(hello.serverTime);
  state.clusters.clear();
  for (const c of hello.clusters) {
    const probed = c.summary.lastProbeTime ? Date.parse(c.summary.lastProbeTime) : NaN;
    const age = Number.isFinite(probed) && Number.isFinite(serverNow) ? Math.max(0, serverNow - probed) : 0;
    state.clusters.set(c.name, {
      name: c.name,
      intervalMs: c.intervalMs,
      summary: c.summary,
      lastUpdate: now - age,
    });
  }
  state.selected = hello.selected;
  state.status = hello.status;
  state.points = hello.points;
  state.times = hello.points.map((p) => Date.parse(p.time));
  state.capacity = hello.historyCapacity;
  state.heartbeatMs = hello.heartbeatMs;
  state.open = true;
  showSignin(false);
  scheduleRender();
  void checkTokenRequired();
}

function onRound(ev: RoundEvent): void {
  const now = Date.now();
  lastEventAt = now;
  state.clusters.set(ev.cluster, {
    name: ev.cluster,
    intervalMs: ev.intervalMs,
    summary: ev.summary,
    lastUpdate: now,
  });
  if (state.selected === null) state.selected = ev.cluster;
  if (ev.cluster === state.selected) {
    if (ev.status) state.status = ev.status;
    state.points.push(ev.point);
    state.times.push(Date.parse(ev.point.time));
    const extra = state.points.length - state.capacity;
    if (extra > 0) {
      state.points.splice(0, extra);
      state.times.splice(0, extra);
    }
  }
  scheduleRender();
}

function onRemoved(ev: RemovedEvent): void {
  lastEventAt = Date.now();
  state.clusters.delete(ev.cluster);
  if (ev.cluster === state.selected) {
    history.replaceState(null, '', location.pathname);
    connect();
    return;
  }
  scheduleRender();
}

/** With a session cookie the stream works, but the page cannot tell whether a token is in force: ask once. */
let tokenChecked = false;
async function checkTokenRequired(): Promise<void> {
  if (tokenChecked) return;
  tokenChecked = true;
  try {
    const r = await fetch('/api/v1/dashboard/session', { cache: 'no-store', credentials: 'same-origin' });
    state.tokenRequired = r.status === 401;
  } catch {
    /* unknown: keep */
  }
  $('signout-wrap').hidden = !state.tokenRequired;
}

/* ---------- sign in ---------- */

function showSignin(on: boolean): void {
  if (state.signin === on) return;
  state.signin = on;
  $('signin').hidden = !on;
  if (on) {
    es?.close();
    es = null;
    $('cluster').hidden = true;
    $('empty').hidden = true;
    $('token').focus();
  }
  renderConn();
  scheduleRender();
}

async function signIn(e: SubmitEvent): Promise<void> {
  e.preventDefault();
  const input = $<HTMLInputElement>('token');
  const err = $('signin-error');
  const token = input.value.trim();
  if (!token) return;
  err.textContent = '';
  try {
    const r = await fetch('/api/v1/dashboard/session', {
      headers: { authorization: `Bearer ${token}` },
      cache: 'no-store',
      credentials: 'same-origin',
    });
    if (r.ok) {
      input.value = '';
      state.tokenRequired = true;
      $('signout-wrap').hidden = false;
      showSignin(false);
      connect();
      return;
    }
    err.textContent =
      r.status === 401
        ? 'That token was not accepted. Check --api-token / ETCD_MONITOR_API_TOKEN.'
        : `Sign-in failed: HTTP ${r.status}.`;
  } catch {
    err.textContent = 'The monitor did not answer. Is it running?';
  }
  input.select();
}

/* ---------- rendering ---------- */

let renderQueued = false;
function scheduleRender(): void {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    render();
  });
}

function selectedCluster(): ClusterState | undefined {
  return state.selected ? state.clusters.get(state.selected) : undefined;
}

function staleNow(): boolean {
  const c = selectedCluster();
  return c !== undefined && isStale(c.lastUpdate, Date.now(), c.intervalMs);
}

function renderConn(): void {
  let s: ConnState;
  if (state.signin) s = 'signin';
  else if (!state.open) s = state.clusters.size > 0 ? 'reconnecting' : 'connecting';
  else s = staleNow() ? 'stale' : 'live';
  const el = $('conn');
  if (el.dataset.state === s) return;
  el.dataset.state = s;
  const [ic, text] = {
    connecting: ['i-pending', 'Connecting…'],
    live: ['i-live', 'Live'],
    reconnecting: ['i-pending', 'Reconnecting…'],
    stale: ['i-warn', 'Stale'],
    signin: ['i-lock', 'Sign-in needed'],
  }[s];
  setIcon(el, ic!);
  el.querySelector('span')!.textContent = text!;
}

function render(): void {
  renderConn();
  renderList();
  const article = $('cluster');
  const empty = $('empty');
  if (state.signin) return;
  const c = selectedCluster();
  const s = state.status;
  if (!c || !s) {
    article.hidden = true;
    empty.hidden = false;
    empty.textContent = !state.open
      ? 'Connecting to the monitor…'
      : state.clusters.size === 0
        ? 'No cluster is monitored yet.'
        : `Waiting for the first probe round of ${state.selected ?? 'the cluster'}…`;
    document.title = 'etcd-monitor';
    return;
  }
  empty.hidden = true;
  article.hidden = false;
  renderHeader(c, s);
  renderStats(s);
  renderMembers(s.members);
  renderAlarms(s);
  renderAdvice(s.advice ?? []);
  renderCapacity(s.capacity, s);
  renderConditions(s.conditions);
  renderCharts(c, s);
  renderStale(c);
  const q = state.clusters.size > 1 ? `?cluster=${encodeURIComponent(c.name)}` : '';
  $<HTMLAnchorElement>('link-status').href = `/api/v1/cluster/status${q}`;
  $<HTMLAnchorElement>('link-history').href = `/api/v1/history${q}`;
}

function renderList(): void {
  const nav = $('clusters');
  const show = state.clusters.size > 1 && !state.signin;
  nav.hidden = !show;
  if (!show) return;
  const ul = $('cluster-list');
  const items: HTMLLIElement[] = [];
  for (const c of [...state.clusters.values()].sort((a, b) => a.name.localeCompare(b.name))) {
    const info = phaseInfo(c.summary.phase);
    const stale = isStale(c.lastUpdate, Date.now(), c.intervalMs);
    const a = h(
      'a',
      { href: `#cluster=${encodeURIComponent(c.name)}`, 'data-tone': info.tone, 'data-cluster': c.name },
      icon(info.icon),
      h('span', { class: 'cl-name' }, c.name),
      h(
        'span',
        { class: 'cl-sub' },
        `${c.summary.phase}${stale ? ' (stale)' : ''} · ${c.summary.members ?? DASH} · leader ${c.summary.leader ?? 'none'}${c.summary.advice && c.summary.advice !== '0' ? ` · advice ${c.summary.advice}` : ''}`,
      ),
    );
    if (c.name === state.selected) a.setAttribute('aria-current', 'page');
    items.push(h('li', {}, a));
  }
  ul.replaceChildren(...items);
}

function renderHeader(c: ClusterState, s: ClusterStatus): void {
  $('cluster-name').textContent = c.name;
  const info = phaseInfo(s.phase);
  const badge = $('phase');
  badge.dataset.tone = info.tone;
  badge.dataset.phase = s.phase;
  badge.title = info.meaning;
  setIcon(badge, info.icon);
  badge.querySelector('.badge-text')!.textContent = s.phase;
  $('phase-why').textContent = phaseReason(s.phase, s.conditions);
  const probed = s.lastProbeTime ? Date.parse(s.lastProbeTime) : NaN;
  const parts = [
    Number.isFinite(probed)
      ? `Last probe ${clockTime(probed)} (${ago(Date.now() - c.lastUpdate)})`
      : 'Not probed yet',
    `every ${humanDuration(c.intervalMs)}`,
  ];
  if (s.versions.length) parts.push(`etcd ${s.versions.join(', ')}`);
  if (s.clusterID) parts.push(`cluster ID ${s.clusterID}`);
  $('meta-updated').textContent = parts.join(' · ');
  document.title = `${s.phase} · ${c.name} · etcd-monitor`;
}

function renderStats(s: ClusterStatus): void {
  const leader = s.members.find((m) => m.role === 'Leader');
  $('s-leader').textContent = s.leader?.name ?? 'none';
  $('s-leader-sub').textContent = s.lastLeaderChangeTime
    ? `since ${clockTime(Date.parse(s.lastLeaderChangeTime))}`
    : leader?.raftTerm !== undefined
      ? `term ${leader.raftTerm}`
      : '';
  $('s-members').textContent = `${s.healthyMembers}/${s.memberCount}`;
  $('s-members-sub').textContent = `healthy · quorum ${s.quorumSize}`;
  $('s-read').textContent = humanMs(s.latency.readP99Ms);
  $('s-read-sub').textContent = latencyFigureText('readP99Ms', s.latency);
  $('s-write').textContent = humanMs(s.latency.writeP99Ms);
  $('s-write-sub').textContent = latencyFigureText('writeP99Ms', s.latency);
  $('s-rate').textContent = humanRate(s.requestRatePerSecond);
  $('s-db').textContent = humanBytes(s.dbSizeBytes);
  const dbSub = [];
  if (s.dbSizeInUseBytes !== undefined) dbSub.push(`${humanBytes(s.dbSizeInUseBytes)} in use`);
  if (s.dbQuotaUsedPercent !== undefined) dbSub.push(`${humanPercent(s.dbQuotaUsedPercent)} of quota`);
  $('s-db-sub').textContent = dbSub.join(' · ');
  $('s-lc').textContent = String(s.leaderChanges);
  $('s-lc-sub').textContent = 'seen by this monitor';
  $('s-read-sub').title = $('s-read-sub').textContent;
  $('s-write-sub').title = $('s-write-sub').textContent;
}

function healthPill(healthy: boolean): HTMLSpanElement {
  return h(
    'span',
    { class: 'pill', 'data-tone': healthy ? 'ok' : 'bad' },
    icon(healthy ? 'i-ok' : 'i-bad'),
    healthy ? 'Healthy' : 'Unhealthy',
  );
}

function renderMembers(members: MemberStatus[]): void {
  const rows = members.map((m) => {
    const role =
      m.role === 'Leader'
        ? h('span', { class: 'pill role-leader' }, icon('i-leader'), 'Leader')
        : h('span', {}, m.role === 'Unknown' ? DASH : m.role);
    const errs = [...m.errors];
    if (m.lastError && !errs.includes(m.lastError)) errs.push(m.lastError);
    let errCell: HTMLElement;
    if (errs.length === 0) errCell = h('span', { class: 'none' }, 'None');
    else if (errs.length === 1) errCell = h('p', { class: 'errors' }, errs[0]!);
    else {
      // Several calls failed (usually for one reason): the first one, the rest on demand.
      errCell = h(
        'details',
        { class: 'errors' },
        h('summary', {}, `${errs[0]} (+${errs.length - 1} more)`),
        h('ul', {}, ...errs.slice(1).map((e) => h('li', {}, e))),
      );
    }
    const tr = h(
      'tr',
      { class: m.healthy ? '' : 'down', 'data-member': m.name },
      h('th', { scope: 'row' }, m.name || m.id, h('span', { class: 'endpoint' }, m.endpoint)),
      h('td', {}, role),
      h('td', {}, healthPill(m.healthy)),
      h('td', {}, m.version ?? DASH),
      h(
        'td',
        { class: 'num' },
        humanBytes(m.dbSizeBytes),
        h('span', { class: 'cell-sub' }, dbInUseText(m.dbSizeBytes, m.dbSizeInUseBytes)),
      ),
      h('td', { class: 'num' }, humanInt(m.raftIndex)),
      h('td', { class: 'num' }, humanMs(m.probeLatencyMs)),
      h('td', {}, errCell),
    );
    return tr;
  });
  $('members')
    .querySelector('tbody')!
    .replaceChildren(...rows);
}

function renderAlarms(s: ClusterStatus): void {
  const box = $('alarms');
  if (s.alarms.length === 0) {
    box.replaceChildren(
      h('p', {}, h('span', { class: 'pill', 'data-tone': 'ok' }, icon('i-ok'), 'No active alarms')),
    );
    return;
  }
  const nameOf = (id: string): string => s.members.find((m) => m.id === id)?.name ?? id;
  const meaning: Record<string, string> = {
    NOSPACE:
      'the database reached its quota: the cluster accepts only reads and deletes until space is freed (compact, defrag, then disarm)',
    CORRUPT: 'a member detected data inconsistency: investigate before trusting this member',
  };
  box.replaceChildren(
    h(
      'ul',
      {},
      ...s.alarms.map((a) =>
        h(
          'li',
          {},
          h(
            'span',
            { class: 'pill', 'data-tone': 'bad' },
            icon('i-bad'),
            `${a.type} on ${nameOf(a.memberID)}`,
          ),
          h('span', { class: 'muted' }, ` — ${meaning[a.type] ?? ''}`),
        ),
      ),
    ),
  );
}

/** status.advice: one entry per advice, worst first (the server's order); every text through textContent. */
function renderAdvice(advice: readonly Advice[]): void {
  const box = $('advice');
  const count = $('advice-count');
  if (advice.length === 0) {
    count.textContent = '';
    box.replaceChildren(
      h('p', {}, h('span', { class: 'pill', 'data-tone': 'ok' }, icon('i-ok'), 'No advice')),
    );
    return;
  }
  const bySeverity = new Map<string, number>();
  for (const a of advice) bySeverity.set(a.severity, (bySeverity.get(a.severity) ?? 0) + 1);
  count.textContent = [...bySeverity].map(([sev, n]) => `${n} ${sev}`).join(' · ');
  const items = advice.map((a) => {
    const sev = severityInfo(a.severity);
    const since = Date.parse(a.since);
    const doc = safeDocUrl(a.evidence.doc);
    const evidence = h('p', { class: 'advice-ev' }, evidenceText(a.evidence));
    if (doc) {
      evidence.append(
        ' · ',
        h('a', { href: doc, target: '_blank', rel: 'noopener noreferrer', class: 'advice-doc' }, 'etcd docs'),
      );
    } else if (a.evidence.doc) {
      evidence.append(` · ${a.evidence.doc}`);
    }
    const head = h(
      'div',
      { class: 'advice-head' },
      h('span', { class: 'pill sev', 'data-tone': sev.tone }, icon(sev.icon), sev.label),
      h('span', { class: 'advice-code' }, a.code),
    );
    if (a.member) head.append(h('span', { class: 'advice-member' }, `member ${a.member}`));
    if (Number.isFinite(since))
      head.append(
        h('span', { class: 'advice-since', title: dateTime(since) }, `since ${ago(Date.now() - since)}`),
      );
    const li = h(
      'li',
      { class: 'advice', 'data-tone': sev.tone, 'data-code': a.code, 'data-severity': a.severity },
      head,
      h('p', { class: 'advice-msg' }, a.message),
      evidence,
    );
    if (a.member) li.dataset.member = a.member;
    return li;
  });
  box.replaceChildren(h('ul', { class: 'advice-list' }, ...items));
}

/** status.capacity: the trends once known, and the notes saying why a figure is not there yet. */
function renderCapacity(c: CapacityStatus | undefined, s: ClusterStatus): void {
  $('cap-growth').textContent = growthText(c?.dbGrowthBytesPerHour);
  $('cap-growth-sub').textContent = c
    ? `history ${humanDuration(c.historySeconds * 1000)} (${c.historyRounds} rounds)`
    : '';
  const exhaust = c?.quotaExhaustionTime ? Date.parse(c.quotaExhaustionTime) : NaN;
  $('cap-quota').textContent = quotaFullText(c?.quotaExhaustionTime, c?.dbGrowthBytesPerHour, Date.now());
  $('cap-quota-sub').textContent = [
    Number.isFinite(exhaust) ? dateTime(exhaust) : '',
    s.dbQuotaUsedPercent !== undefined ? `${humanPercent(s.dbQuotaUsedPercent)} used` : '',
  ]
    .filter((x) => x)
    .join(' · ');
  $('cap-frag').textContent = humanPercent(c?.fragmentationPercent);
  $('cap-reclaim').textContent = humanBytes(c?.reclaimableBytes);
  $('cap-revs').textContent = humanRate(c?.writeRevisionsPerSecond);
  $('cap-revs-sub').textContent = 'one per write transaction';
  $('cap-tier').textContent = tierText(c?.sizeTier);
  $('cap-tier-sub').textContent =
    c?.requestsPerSecond !== undefined
      ? `etcd's hardware guide, at ${humanRate(c.requestsPerSecond)}`
      : "etcd's hardware guide";
  const notes = c ? capacityNotes(c.notes) : ['Waiting for the first capacity figures…'];
  $('capacity-notes').replaceChildren(...notes.map((n) => h('li', {}, n)));
}

function renderConditions(conditions: Condition[]): void {
  const good: Record<string, string> = {
    Healthy: 'True',
    QuorumAvailable: 'True',
    LeaderElected: 'True',
    Degraded: 'False',
    AlarmActive: 'False',
    ConfigValid: 'True',
  };
  const rows = conditions.map((c) => {
    const ok = good[c.type] === undefined ? true : good[c.type] === c.status;
    const tone = c.status === 'Unknown' ? 'neutral' : ok ? 'ok' : 'bad';
    const since = Date.parse(c.lastTransitionTime);
    return h(
      'tr',
      {},
      h('th', { scope: 'row' }, c.type),
      h(
        'td',
        {},
        h(
          'span',
          { class: 'pill', 'data-tone': tone },
          icon(tone === 'ok' ? 'i-ok' : tone === 'bad' ? 'i-bad' : 'i-pending'),
          c.status,
        ),
      ),
      h('td', {}, c.reason),
      h('td', {}, c.message),
      h('td', { class: 'num' }, Number.isFinite(since) ? ago(Date.now() - since) : DASH),
    );
  });
  $('conditions')
    .querySelector('tbody')!
    .replaceChildren(...rows);
}

interface ChartDef {
  id: string;
  series: (pts: HistoryPoint[]) => ChartSeries[];
  format: (v: number) => string;
  binary?: boolean;
  integer?: boolean;
  bars?: boolean;
  label: string;
  /** Text for the caption: the latest values, or the values at index i while hovering. */
  value: (pts: HistoryPoint[], i: number, s: ClusterStatus, hovering: boolean) => string;
  note?: (s: ClusterStatus) => string;
  empty?: string;
}

const CHARTS: ChartDef[] = [
  {
    id: 'c-latency',
    label: 'Read and write p99 latency',
    series: (p) => [
      { label: 'Read p99', cls: 's1', values: p.map((x) => x.readP99Ms) },
      { label: 'Write p99', cls: 's2', dashed: true, values: p.map((x) => x.writeP99Ms) },
    ],
    format: tickMs,
    value: (p, i) => `read ${humanMs(p[i]?.readP99Ms)} · write ${humanMs(p[i]?.writeP99Ms)}`,
    note: (s) => latencyNotes(s.latency.notes).join(' · '),
    empty: 'No latency measured yet',
  },
  {
    id: 'c-rate',
    label: 'Request rate',
    series: (p) => [
      { label: 'Requests per second', cls: 's3', area: true, values: p.map((x) => x.requestRatePerSecond) },
    ],
    format: tickRate,
    value: (p, i) => humanRate(p[i]?.requestRatePerSecond),
    empty: 'No request rate yet (needs two rounds of member metrics)',
  },
  {
    id: 'c-db',
    label: 'Database size',
    series: (p) => [
      { label: 'Total', cls: 's1', area: true, values: p.map((x) => x.dbSizeBytes) },
      { label: 'In use', cls: 's4', dashed: true, values: p.map((x) => x.dbSizeInUseBytes) },
    ],
    format: tickBytes,
    binary: true,
    value: (p, i) => `${humanBytes(p[i]?.dbSizeBytes)} · ${humanBytes(p[i]?.dbSizeInUseBytes)} in use`,
  },
  {
    id: 'c-leader',
    label: 'Leader changes per probe round',
    series: (p) => [{ label: 'Leader changes', cls: 's5', values: leaderChangeDeltas(p) }],
    format: (v) => String(v),
    integer: true,
    bars: true,
    value: (p, i, s, hovering) => {
      if (hovering) return `${leaderChangeDeltas(p)[i] ?? 0} change(s) · leader ${p[i]?.leader ?? 'none'}`;
      const n = leaderChangeDeltas(p).reduce((a, b) => a + b, 0);
      return `${n} in this window · ${s.leaderChanges} in total`;
    },
    empty: 'No leader change in this window',
  },
];

/** A fresh monitor's charts span at least 30 rounds (and 30 s), its few points growing from the right. */
function minSpanMs(intervalMs: number): number {
  return Math.max(30_000, 30 * intervalMs);
}

function renderCharts(c: ClusterState, s: ClusterStatus): void {
  const pts = state.points;
  const times = state.times;
  const minSpan = minSpanMs(c.intervalMs);
  const [t0, t1] = xDomain(times, minSpan);
  $('charts-window').textContent = pts.length
    ? `Last ${humanDuration(t1 - t0)} · one point per probe round (keeps ${state.capacity})`
    : 'No rounds yet';
  for (const def of CHARTS) {
    const fig = $(def.id);
    const plot = fig.querySelector<HTMLElement>('.plot')!;
    const width = Math.max(240, Math.floor(plot.clientWidth || 480));
    const hover = state.hover.get(def.id);
    const hovering = hover !== undefined && hover >= 0 && hover < pts.length;
    const idx = hovering ? hover : pts.length - 1;
    plot.innerHTML = renderChart({
      width,
      height: 170,
      times,
      series: def.series(pts),
      kind: def.bars ? 'bars' : 'line',
      format: def.format,
      binary: def.binary,
      integer: def.integer,
      minSpanMs: minSpan,
      label: `${def.label}, ${pts.length ? `last ${humanDuration(t1 - t0)}` : 'no data yet'}: ${pts.length ? def.value(pts, pts.length - 1, s, false) : DASH}`,
      timeLabel: clockTime,
      hoverIndex: hovering ? hover : undefined,
      emptyText: def.empty,
    });
    const value = fig.querySelector('.chart-value')!;
    value.textContent = pts.length
      ? `${hovering ? `${clockTime(times[idx]!)} · ` : ''}${def.value(pts, idx, s, hovering)}`
      : DASH;
    fig.querySelector('.note')!.textContent = def.note?.(s) ?? '';
  }
}

function renderStale(c: ClusterState): void {
  const stale = staleNow();
  const banner = $('stale');
  $('cluster').dataset.stale = String(stale);
  banner.hidden = !stale;
  if (stale) {
    const why = state.open ? 'no probe result' : 'connection to the monitor lost, no update';
    $('stale-text').textContent =
      `Stale: ${why} for ${humanDuration(Date.now() - c.lastUpdate)} (one is expected every ${humanDuration(c.intervalMs)}). Showing the last known state.`;
  }
}

/* ---------- chart hover ---------- */

function onPointer(e: PointerEvent): void {
  const plot = (e.currentTarget as HTMLElement) ?? null;
  const fig = plot.closest('figure');
  if (!fig || state.times.length === 0) return;
  const rect = plot.getBoundingClientRect();
  const plotW = rect.width - PAD.left - PAD.right;
  const c = selectedCluster();
  const [t0, t1] = xDomain(state.times, minSpanMs(c?.intervalMs ?? 1000));
  const t = t0 + ((e.clientX - rect.left - PAD.left) / plotW) * (t1 - t0);
  state.hover.set(fig.id, nearestIndex(state.times, t));
  scheduleRender();
}

function onLeave(e: PointerEvent): void {
  const fig = (e.currentTarget as HTMLElement).closest('figure');
  if (fig) state.hover.delete(fig.id);
  scheduleRender();
}

/* ---------- start ---------- */

function start(): void {
  $<HTMLFormElement>('signin-form').addEventListener('submit', (e) => void signIn(e));
  window.addEventListener('hashchange', () => {
    state.hover.clear();
    connect();
  });
  for (const plot of document.querySelectorAll<HTMLElement>('.plot')) {
    plot.addEventListener('pointermove', onPointer);
    plot.addEventListener('pointerleave', onLeave);
  }
  let lastWidth = 0;
  new ResizeObserver((entries) => {
    const w = entries[0]?.contentRect.width ?? 0;
    if (Math.abs(w - lastWidth) >= 1) {
      lastWidth = w;
      scheduleRender();
    }
  }).observe(document.querySelector('.charts')!);
  // Once a second: "x s ago", the stale check, and a safety net for a connection that went silently dead.
  window.setInterval(() => {
    const c = selectedCluster();
    const quiet = Date.now() - lastEventAt;
    const limit = Math.max(2 * state.heartbeatMs, 6 * (c?.intervalMs ?? 0), 45_000);
    if (es && state.open && quiet > limit) connect();
    scheduleRender();
  }, 1000);
  connect();
}

start();
