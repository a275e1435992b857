/**
 * Protobuf by hand for the few etcd messages the probe (wireClient.ts) and the load benchmark
 * (benchmark/kvWire.ts) exchange: requests are encoded from a field list straight into a gRPC-framed
 * buffer, responses are read in place (views, no copies) for just the fields wanted. Far less work per
 * call than protobufjs's generic (de)serialisation.
 */

type Field = Buffer | number | boolean | undefined;

function varintSize(v: number): number {
  let n = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

function writeVarint(b: Buffer, o: number, v: number): number {
  while (v >= 128) {
    b[o++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  b[o++] = v;
  return o;
}

/** A protobuf message whose field i + 1 is fields[i] (bytes, uint64 or bool; empty/0/false omitted), gRPC-framed. */
export function encodeMessage(fields: readonly Field[]): Buffer {
  let size = 0;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i];
    if (f === undefined || f === false || f === 0) continue;
    if (typeof f === 'object') {
      if (f.length) size += 1 + varintSize(f.length) + f.length;
    } else size += 1 + varintSize(f === true ? 1 : f);
  }
  const b = Buffer.allocUnsafe(5 + size);
  b[0] = 0;
  b.writeUInt32BE(size, 1);
  let o = 5;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i];
    if (f === undefined || f === false || f === 0) continue;
    if (typeof f === 'object') {
      if (!f.length) continue;
      b[o++] = ((i + 1) << 3) | 2;
      o = writeVarint(b, o, f.length);
      o += f.copy(b, o);
    } else {
      b[o++] = (i + 1) << 3;
      o = writeVarint(b, o, f === true ? 1 : f);
    }
  }
  return b;
}

/** The varint at `o` of `b` (exact up to 2^53) and the offset after it. */
export function readVarint(b: Buffer, o: number): [value: number, next: number] {
  let v = 0;
  let mul = 1;
  for (;;) {
    if (o >= b.length) throw new Error('truncated protobuf message');
    const c = b[o++]!;
    v += (c & 0x7f) * mul;
    mul *= 128;
    if (!(c & 0x80)) return [v, o];
  }
}

/** The first occurrence of field `n` in message `m`: bytes (a view) or a varint; how many there are with `count`. */
export function readField(m: Buffer, n: number, count = false): Buffer | number | undefined {
  let o = 0;
  let seen = 0;
  const varint = (): number => {
    const [v, next] = readVarint(m, o);
    o = next;
    return v;
  };
  while (o < m.length) {
    const tag = varint();
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    let value: Buffer | number;
    if (wire === 0) value = varint();
    else if (wire === 2) {
      const len = varint();
      value = m.subarray(o, o + len);
      o += len;
    } else if (wire === 1 || wire === 5) {
      o += wire === 1 ? 8 : 4;
      continue;
    } else throw new Error(`unexpected protobuf wire type ${wire}`);
    if (field !== n) continue;
    if (!count) return value;
    seen++;
  }
  return count ? seen : undefined;
}

/**
 * Walks a protobuf message field by field, in place: `next()` reads a tag and marks its value; the
 * accessors decode the marked value. uint64 IDs (which do not fit a double) are read exactly by `hex()`.
 */
export class ProtoReader {
  field = 0;
  wire = 0;
  private pos: number;
  private vStart = 0;
  private vEnd = 0;

  constructor(
    private readonly m: Buffer,
    start = 0,
    private readonly end = m.length,
  ) {
    this.pos = start;
  }

  /** The next field (false at the end of the message). */
  next(): boolean {
    if (this.pos >= this.end) return false;
    const tag = this.varintAt();
    this.field = Math.floor(tag / 8);
    this.wire = tag % 8;
    if (this.wire === 0) {
      this.vStart = this.pos;
      while (this.byte() & 0x80);
      this.vEnd = this.pos;
    } else if (this.wire === 2) {
      const len = this.varintAt();
      this.vStart = this.pos;
      this.vEnd = this.pos += len;
      if (this.pos > this.end) throw new Error('truncated protobuf message');
    } else if (this.wire === 1 || this.wire === 5) {
      this.vStart = this.pos;
      this.vEnd = this.pos += this.wire === 1 ? 8 : 4;
      if (this.pos > this.end) throw new Error('truncated protobuf message');
    } else throw new Error(`unexpected protobuf wire type ${this.wire}`);
    return true;
  }

  /** A varint as a number (exact up to 2^53: sizes, revisions, indexes). */
  uint(): number {
    let v = 0;
    let mul = 1;
    for (let o = this.vStart; o < this.vEnd; o++) {
      v += (this.m[o]! & 0x7f) * mul;
      mul *= 128;
    }
    return v;
  }

  /** A uint64 varint in etcd's hex form (member and cluster IDs, as etcdctl prints them). */
  hex(): string {
    let v = 0n;
    let shift = 0n;
    for (let o = this.vStart; o < this.vEnd; o++) {
      v |= BigInt(this.m[o]! & 0x7f) << shift;
      shift += 7n;
    }
    return v.toString(16);
  }

  bool(): boolean {
    return this.uint() !== 0;
  }

  /** A fixed64 value as a double (wire type 1). */
  double(): number {
    return this.wire === 1 ? this.m.readDoubleLE(this.vStart) : this.uint();
  }

  /** Where the marked value ends: the next field starts here (for length-delimited streams). */
  get valueEnd(): number {
    return this.vEnd;
  }

  /** A length-delimited value: a view of the message's bytes. */
  bytes(): Buffer {
    return this.m.subarray(this.vStart, this.vEnd);
  }

  string(): string {
    return this.m.toString('utf8', this.vStart, this.vEnd);
  }

  /** A length-delimited value as latin1 text (ASCII names: cheaper than UTF-8). */
  latin1(): string {
    return this.m.toString('latin1', this.vStart, this.vEnd);
  }

  /** Whether the marked value's bytes contain `needle`. */
  contains(needle: Buffer): boolean {
    const i = this.m.indexOf(needle, this.vStart);
    return i >= 0 && i + needle.length <= this.vEnd;
  }

  /** A reader over an embedded message. */
  message(): ProtoReader {
    return new ProtoReader(this.m, this.vStart, this.vEnd);
  }

  private byte(): number {
    if (this.pos >= this.end) throw new Error('truncated protobuf message');
    return this.m[this.pos++]!;
  }

  private varintAt(): number {
    let v = 0;
    let mul = 1;
    for (;;) {
      const c = this.byte();
      v += (c & 0x7f) * mul;
      mul *= 128;
      if (!(c & 0x80)) return v;
    }
  }
}
