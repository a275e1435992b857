/**
 * The receiving side of session.ts's HTTP/2 connection: splits the byte stream into frames (across
 * chunk boundaries), joins HEADERS + CONTINUATION, strips padding and priority, and decodes every
 * header block in order with the connection's HPACK decoder (they share its dynamic table).
 */
import { END_HEADERS, MAX_ID, PADDED, PRIORITY, T } from './frames.js';
import { HpackDecoder, type HeaderList } from './hpack.js';

export class FrameReader {
  private readonly hpack = new HpackDecoder();
  private partial: Buffer | undefined;
  private block: { id: number; flags: number; parts: Buffer[] } | undefined;

  constructor(
    private readonly onFrame: (type: number, flags: number, id: number, payload: Buffer) => void,
    private readonly onHeaders: (id: number, flags: number, headers: HeaderList) => void,
  ) {}

  /** Received bytes; throws on a protocol error (the caller drops the connection). */
  push(d: Buffer): void {
    const b = this.partial ? Buffer.concat([this.partial, d]) : d;
    this.partial = undefined;
    let o = 0;
    while (b.length - o >= 9) {
      const len = (b[o]! << 16) | (b[o + 1]! << 8) | b[o + 2]!;
      if (b.length - o < 9 + len) break;
      const id = b.readUInt32BE(o + 5) & MAX_ID;
      this.frame(b[o + 3]!, b[o + 4]!, id, b.subarray(o + 9, o + 9 + len));
      o += 9 + len;
    }
    if (o < b.length) this.partial = o === 0 ? b : b.subarray(o);
  }

  private frame(type: number, flags: number, id: number, p: Buffer): void {
    if (this.block && type !== T.CONT) throw new Error('header block not continued');
    if (type === T.HEADERS) {
      let start = flags & PADDED ? 1 : 0;
      const end = p.length - (flags & PADDED ? p[0]! : 0);
      if (flags & PRIORITY) start += 5;
      this.block = { id, flags, parts: [p.subarray(start, end)] };
    } else if (type === T.CONT) {
      if (!this.block || this.block.id !== id) throw new Error('unexpected CONTINUATION');
      this.block.parts.push(p);
    } else {
      this.onFrame(type, flags, id, p);
      return;
    }
    if (!(flags & END_HEADERS)) return;
    const { parts, flags: first } = this.block;
    this.block = undefined;
    this.onHeaders(id, first, this.hpack.decode(parts.length === 1 ? parts[0]! : Buffer.concat(parts)));
  }
}
