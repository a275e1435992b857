/**
 * Protobuf by hand for the benchmark's few etcd messages (kvWire.ts): requests are encoded from a
 * field list straight into a gRPC-framed buffer, responses are read in place (views, no copies) for
 * just the fields wanted. Far less work per request than protobufjs's generic (de)serialisation.
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

/** The first occurrence of field `n` in message `m`: bytes (a view) or a varint; how many there are with `count`. */
export function readField(m: Buffer, n: number, count = false): Buffer | number | undefined {
  let o = 0;
  let seen = 0;
  const varint = (): number => {
    let v = 0;
    let mul = 1;
    for (;;) {
      if (o >= m.length) throw new Error('truncated protobuf message');
      const c = m[o++]!;
      v += (c & 0x7f) * mul;
      mul *= 128;
      if (!(c & 0x80)) return v;
    }
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
