/**
 * HPACK (RFC 7541) for the benchmark's HTTP/2 transport (wire.ts): a complete decoder (static and
 * dynamic table, Huffman strings) for what the member sends, and a literal-only encoder for the few
 * request headers (no dynamic table, no Huffman: the encoder is stateless, the decoder is not).
 */

/** Code length in bits of each of the 256 octets in HPACK's canonical Huffman code (RFC 7541 B), as chr(48 + length). */
const HUFFMAN_LENGTHS =
  '=GLLLLLLLHNLLNLLLLLLLLNLLLLLLLLL6::<=68;::8;8666555666666678?6<:=67777777777777777777777878=C=>6?56565666577666567655677777?;>=' +
  'LDFDDFFFGFGGGGGHGHHFGHGGGGEFGFGGHFEDFFGGEGFFHEFGGEEFEGFGGDFFFGFFGJJDCFGFIJJJKKJHICEJKKJKHEEJJLKKKDHDEFEEGFFIIHHJGJKJJKKKKKLKKKKKJ';

const MAX_CODE = 30;
/** Canonical decoding tables: for a code length L, its codes are FIRST[L] … FIRST[L] + COUNT[L] - 1, in SYMBOLS from OFFSET[L]. */
const COUNT = new Int32Array(MAX_CODE + 2);
const FIRST = new Int32Array(MAX_CODE + 2);
const OFFSET = new Int32Array(MAX_CODE + 2);
const SYMBOLS: number[] = [];
{
  const lens = Array.from(HUFFMAN_LENGTHS, (c) => c.charCodeAt(0) - 48);
  for (const l of lens) COUNT[l]!++;
  for (let l = 1; l <= MAX_CODE; l++) for (let s = 0; s < 256; s++) if (lens[s] === l) SYMBOLS.push(s);
  let code = 0;
  let offset = 0;
  for (let l = 1; l <= MAX_CODE; l++) {
    code = (code + COUNT[l - 1]!) << 1;
    FIRST[l] = code;
    OFFSET[l] = offset;
    offset += COUNT[l]!;
  }
}

export function huffmanDecode(b: Buffer, start: number, end: number): string {
  let out = '';
  let code = 0;
  let len = 0;
  for (let i = start; i < end; i++) {
    const byte = b[i]!;
    for (let bit = 7; bit >= 0; bit--) {
      code = (code << 1) | ((byte >> bit) & 1);
      len++;
      const k = code - FIRST[len]!;
      if (k >= 0 && k < COUNT[len]!) {
        out += String.fromCharCode(SYMBOLS[OFFSET[len]! + k]!);
        code = 0;
        len = 0;
      } else if (len >= MAX_CODE) throw new Error('invalid Huffman code in HPACK string');
    }
  }
  // What is left must be padding: at most 7 bits, all ones (a prefix of EOS).
  if (len > 7 || code !== (1 << len) - 1) throw new Error('invalid Huffman padding in HPACK string');
  return out;
}

const STATIC_VALUES: ReadonlyArray<readonly [string, string]> = [
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
];
const STATIC_NAMES =
  'accept-language accept-ranges accept access-control-allow-origin age allow authorization cache-control ' +
  'content-disposition content-encoding content-language content-length content-location content-range ' +
  'content-type cookie date etag expect expires from host if-match if-modified-since if-none-match if-range ' +
  'if-unmodified-since last-modified link location max-forwards proxy-authenticate proxy-authorization range ' +
  'referer refresh retry-after server set-cookie strict-transport-security transfer-encoding user-agent vary via ' +
  'www-authenticate';
const STATIC: ReadonlyArray<readonly [string, string]> = [
  ...STATIC_VALUES,
  ...STATIC_NAMES.split(' ').map((n) => [n, ''] as const),
];

/** A header list as decoded: name/value pairs in order. */
export type HeaderList = Array<[string, string]>;

/** The decoder of one HTTP/2 connection's header blocks (they share its dynamic table, so decode every block in order). */
export class HpackDecoder {
  /** Newest last. */
  private readonly dynamic: Array<[string, string]> = [];
  private size = 0;
  private pos = 0;

  /** @param maxSize SETTINGS_HEADER_TABLE_SIZE we announced (the default, 4096). */
  constructor(private maxSize = 4096) {}

  decode(b: Buffer): HeaderList {
    const out: HeaderList = [];
    this.pos = 0;
    while (this.pos < b.length) {
      const first = b[this.pos]!;
      if (first & 0x80) {
        out.push(this.entry(this.int(b, 7)));
      } else if (first & 0x40) {
        const h = this.literal(b, 6);
        this.add(h);
        out.push(h);
      } else if (first & 0x20) {
        this.maxSize = this.int(b, 5);
        this.evict(0);
      } else {
        out.push(this.literal(b, 4));
      }
    }
    return out;
  }

  private literal(b: Buffer, prefix: number): [string, string] {
    const index = this.int(b, prefix);
    const name = index === 0 ? this.str(b) : this.entry(index)[0];
    return [name, this.str(b)];
  }

  private entry(index: number): [string, string] {
    if (index >= 1 && index <= STATIC.length) {
      const [n, v] = STATIC[index - 1]!;
      return [n, v];
    }
    const e = this.dynamic[this.dynamic.length - 1 - (index - STATIC.length - 1)];
    if (!e || index === 0) throw new Error(`HPACK index ${index} out of range`);
    return [e[0], e[1]];
  }

  private add(h: [string, string]): void {
    const s = h[0].length + h[1].length + 32;
    this.evict(s);
    if (s <= this.maxSize) {
      this.dynamic.push(h);
      this.size += s;
    }
  }

  private evict(room: number): void {
    while (this.dynamic.length > 0 && this.size + room > this.maxSize) {
      const [n, v] = this.dynamic.shift()!;
      this.size -= n.length + v.length + 32;
    }
  }

  private int(b: Buffer, prefix: number): number {
    const mask = (1 << prefix) - 1;
    let v = b[this.pos++]! & mask;
    if (v < mask) return v;
    let m = 1;
    for (;;) {
      if (this.pos >= b.length) throw new Error('truncated HPACK integer');
      const c = b[this.pos++]!;
      v += (c & 0x7f) * m;
      m *= 128;
      if (!(c & 0x80)) return v;
      if (m > 2 ** 35) throw new Error('HPACK integer too large');
    }
  }

  private str(b: Buffer): string {
    if (this.pos >= b.length) throw new Error('truncated HPACK string');
    const huffman = (b[this.pos]! & 0x80) !== 0;
    const len = this.int(b, 7);
    const start = this.pos;
    this.pos += len;
    if (this.pos > b.length) throw new Error('truncated HPACK string');
    return huffman ? huffmanDecode(b, start, this.pos) : b.toString('latin1', start, this.pos);
  }
}

function encodeInt(out: number[], v: number, prefix: number, flags: number): void {
  const mask = (1 << prefix) - 1;
  if (v < mask) {
    out.push(flags | v);
    return;
  }
  out.push(flags | mask);
  v -= mask;
  while (v >= 128) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
}

const STATIC_NAME_INDEX = new Map<string, number>();
STATIC.forEach(([n], i) => {
  if (!STATIC_NAME_INDEX.has(n)) STATIC_NAME_INDEX.set(n, i + 1);
});

/**
 * A header block of "literal header field without indexing" entries (static name index where there is one,
 * plain strings), plus fully indexed static pairs such as `:method: POST`.
 */
export function encodeHeaders(headers: ReadonlyArray<readonly [string, string]>): Buffer {
  const out: number[] = [];
  for (const [name, value] of headers) {
    const full = STATIC.findIndex(([n, v]) => n === name && v === value && v !== '');
    if (full >= 0) {
      encodeInt(out, full + 1, 7, 0x80);
      continue;
    }
    const ni = STATIC_NAME_INDEX.get(name);
    encodeInt(out, ni ?? 0, 4, 0);
    if (ni === undefined) {
      encodeInt(out, name.length, 7, 0);
      for (let i = 0; i < name.length; i++) out.push(name.charCodeAt(i) & 0xff);
    }
    encodeInt(out, value.length, 7, 0);
    for (let i = 0; i < value.length; i++) out.push(value.charCodeAt(i) & 0xff);
  }
  return Buffer.from(out);
}
