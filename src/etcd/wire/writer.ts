/**
 * The sending side of session.ts's HTTP/2 connection: frames queued during one turn of the event
 * loop go out in one socket write, and request bodies are sent in DATA frames as far as the
 * connection's and the stream's flow-control windows and the peer's frame size allow (the rest
 * when WINDOW_UPDATEs arrive).
 */
import type net from 'node:net';
import { END_STREAM, T, frameHeader } from './frames.js';

/** A stream with a body to send. */
export interface Outgoing {
  id: number;
  body: Buffer | undefined;
  sent: number;
  window: number;
}

export class FrameWriter {
  connWindow = 65535;
  maxFrame = 16384;
  private out: Buffer[] = [];
  private flushing = false;
  private blocked: Outgoing[] = [];

  constructor(
    private readonly sock: net.Socket,
    private readonly open: () => boolean,
  ) {}

  push(b: Buffer): void {
    this.out.push(b);
    if (!this.flushing) {
      this.flushing = true;
      process.nextTick(() => this.flush());
    }
  }

  /** Send a stream's body (after its HEADERS): now as far as the windows allow, the rest later. */
  send(s: Outgoing): void {
    if (!this.sendData(s)) this.blocked.push(s);
  }

  /** A window grew: continue the blocked bodies of the streams still `alive`. */
  unblock(alive: (s: Outgoing) => boolean): void {
    if (this.blocked.length === 0) return;
    this.blocked = this.blocked.filter((s) => alive(s) && !this.sendData(s));
  }

  private flush(): void {
    this.flushing = false;
    const out = this.out;
    this.out = [];
    if (this.open() && out.length) this.sock.write(out.length === 1 ? out[0]! : Buffer.concat(out));
  }

  /** True when all of the body is out. */
  private sendData(s: Outgoing): boolean {
    const body = s.body!;
    while (s.sent < body.length) {
      const n = Math.min(body.length - s.sent, this.connWindow, s.window, this.maxFrame);
      if (n <= 0) return false;
      const last = s.sent + n === body.length;
      const h = Buffer.allocUnsafe(9);
      frameHeader(h, 0, n, T.DATA, last ? END_STREAM : 0, s.id);
      this.push(h);
      this.push(s.sent === 0 && last ? body : body.subarray(s.sent, s.sent + n));
      s.sent += n;
      this.connWindow -= n;
      s.window -= n;
    }
    s.body = undefined;
    return true;
  }
}
