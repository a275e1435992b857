import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveSpec, type SecretData } from '../../src/controller/config.js';
import { applyMergePatch, mergePatch } from '../../src/controller/mergePatch.js';
import { invalidStatus, pausedStatus, pendingStatus } from '../../src/controller/statusShapes.js';
import { decideWrite } from '../../src/controller/statusPolicy.js';
import { Limiter, WorkQueue } from '../../src/controller/workqueue.js';
import { Controller } from '../../src/controller/controller.js';
import { firstRoundPlan, laterRoundsDelay, spreadDelay } from '../../src/monitor/schedule.js';
import type { EtcdMonitorObject, KubeClient } from '../../src/controller/kube.js';
import type { EtcdMonitorStatus } from '../../src/crd/types.js';
import { silentLogger } from '../../src/log.js';
import { MonitorRegistry } from '../../src/monitor/registry.js';
import { DEFAULT_THRESHOLDS, emptyMemory, evaluate } from '../../src/health/evaluate.js';
import { observe } from './fixtures.js';

describe('JSON merge patch', () => {
  const cases: Array<[unknown, unknown]> = [
    [
      { a: 1, b: { c: 2, d: 3 } },
      { a: 1, b: { c: 2 } },
    ],
    [{ a: [1, 2] }, { a: [1] }],
    [{}, { x: { y: 'z' } }],
    [{ leader: { name: 'a' }, phase: 'Healthy' }, { phase: 'Unhealthy' }],
  ];
  for (const [a, b] of cases) {
    it(`turns ${JSON.stringify(a)} into ${JSON.stringify(b)}`, () => {
      const p = mergePatch(a, b);
      expect(applyMergePatch(a, p)).to.deep.equal(b);
    });
  }
  it('is empty for equal documents and nulls removed fields', () => {
    expect(mergePatch({ a: { b: 1 } }, { a: { b: 1 } })).to.equal(undefined);
    expect(mergePatch({ leader: { name: 'x' }, hasLeader: true }, { hasLeader: false })).to.deep.equal({
      leader: null,
      hasLeader: false,
    });
  });
});

describe('status write policy', () => {
  const cfg = { thresholds: DEFAULT_THRESHOLDS };
  const a = evaluate(observe([{}, {}, {}], 1000), undefined, emptyMemory(), cfg);
  it('writes the first status, skips one that only moved volatile figures, writes on a change and on the heartbeat', () => {
    expect(decideWrite(undefined, a.status, undefined, 0).reason).to.equal('first');
    const b = evaluate(
      observe([{ index: 150, latencyMs: 7 }, { index: 150 }, { index: 150 }], 2000),
      a.status,
      a.memory,
      cfg,
    );
    expect(b.status.members[0]!.raftIndex).to.not.equal(a.status.members[0]!.raftIndex);
    expect(decideWrite(a.status, b.status, 1000, 2000)).to.deep.equal({ write: false, reason: 'unchanged' });
    expect(decideWrite(a.status, b.status, 1000, 1000 + 5 * 60_000).reason).to.equal('heartbeat');
    const c = evaluate(observe([{}, {}, { up: false }], 3000), b.status, b.memory, cfg);
    expect(decideWrite(b.status, c.status, 2000, 3000).reason).to.equal('changed');
  });
  it('does not write when only a figure in a condition message moved', () => {
    const withMsg = (m: string): EtcdMonitorStatus => ({
      ...a.status,
      conditions: a.status.conditions.map((c) =>
        c.type === 'Degraded' ? { ...c, status: 'True', reason: 'ThresholdExceeded', message: m } : c,
      ),
    });
    expect(
      decideWrite(
        withMsg('p99 latency 233ms above 100ms'),
        withMsg('p99 latency 406ms above 100ms'),
        1000,
        2000,
      ).reason,
    ).to.equal('unchanged');
    expect(
      decideWrite(
        withMsg('p99 latency 233ms above 100ms'),
        withMsg('db quota 91% used above 80%'),
        1000,
        2000,
      ).reason,
    ).to.equal('changed');
  });
  it('has Pending, Paused and ConfigValid=False shapes', () => {
    expect(pendingStatus(2, 'now').phase).to.equal('Pending');
    expect(pendingStatus(2, 'now').observedGeneration).to.equal(2);
    const p = pausedStatus(a.status, 3, 'later');
    expect(p.phase).to.equal('Paused');
    expect(p.leaderChanges).to.equal(a.status.leaderChanges);
    const inv = invalidStatus({ reason: 'SecretNotFound', message: 'gone' }, a.status, 4, 'then');
    expect(inv.conditions.find((c) => c.type === 'ConfigValid')).to.include({
      status: 'False',
      reason: 'SecretNotFound',
      message: 'gone',
    });
  });
});

describe('spec resolution', () => {
  let dir: string;
  let pem: { ca: Buffer; cert: Buffer; key: Buffer; otherKey: Buffer };
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spec-'));
    const sh = (args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
    sh([
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=ca',
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
    ]);
    sh([
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=c',
      '-keyout',
      'c.key',
      '-out',
      'c.crt',
    ]);
    sh(['genrsa', '-out', 'o.key', '2048']);
    const r = (f: string): Buffer => fs.readFileSync(path.join(dir, f));
    pem = { ca: r('ca.crt'), cert: r('c.crt'), key: r('c.key'), otherKey: r('o.key') };
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const secret = (data: Record<string, Buffer>): SecretData => ({ resourceVersion: '1', data });

  it('applies defaults', () => {
    const r = resolveSpec({ endpoints: ['etcd-0:2379'] }, {});
    expect(r.ok).to.equal(true);
    if (!r.ok) return;
    expect(r.spec.intervalMs).to.equal(15000);
    expect(r.spec.timeoutMs).to.equal(5000);
    expect(r.spec.endpoints[0]!.url).to.equal('http://etcd-0:2379');
    expect(r.spec.metrics).to.equal(true);
  });
  it('uses https for bare endpoints with TLS and checks the Secret', () => {
    const ok = resolveSpec(
      { endpoints: ['etcd-0:2379'], tls: { secretName: 's' } },
      { tls: secret({ 'ca.crt': pem.ca, 'tls.crt': pem.cert, 'tls.key': pem.key }) },
    );
    expect(ok.ok && ok.spec.endpoints[0]!.url).to.equal('https://etcd-0:2379');
    const cases: Array<[Parameters<typeof resolveSpec>[1], string]> = [
      [{}, 'SecretNotFound'],
      [{ tls: 'NotFound' }, 'SecretNotFound'],
      [{ tls: secret({}) }, 'SecretKeyMissing'],
      [{ tls: secret({ 'ca.crt': Buffer.from('not a cert') }) }, 'InvalidCertificate'],
      [{ tls: secret({ 'ca.crt': pem.ca, 'tls.crt': pem.cert }) }, 'SecretKeyMissing'],
      [
        { tls: secret({ 'ca.crt': pem.ca, 'tls.crt': pem.cert, 'tls.key': pem.otherKey }) },
        'InvalidCertificate',
      ],
    ];
    for (const [secrets, reason] of cases) {
      const r = resolveSpec({ endpoints: ['etcd-0:2379'], tls: { secretName: 's' } }, secrets);
      expect(r.ok, reason).to.equal(false);
      if (!r.ok) expect(r.problem.reason).to.equal(reason);
    }
  });
  it('reads auth from its Secret and refuses a missing key', () => {
    const r = resolveSpec(
      { endpoints: ['a:1'], auth: { secretName: 'a' } },
      { auth: secret({ username: Buffer.from('root\n'), password: Buffer.from('pw') }) },
    );
    expect(r.ok && r.spec.conn.auth).to.deep.equal({ username: 'root', password: 'pw' });
    const bad = resolveSpec(
      { endpoints: ['a:1'], auth: { secretName: 'a' } },
      { auth: secret({ username: Buffer.from('root') }) },
    );
    expect(!bad.ok && bad.problem.reason).to.equal('SecretKeyMissing');
  });
  it('rejects what the API server would (defence in depth)', () => {
    for (const spec of [
      { endpoints: [] },
      { endpoints: ['a:1', 'a:1'] },
      { endpoints: ['a:1'], interval: '5s', timeout: '5s' },
      { endpoints: ['a:1'], interval: 'soon' },
    ]) {
      expect(resolveSpec(spec, {}).ok, JSON.stringify(spec)).to.equal(false);
    }
  });
  it('changes the connection key when the Secret rotates', () => {
    const s1 = resolveSpec(
      { endpoints: ['a:1'], auth: { secretName: 'a' } },
      { auth: { resourceVersion: '1', data: { username: Buffer.from('u'), password: Buffer.from('p') } } },
    );
    const s2 = resolveSpec(
      { endpoints: ['a:1'], auth: { secretName: 'a' } },
      { auth: { resourceVersion: '2', data: { username: Buffer.from('u'), password: Buffer.from('q') } } },
    );
    expect(s1.ok && s2.ok && s1.spec.connectionKey !== s2.spec.connectionKey).to.equal(true);
  });
});

describe('work queue', () => {
  it('never runs one key twice at once, coalesces, and bounds concurrency', async () => {
    const running = new Set<string>();
    let maxParallel = 0;
    const runs: string[] = [];
    const q = new WorkQueue(2, async (k) => {
      expect(running.has(k)).to.equal(false);
      running.add(k);
      maxParallel = Math.max(maxParallel, running.size);
      runs.push(k);
      await new Promise((r) => setTimeout(r, 10));
      running.delete(k);
    });
    for (const k of ['a', 'b', 'c', 'a', 'a']) q.add(k);
    await new Promise((r) => setTimeout(r, 2));
    q.add('a'); // while a runs: once more afterwards
    await q.idle();
    expect(maxParallel).to.equal(2);
    expect(runs.filter((r) => r === 'a')).to.have.length(2);
    expect(runs.filter((r) => r === 'b')).to.have.length(1);
  });
  it('spreads first rounds over the interval deterministically', () => {
    const d = ['ns/a', 'ns/b', 'ns/c', 'other/a'].map((k) => spreadDelay(k, 15000));
    expect(new Set(d).size).to.equal(4);
    for (const x of d) expect(x).to.be.within(0, 14999);
    expect(spreadDelay('ns/a', 15000)).to.equal(d[0]);
  });
  it('a limiter runs at most N tasks at once, in order', async () => {
    const l = new Limiter(2);
    let now = 0;
    let peak = 0;
    const order: number[] = [];
    await Promise.all(
      [0, 1, 2, 3, 4].map((i) =>
        l.run(async () => {
          now++;
          peak = Math.max(peak, now);
          order.push(i);
          await new Promise((r) => setTimeout(r, 5));
          now--;
        }),
      ),
    );
    expect(peak).to.equal(2);
    expect(order).to.deep.equal([0, 1, 2, 3, 4]);
    expect(l.running).to.equal(0);
  });
  it('after a prompt first round, later rounds start at the spread phase, half an interval to 1.5 intervals later', () => {
    for (const k of ['ns/a', 'ns/b', 'ns/c', 'other/a', 'x/y']) {
      const d = laterRoundsDelay(k, 10_000);
      expect(d).to.be.within(5000, 14_999);
      expect(d % 10_000).to.equal(spreadDelay(k, 10_000));
    }
    expect(firstRoundPlan('ns/a', 10_000, false)).to.deep.equal({
      prompt: false,
      periodicDelayMs: spreadDelay('ns/a', 10_000),
    });
    expect(firstRoundPlan('ns/a', 10_000, true)).to.deep.equal({
      prompt: true,
      periodicDelayMs: laterRoundsDelay('ns/a', 10_000),
    });
  });
});

describe('controller first rounds', () => {
  const INTERVAL = 60_000; // long: any round seen within the test is a prompt one, not a spread one
  function monitorObj(name: string, status?: EtcdMonitorStatus): EtcdMonitorObject {
    return {
      apiVersion: 'etcdmonitor.dev/v1alpha1',
      kind: 'EtcdMonitor',
      metadata: { name, namespace: 'ns', uid: name, generation: 1, resourceVersion: '1' },
      spec: { endpoints: ['http://127.0.0.1:2379'], interval: '60s', timeout: '1s' },
      status,
    };
  }
  type Patch = { name: string; phase?: string; observedGeneration?: number };
  function fakeKube(items: EtcdMonitorObject[], patches: Patch[]): KubeClient {
    return {
      listMonitors: async () => ({ items, resourceVersion: '1' }),
      watchMonitors: async () => ({ stop: () => undefined }),
      patchStatus: async (_ns, name, patch) => {
        const st = (patch as { status: { phase?: string; observedGeneration?: number } }).status;
        patches.push({ name, phase: st.phase, observedGeneration: st.observedGeneration });
      },
      createEvent: async () => undefined,
      readSecret: async () => 'NotFound',
      getLease: async () => undefined,
      writeLease: async () => true,
    };
  }

  it('probes new resources at once (bounded), and leaves ones with a current verdict to their spread phase', async () => {
    const healthy = evaluate(observe([{}, {}, {}]), undefined, emptyMemory(), {
      thresholds: DEFAULT_THRESHOLDS,
    }).status;
    const items = [
      ...['n1', 'n2', 'n3', 'n4', 'n5'].map((n) => monitorObj(n)),
      monitorObj('restored', { ...healthy, observedGeneration: 1 }),
      monitorObj('changed', { ...healthy, observedGeneration: 0 }),
    ];
    // Pick a name whose spread phase is late in the interval, so "not probed yet" is unambiguous.
    expect(spreadDelay('ns/restored', INTERVAL)).to.be.greaterThan(1000);
    let inFlight = 0;
    let peak = 0;
    const patches: Patch[] = [];
    const registry = new MonitorRegistry();
    const c = new Controller(fakeKube(items, patches), registry, silentLogger(), undefined, {
      concurrency: 2,
      proberFactory: () => ({
        probe: async (now) => {
          inFlight++;
          peak = Math.max(peak, inFlight);
          await new Promise((r) => setTimeout(r, 20));
          inFlight--;
          return observe([{}, {}, {}], now);
        },
        close: () => undefined,
      }),
    });
    c.start();
    try {
      await waitUntil(() => new Set(patches.map((p) => p.name)).size >= 6, 3000);
      await c.idle();
      const written = new Set(patches.filter((p) => p.observedGeneration === 1).map((p) => p.name));
      expect([...written].sort()).to.deep.equal(['changed', 'n1', 'n2', 'n3', 'n4', 'n5']);
      expect(patches.filter((p) => p.name.startsWith('n')).map((p) => p.phase)).to.deep.equal(
        Array(5).fill('Healthy'),
      );
      expect(peak).to.be.at.most(2);
      expect(registry.get('ns/restored')!.rounds).to.equal(0);
      expect(patches.filter((p) => p.name === 'restored')).to.deep.equal([]);
      // A verdict within the grace period: no Pending write before it.
      expect(patches.filter((p) => p.phase === 'Pending')).to.deep.equal([]);
    } finally {
      await c.stop();
    }
  });

  it('writes Pending when the first verdict takes longer than the grace period', async () => {
    const patches: Patch[] = [];
    const c = new Controller(
      fakeKube([monitorObj('slow')], patches),
      new MonitorRegistry(),
      silentLogger(),
      undefined,
      {
        pendingGraceMs: 30,
        proberFactory: () => ({
          probe: async (now) => {
            await new Promise((r) => setTimeout(r, 200));
            return observe([{}, {}, {}], now);
          },
          close: () => undefined,
        }),
      },
    );
    c.start();
    try {
      await waitUntil(() => patches.some((p) => p.phase === 'Healthy'), 3000);
      expect(patches.map((p) => p.phase)).to.deep.equal(['Pending', 'Healthy']);
    } finally {
      await c.stop();
    }
  });
});

async function waitUntil(f: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}
