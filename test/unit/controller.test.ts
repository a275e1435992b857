import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveSpec, type SecretData } from '../../src/controller/config.js';
import { applyMergePatch, mergePatch } from '../../src/controller/mergePatch.js';
import { invalidStatus, pausedStatus, pendingStatus } from '../../src/controller/reconcile.js';
import { decideWrite } from '../../src/controller/statusPolicy.js';
import { WorkQueue } from '../../src/controller/workqueue.js';
import { spreadDelay } from '../../src/controller/controller.js';
import { DEFAULT_THRESHOLDS, emptyMemory, evaluate } from '../../src/health/evaluate.js';
import { observe } from './fixtures.js';

describe('JSON merge patch', () => {
  const cases: Array<[unknown, unknown]> = [
    [{ a: 1, b: { c: 2, d: 3 } }, { a: 1, b: { c: 2 } }],
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
    expect(mergePatch({ leader: { name: 'x' }, hasLeader: true }, { hasLeader: false })).to.deep.equal({ leader: null, hasLeader: false });
  });
});

describe('status write policy', () => {
  const cfg = { thresholds: DEFAULT_THRESHOLDS };
  const a = evaluate(observe([{}, {}, {}], 1000), undefined, emptyMemory(), cfg);
  it('writes the first status, skips one that only moved volatile figures, writes on a change and on the heartbeat', () => {
    expect(decideWrite(undefined, a.status, undefined, 0).reason).to.equal('first');
    const b = evaluate(observe([{ index: 150, latencyMs: 7 }, { index: 150 }, { index: 150 }], 2000), a.status, a.memory, cfg);
    expect(b.status.members[0]!.raftIndex).to.not.equal(a.status.members[0]!.raftIndex);
    expect(decideWrite(a.status, b.status, 1000, 2000)).to.deep.equal({ write: false, reason: 'unchanged' });
    expect(decideWrite(a.status, b.status, 1000, 1000 + 5 * 60_000).reason).to.equal('heartbeat');
    const c = evaluate(observe([{}, {}, { up: false }], 3000), b.status, b.memory, cfg);
    expect(decideWrite(b.status, c.status, 2000, 3000).reason).to.equal('changed');
  });
  it('has Pending, Paused and ConfigValid=False shapes', () => {
    expect(pendingStatus(2, 'now').phase).to.equal('Pending');
    expect(pendingStatus(2, 'now').observedGeneration).to.equal(2);
    const p = pausedStatus(a.status, 3, 'later');
    expect(p.phase).to.equal('Paused');
    expect(p.leaderChanges).to.equal(a.status.leaderChanges);
    const inv = invalidStatus({ reason: 'SecretNotFound', message: 'gone' }, a.status, 4, 'then');
    expect(inv.conditions.find((c) => c.type === 'ConfigValid')).to.include({ status: 'False', reason: 'SecretNotFound', message: 'gone' });
  });
});

describe('spec resolution', () => {
  let dir: string;
  let pem: { ca: Buffer; cert: Buffer; key: Buffer; otherKey: Buffer };
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spec-'));
    const sh = (args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
    sh(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=ca', '-keyout', 'ca.key', '-out', 'ca.crt']);
    sh(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=c', '-keyout', 'c.key', '-out', 'c.crt']);
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
    const ok = resolveSpec({ endpoints: ['etcd-0:2379'], tls: { secretName: 's' } }, { tls: secret({ 'ca.crt': pem.ca, 'tls.crt': pem.cert, 'tls.key': pem.key }) });
    expect(ok.ok && ok.spec.endpoints[0]!.url).to.equal('https://etcd-0:2379');
    const cases: Array<[Parameters<typeof resolveSpec>[1], string]> = [
      [{}, 'SecretNotFound'],
      [{ tls: 'NotFound' }, 'SecretNotFound'],
      [{ tls: secret({}) }, 'SecretKeyMissing'],
      [{ tls: secret({ 'ca.crt': Buffer.from('not a cert') }) }, 'InvalidCertificate'],
      [{ tls: secret({ 'ca.crt': pem.ca, 'tls.crt': pem.cert }) }, 'SecretKeyMissing'],
      [{ tls: secret({ 'ca.crt': pem.ca, 'tls.crt': pem.cert, 'tls.key': pem.otherKey }) }, 'InvalidCertificate'],
    ];
    for (const [secrets, reason] of cases) {
      const r = resolveSpec({ endpoints: ['etcd-0:2379'], tls: { secretName: 's' } }, secrets);
      expect(r.ok, reason).to.equal(false);
      if (!r.ok) expect(r.problem.reason).to.equal(reason);
    }
  });
  it('reads auth from its Secret and refuses a missing key', () => {
    const r = resolveSpec({ endpoints: ['a:1'], auth: { secretName: 'a' } }, { auth: secret({ username: Buffer.from('root\n'), password: Buffer.from('pw') }) });
    expect(r.ok && r.spec.conn.auth).to.deep.equal({ username: 'root', password: 'pw' });
    const bad = resolveSpec({ endpoints: ['a:1'], auth: { secretName: 'a' } }, { auth: secret({ username: Buffer.from('root') }) });
    expect(!bad.ok && bad.problem.reason).to.equal('SecretKeyMissing');
  });
  it('rejects what the API server would (defence in depth)', () => {
    for (const spec of [{ endpoints: [] }, { endpoints: ['a:1', 'a:1'] }, { endpoints: ['a:1'], interval: '5s', timeout: '5s' }, { endpoints: ['a:1'], interval: 'soon' }]) {
      expect(resolveSpec(spec, {}).ok, JSON.stringify(spec)).to.equal(false);
    }
  });
  it('changes the connection key when the Secret rotates', () => {
    const s1 = resolveSpec({ endpoints: ['a:1'], auth: { secretName: 'a' } }, { auth: { resourceVersion: '1', data: { username: Buffer.from('u'), password: Buffer.from('p') } } });
    const s2 = resolveSpec({ endpoints: ['a:1'], auth: { secretName: 'a' } }, { auth: { resourceVersion: '2', data: { username: Buffer.from('u'), password: Buffer.from('q') } } });
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
});
