import { expect } from 'chai';
import { operatorConfig } from '../../src/cli/operatorCommand.js';
import {
  continuedFirstRoundDelay,
  fieldManager,
  fnv1a32,
  owns,
  shardFromPodName,
  shardLeaseName,
  shardOf,
} from '../../src/controller/shard.js';

const uid = (i: number): string =>
  `${i.toString(16).padStart(8, '0')}-1c2d-4e5f-8a9b-${(i * 7919).toString(16).padStart(12, '0')}`;

describe('sharding (pure)', () => {
  it('FNV-1a matches the reference vectors', () => {
    expect(fnv1a32('')).to.equal(0x811c9dc5);
    expect(fnv1a32('a')).to.equal(0xe40c292c);
    expect(fnv1a32('foobar')).to.equal(0xbf9cf968);
  });

  it('every UID has exactly one owner, the same on every call', () => {
    for (let i = 0; i < 200; i++) {
      const u = uid(i);
      const owners = [0, 1, 2].filter((index) => owns({ index, total: 3 }, u));
      expect(owners).to.have.length(1);
      expect(owners[0]).to.equal(shardOf(u, 3));
      expect(shardOf(u, 3)).to.equal(shardOf(u, 3));
    }
    expect(owns(undefined, uid(1))).to.equal(true);
    expect(shardOf(uid(1), 1)).to.equal(0);
  });

  it('spreads UIDs roughly evenly', () => {
    for (const total of [2, 3, 7, 16]) {
      const counts = new Array<number>(total).fill(0);
      for (let i = 0; i < 10_000; i++) counts[shardOf(uid(i), total)]!++;
      const even = 10_000 / total;
      for (const c of counts)
        expect(c, `${total}: ${counts.join(',')}`).to.be.within(even * 0.85, even * 1.15);
    }
  });

  it('refuses a bad shard count', () => {
    expect(() => shardOf('x', 0)).to.throw(RangeError);
    expect(() => shardOf('x', 1.5)).to.throw(RangeError);
  });

  it('reads the shard from a StatefulSet ordinal', () => {
    expect(shardFromPodName('etcd-monitor-0', 3)).to.equal(0);
    expect(shardFromPodName('etcd-monitor-4', 3)).to.equal(1);
    expect(shardFromPodName('my-op-12', 4)).to.equal(0);
    expect(() => shardFromPodName('etcd-monitor-7d9f8-abcde', 3)).to.throw(/ordinal/);
  });

  it('names the Lease and field manager after the shard', () => {
    expect(shardLeaseName('etcd-monitor-operator', { index: 1, total: 3 })).to.equal(
      'etcd-monitor-operator-shard-1-of-3',
    );
    expect(shardLeaseName('etcd-monitor-operator', undefined)).to.equal('etcd-monitor-operator');
    expect(fieldManager({ index: 0, total: 2 })).to.equal('etcd-monitor-shard-0-of-2');
    expect(fieldManager(undefined)).to.equal('etcd-monitor');
  });

  it("continues the previous owner's schedule", () => {
    const now = Date.parse('2026-01-01T00:00:10Z');
    expect(continuedFirstRoundDelay('2026-01-01T00:00:08Z', 5000, now)).to.equal(3000);
    expect(continuedFirstRoundDelay('2026-01-01T00:00:04Z', 5000, now)).to.equal(0); // overdue by 1s
    expect(continuedFirstRoundDelay('2026-01-01T00:00:00Z', 5000, now)).to.equal(undefined); // long overdue
    expect(continuedFirstRoundDelay('2026-01-01T00:00:11Z', 5000, now)).to.equal(undefined); // future
    expect(continuedFirstRoundDelay(undefined, 5000, now)).to.equal(undefined);
    expect(continuedFirstRoundDelay('garbage', 5000, now)).to.equal(undefined);
  });
});

describe('operator shard flags', () => {
  it('--shard/--total-shards and --shard-from-pod-name', () => {
    expect(operatorConfig({ shard: '2', 'total-shards': '3' }, {}).shard).to.deep.equal({
      index: 2,
      total: 3,
    });
    expect(operatorConfig({}, {}).shard).to.equal(undefined);
    expect(operatorConfig({ 'total-shards': '1' }, {}).shard).to.equal(undefined);
    expect(
      operatorConfig({ 'shard-from-pod-name': true, 'total-shards': '3' }, { POD_NAME: 'etcd-monitor-5' })
        .shard,
    ).to.deep.equal({ index: 2, total: 3 });
  });

  it('refuses inconsistent shard flags', () => {
    expect(() => operatorConfig({ shard: '3', 'total-shards': '3' }, {})).to.throw(/--shard/);
    expect(() => operatorConfig({ shard: '1' }, {})).to.throw(/--total-shards/);
    expect(() => operatorConfig({ 'total-shards': '3' }, {})).to.throw(/--shard/);
    expect(() => operatorConfig({ 'total-shards': '2.5', shard: '0' }, {})).to.throw(/integer/);
    expect(() => operatorConfig({ 'shard-from-pod-name': true, 'total-shards': '3' }, {})).to.throw(
      /POD_NAME/,
    );
    expect(() =>
      operatorConfig({ 'shard-from-pod-name': true, 'total-shards': '3' }, { POD_NAME: 'op-abc' }),
    ).to.throw(/ordinal/);
  });
});
