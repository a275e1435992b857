/**
 * A read-only reader of bbolt files (etcd's backend and its snapshots), enough to verify a snapshot
 * without etcd: both meta pages with their FNV-1a checksums, then a walk of every bucket's B+tree with
 * bounds checks on every page and element. It reports what `etcdutl snapshot status` reports — the
 * CRC-32C over bucket names, keys and values in order, the number of keys, the newest revision in the
 * `key` bucket and the size (high-water page × page size) — so the two can be compared.
 *
 * Layout (bbolt, little-endian): page header = id u64, flags u16, count u16, overflow u32 (16 bytes);
 * meta = magic, version, pageSize, flags (u32 each), root bucket (root pgid u64, sequence u64),
 * freelist pgid, high-water pgid, txid, checksum (u64 each). Branch element = pos u32, ksize u32,
 * pgid u64; leaf element = flags u32, pos u32, ksize u32, vsize u32; `pos` is relative to the element.
 * A leaf element with flag 1 is a sub-bucket whose value is a bucket header, followed by an inline page
 * when its root pgid is 0.
 */
import fs from 'node:fs';
import { crc32c } from './crc32c.js';

const MAGIC = 0xed0cdaed;
const VERSION = 2;
const PAGE_HEADER = 16;
const ELEMENT = 16;
const BUCKET_HEADER = 16;
const BRANCH = 0x01;
const LEAF = 0x02;
const META = 0x04;
const BUCKET_LEAF_FLAG = 0x01;
/** A tree deeper than this is corrupt (a real one is a handful of levels). */
const MAX_DEPTH = 64;

export class BoltError extends Error {}

export interface BoltMeta {
  pageSize: number;
  rootPgid: bigint;
  freelistPgid: bigint;
  highWaterPgid: bigint;
  txid: bigint;
}

export interface BoltSummary {
  meta: BoltMeta;
  /** Which meta page was used (the valid one with the higher txid) and why the other was not. */
  metaPage: 0 | 1;
  otherMetaError?: string;
  buckets: string[];
  totalKey: number;
  /** Distinct keys alive at the newest revision (what `etcdutl snapshot status` 3.6 calls totalKey). */
  liveKeys: number;
  /** Newest main revision in the `key` bucket (0 when empty). */
  revision: number;
  /** CRC-32C (Castagnoli) as etcdutl computes it. */
  hash: number;
  /** high-water pgid × page size, as etcdutl's totalSize. */
  totalSize: number;
}

/** Random access to the file's pages, cached one page run at a time (memory stays bounded). */
class PageReader {
  private cache = new Map<bigint, Buffer>();
  constructor(
    private readonly fd: number,
    private readonly fileSize: number,
    readonly pageSize: number,
  ) {}

  page(id: bigint): Buffer {
    const hit = this.cache.get(id);
    if (hit) return hit;
    const off = Number(id) * this.pageSize;
    if (!Number.isSafeInteger(off) || off + PAGE_HEADER > this.fileSize)
      throw new BoltError(`page ${id} lies beyond the end of the file`);
    const head = Buffer.alloc(PAGE_HEADER);
    fs.readSync(this.fd, head, 0, PAGE_HEADER, off);
    const overflow = head.readUInt32LE(12);
    const len = (overflow + 1) * this.pageSize;
    if (off + len > this.fileSize)
      throw new BoltError(`page ${id} (+${overflow} overflow pages) runs past the end of the file`);
    const buf = Buffer.alloc(len);
    fs.readSync(this.fd, buf, 0, len, off);
    if (buf.readBigUInt64LE(0) !== id)
      throw new BoltError(`page ${id} says it is page ${buf.readBigUInt64LE(0)}`);
    // Cache only single pages (branch pages are read again and again); overflow runs are big values
    // read once. Bounded: at most 512 pages.
    if (overflow === 0) {
      if (this.cache.size >= 512) this.cache.clear();
      this.cache.set(id, buf);
    }
    return buf;
  }
}

function fnv1a64(buf: Buffer): bigint {
  let h = 0xcbf29ce484222325n;
  for (const b of buf) {
    h ^= BigInt(b);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h;
}

/** Parse and check one meta page (the 64 bytes after its page header). */
export function parseMeta(page: Buffer): BoltMeta {
  if (page.length < PAGE_HEADER + 64) throw new BoltError('meta page truncated');
  const flags = page.readUInt16LE(8);
  if (!(flags & META)) throw new BoltError(`not a meta page (flags 0x${flags.toString(16)})`);
  const m = page.subarray(PAGE_HEADER, PAGE_HEADER + 64);
  if (m.readUInt32LE(0) !== MAGIC) throw new BoltError('bad magic: not a bbolt file');
  if (m.readUInt32LE(4) !== VERSION) throw new BoltError(`unsupported bbolt version ${m.readUInt32LE(4)}`);
  const sum = m.readBigUInt64LE(56);
  if (fnv1a64(m.subarray(0, 56)) !== sum) throw new BoltError('meta checksum mismatch');
  return {
    pageSize: m.readUInt32LE(8),
    rootPgid: m.readBigUInt64LE(16),
    freelistPgid: m.readBigUInt64LE(32),
    highWaterPgid: m.readBigUInt64LE(40),
    txid: m.readBigUInt64LE(48),
  };
}

interface Visitor {
  onKey(key: Buffer, value: Buffer): void;
  onBucket(name: Buffer, header: Buffer, inline: Buffer | undefined): void;
}

/** Walk the B+tree rooted at `page` in key order, calling the visitor for each leaf element. */
function walk(reader: PageReader, page: Buffer, v: Visitor, depth: number, highWater: bigint): void {
  if (depth > MAX_DEPTH) throw new BoltError('B+tree deeper than 64 levels: cyclic or corrupt');
  const flags = page.readUInt16LE(8);
  const count = page.readUInt16LE(10);
  if (PAGE_HEADER + count * ELEMENT > page.length)
    throw new BoltError(`page ${page.readBigUInt64LE(0)}: ${count} elements do not fit`);
  for (let i = 0; i < count; i++) {
    const el = PAGE_HEADER + i * ELEMENT;
    if (flags & BRANCH) {
      const pgid = page.readBigUInt64LE(el + 8);
      if (pgid < 2n || pgid >= highWater)
        throw new BoltError(`branch element points at page ${pgid}, outside 2..${highWater - 1n}`);
      walk(reader, reader.page(pgid), v, depth + 1, highWater);
    } else if (flags & LEAF) {
      const eflags = page.readUInt32LE(el);
      const pos = page.readUInt32LE(el + 4);
      const ksize = page.readUInt32LE(el + 8);
      const vsize = page.readUInt32LE(el + 12);
      const kstart = el + pos;
      if (kstart + ksize + vsize > page.length)
        throw new BoltError(`page ${page.readBigUInt64LE(0)}: element ${i} runs past its page`);
      const key = page.subarray(kstart, kstart + ksize);
      const value = page.subarray(kstart + ksize, kstart + ksize + vsize);
      if (eflags & BUCKET_LEAF_FLAG) {
        if (value.length < BUCKET_HEADER) throw new BoltError(`bucket ${key.toString()} has a short header`);
        const root = value.readBigUInt64LE(0);
        v.onBucket(
          key,
          value.subarray(0, BUCKET_HEADER),
          root === 0n ? value.subarray(BUCKET_HEADER) : undefined,
        );
      } else {
        v.onKey(key, value);
      }
    } else {
      throw new BoltError(
        `page ${page.readBigUInt64LE(0)} is neither branch nor leaf (flags 0x${flags.toString(16)})`,
      );
    }
  }
}

/** An inline bucket's page, padded so element offsets stay inside it. */
function inlinePage(buf: Buffer): Buffer {
  if (buf.length < PAGE_HEADER) throw new BoltError('inline bucket page truncated');
  return buf;
}

/** Read both meta pages and pick the valid one with the higher txid (what bbolt does on open). */
function readMeta(
  fd: number,
  fileSize: number,
): { meta: BoltMeta; metaPage: 0 | 1; otherMetaError?: string } {
  const first = Buffer.alloc(Math.min(4096, fileSize));
  fs.readSync(fd, first, 0, first.length, 0);
  let pageSize = 4096;
  let m0: BoltMeta | undefined;
  let e0: string | undefined;
  try {
    m0 = parseMeta(first);
    pageSize = m0.pageSize;
  } catch (e) {
    e0 = (e as Error).message;
  }
  if (pageSize < 512 || pageSize > 1 << 20 || (pageSize & (pageSize - 1)) !== 0)
    throw new BoltError(`implausible page size ${pageSize}`);
  let m1: BoltMeta | undefined;
  let e1: string | undefined;
  if (fileSize >= 2 * pageSize) {
    const second = Buffer.alloc(PAGE_HEADER + 64);
    fs.readSync(fd, second, 0, second.length, pageSize);
    try {
      m1 = parseMeta(second);
    } catch (e) {
      e1 = (e as Error).message;
    }
  } else {
    e1 = 'file shorter than two pages';
  }
  if (m0 && m1) return m1.txid > m0.txid ? { meta: m1, metaPage: 1 } : { meta: m0, metaPage: 0 };
  if (m0) return { meta: m0, metaPage: 0, otherMetaError: `meta page 1: ${e1}` };
  if (m1) return { meta: m1, metaPage: 1, otherMetaError: `meta page 0: ${e0}` };
  throw new BoltError(`no valid meta page (page 0: ${e0}; page 1: ${e1})`);
}

/** Check only the meta pages (cheap: two small reads), e.g. right after a snapshot was written. */
export function readBoltMeta(
  file: string,
  dataBytes?: number,
): { meta: BoltMeta; metaPage: 0 | 1; otherMetaError?: string } {
  const fd = fs.openSync(file, 'r');
  try {
    const size = dataBytes ?? fs.fstatSync(fd).size;
    const r = readMeta(fd, size);
    if (BigInt(size) < r.meta.highWaterPgid * BigInt(r.meta.pageSize)) {
      throw new BoltError(
        `file is ${size} bytes but its meta page says ${r.meta.highWaterPgid} pages of ${r.meta.pageSize}: truncated`,
      );
    }
    return r;
  } finally {
    fs.closeSync(fd);
  }
}

/** etcd's revision key: 8-byte big-endian main revision, '_', 8-byte sub revision (+ 't' for a tombstone). */
function mainRevision(key: Buffer): number {
  return key.length >= 8 ? Number(key.readBigUInt64BE(0)) : 0;
}

/** The `key` field (1) of an mvccpb.KeyValue protobuf, the value stored under each revision. */
export function kvKey(value: Buffer): Buffer | undefined {
  let i = 0;
  const varint = (): number => {
    let n = 0;
    let shift = 0;
    for (;;) {
      if (i >= value.length || shift > 49) throw new BoltError('bad protobuf varint in a key-value record');
      const b = value[i++]!;
      n += (b & 0x7f) * 2 ** shift;
      if (!(b & 0x80)) return n;
      shift += 7;
    }
  };
  while (i < value.length) {
    const tag = varint();
    const wire = tag % 8;
    if (wire === 0) varint();
    else if (wire === 2) {
      const len = varint();
      if (i + len > value.length) throw new BoltError('protobuf field runs past its key-value record');
      if (tag >>> 3 === 1) return value.subarray(i, i + len);
      i += len;
    } else if (wire === 1) i += 8;
    else if (wire === 5) i += 4;
    else throw new BoltError(`unexpected protobuf wire type ${wire} in a key-value record`);
  }
  return undefined;
}

/**
 * Read a bbolt file and summarise it. `dataBytes` limits the file to its database part (a snapshot
 * carries etcd's 32-byte hash after it). Throws BoltError when the file is not a sound bbolt database.
 */
export function readBolt(file: string, dataBytes?: number): BoltSummary {
  const fd = fs.openSync(file, 'r');
  try {
    const fileSize = dataBytes ?? fs.fstatSync(fd).size;
    if (fileSize < PAGE_HEADER + 64)
      throw new BoltError(`file too small for a bbolt database (${fileSize} bytes)`);
    const { meta, metaPage, otherMetaError } = readMeta(fd, fileSize);
    const reader = new PageReader(fd, fileSize, meta.pageSize);
    if (BigInt(fileSize) < meta.highWaterPgid * BigInt(meta.pageSize)) {
      throw new BoltError(
        `file is ${fileSize} bytes but its meta page says ${meta.highWaterPgid} pages of ${meta.pageSize}: truncated`,
      );
    }
    let crc = 0;
    let totalKey = 0;
    let revision = 0;
    // Memory: one string per live key (the revision-ordered bucket cannot be counted otherwise).
    const live = new Set<string>();
    const buckets: string[] = [];
    const walkBucket = (name: Buffer, header: Buffer, inline: Buffer | undefined): void => {
      buckets.push(name.toString('latin1'));
      crc = crc32c(name, crc);
      const isKey = name.toString('latin1') === 'key';
      const visitor: Visitor = {
        onKey(k, v) {
          crc = crc32c(v, crc32c(k, crc));
          if (isKey) {
            revision = mainRevision(k);
            const key = kvKey(v)?.toString('latin1');
            if (key !== undefined) {
              // A tombstone's revision key is 18 bytes ending in 't'.
              if (k.length === 18 && k[17] === 0x74) live.delete(key);
              else live.add(key);
            }
          }
          totalKey++;
        },
        // etcd has no nested buckets; count one as a key with no value, as bbolt's ForEach does.
        onBucket(k) {
          crc = crc32c(k, crc);
          totalKey++;
        },
      };
      const root = header.readBigUInt64LE(0);
      const page = inline ? inlinePage(inline) : reader.page(root);
      walk(reader, page, visitor, 0, meta.highWaterPgid);
    };
    const rootVisitor: Visitor = {
      onKey(k) {
        throw new BoltError(`root holds a plain key ${JSON.stringify(k.toString('latin1'))}: not a bucket`);
      },
      onBucket: walkBucket,
    };
    if (meta.rootPgid < 2n || meta.rootPgid >= meta.highWaterPgid)
      throw new BoltError(`root page ${meta.rootPgid} out of range`);
    walk(reader, reader.page(meta.rootPgid), rootVisitor, 0, meta.highWaterPgid);
    return {
      meta,
      metaPage,
      otherMetaError,
      buckets,
      totalKey,
      liveKeys: live.size,
      revision,
      hash: crc >>> 0,
      totalSize: Number(meta.highWaterPgid) * meta.pageSize,
    };
  } finally {
    fs.closeSync(fd);
  }
}
