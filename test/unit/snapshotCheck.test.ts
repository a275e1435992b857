/** Pure parts of the snapshot engine: CRC-32C, the streaming trailing-hash check, the KeyValue key reader. */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { kvKey } from '../../src/maintenance/bbolt.js';
import { crc32c } from '../../src/maintenance/crc32c.js';
import { SnapshotError, TrailingHashCheck } from '../../src/maintenance/snapshot.js';

async function run(chunks: Buffer[]): Promise<{ out: Buffer; check: TrailingHashCheck }> {
  const got: Buffer[] = [];
  const check = new TrailingHashCheck();
  await pipeline(
    Readable.from(chunks),
    check,
    new Writable({
      write(c: Buffer, _e, cb) {
        got.push(c);
        cb();
      },
    }),
  );
  return { out: Buffer.concat(got), check };
}

function withHash(db: Buffer): Buffer {
  return Buffer.concat([db, createHash('sha256').update(db).digest()]);
}

/** Split a buffer into chunks of the given sizes (the rest in one last chunk). */
function split(b: Buffer, sizes: number[]): Buffer[] {
  const out: Buffer[] = [];
  let i = 0;
  for (const n of sizes) {
    out.push(b.subarray(i, i + n));
    i += n;
  }
  if (i < b.length) out.push(b.subarray(i));
  return out;
}

describe('crc32c', () => {
  it('matches the standard check value and is incremental', () => {
    expect(crc32c(Buffer.from('123456789'))).to.equal(0xe3069283);
    expect(crc32c(Buffer.alloc(0))).to.equal(0);
    const a = Buffer.from('hello, ');
    const b = Buffer.from('etcd snapshot world with more than eight bytes');
    expect(crc32c(b, crc32c(a))).to.equal(crc32c(Buffer.concat([a, b])));
  });
});

describe('TrailingHashCheck', () => {
  const db = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7) % 256));
  const file = withHash(db);

  for (const [name, sizes] of [
    ['one chunk', []],
    ['chunks smaller than the hash', [1, 2, 3, 5, 8, 13, 21, 31, 31, 1]],
    ['the hash split across chunks', [db.length - 10, 20, 5]],
    ['the hash alone in the last chunk', [db.length]],
  ] as Array<[string, number[]]>) {
    it(`passes every byte and accepts a matching hash: ${name}`, async () => {
      const { out, check } = await run(split(file, sizes));
      expect(out.equals(file)).to.equal(true);
      expect(check.bytes).to.equal(file.length);
      expect(check.digest).to.equal(createHash('sha256').update(db).digest('hex'));
    });
  }

  it('rejects a flipped byte and a stream that ends before the hash', async () => {
    const bad = Buffer.from(file);
    bad[100] = bad[100]! ^ 1;
    const e1 = await run(split(bad, [64, 64])).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(e1).to.be.instanceOf(SnapshotError).with.property('reason', 'HashMismatch');
    const e2 = await run([Buffer.alloc(10)]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(e2).to.be.instanceOf(SnapshotError).with.property('reason', 'Truncated');
  });
});

describe('kvKey', () => {
  it('reads field 1 of a KeyValue record whatever comes around it', () => {
    // key=1 "abc", create_revision=2 (varint 5), value=5 "xyz"
    expect(
      kvKey(Buffer.from([0x0a, 3, 0x61, 0x62, 0x63, 0x10, 5, 0x2a, 3, 0x78, 0x79, 0x7a]))?.toString(),
    ).to.equal('abc');
    expect(kvKey(Buffer.from([0x10, 0x96, 0x01, 0x0a, 1, 0x6b]))?.toString()).to.equal('k');
    expect(kvKey(Buffer.from([0x10, 5]))).to.equal(undefined);
    expect(() => kvKey(Buffer.from([0x0a, 9, 0x61]))).to.throw(/runs past/);
  });
});
