/**
 * One HTTP/2 connection carrying gRPC unary calls, framed by hand on a TCP (or TLS) socket: the
 * transport of the probe and of the load benchmark (channel.ts). grpc-js plus node:http2 cost ~200 µs of CPU per call on the CI
 * machine; this does the same work — HEADERS + DATA out, HEADERS/DATA/trailers in, flow control,
 * SETTINGS/PING/GOAWAY/RST_STREAM — in ~25 µs, writing every request issued in one turn of the
 * event loop with one socket write. Each call has a deadline (RST_STREAM on expiry) and is sent once.
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import tls from 'node:tls';
import type { HeaderList } from './hpack.js';
import { FrameReader } from './reader.js';
import { FrameWriter } from './writer.js';
import {
  ACK,
  Code,
  END_HEADERS,
  END_STREAM,
  MAX_ID,
  PADDED,
  T,
  frame,
  frameHeader,
  clientPreface,
  findHeader,
  httpCode,
  rstFailure,
  unaryResult,
  type CallFailure,
  type UnaryDone,
} from './frames.js';

const RECV_WINDOW = MAX_ID;
const MAX_MESSAGE = 64 * 1024 * 1024;
const CANCEL = Buffer.from([0, 0, 0, 8]); // RST_STREAM error code

/** One call: queued (id 0) until it gets a stream, then sent and awaiting its answer. */
class Stream {
  id = 0;
  /** Bytes of `body` sent so far (flow control), and what the stream's window still allows. */
  sent = 0;
  window = 0;
  gotHeaders = false;
  data: Buffer | undefined;
  chunks: Buffer[] | undefined;
  received = 0;
  constructor(
    readonly block: Buffer,
    public body: Buffer | undefined,
    readonly deadline: number,
    readonly done: UnaryDone,
  ) {}
}

export interface SessionTarget {
  host: string;
  port: number;
  tls?: tls.ConnectionOptions;
  /**
   * Find dead connections (the probe's channels; the load benchmark keeps one connection whatever
   * happens): when a call reaches its deadline the member is sent a PING, and the connection is dropped
   * when no answer comes within this many ms, or at once when the member never sent its SETTINGS
   * (the next call then dials again, so a member that was frozen or cut off is reached once it is back).
   */
  keepaliveTimeoutMs?: number;
}

export class H2Session {
  private readonly sock: net.Socket;
  private readonly w: FrameWriter;
  private readonly streams = new Map<number, Stream>();
  private nextId = 1;
  private readonly reader = new FrameReader(
    (type, flags, id, p) => this.onFrame(type, flags, id, p),
    (id, flags, headers) => this.onHeaders(id, flags, headers),
  );
  private peerWindow = 65535;
  private maxStreams = Infinity;
  /** Calls waiting for a stream (the member's SETTINGS_MAX_CONCURRENT_STREAMS), oldest first. */
  private queued: Stream[] = [];
  private recvUnacked = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private readonly keepaliveMs: number | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private readyWaiters: Array<() => void> = [];
  /** The member's SETTINGS arrived (the connection works). */
  ready = false;
  /** No new calls: GOAWAY received, stream ids used up, or the socket closed. */
  draining = false;
  closed = false;

  /** @param onEnd told once when the connection is gone (with why, when it failed). */
  constructor(
    target: SessionTarget,
    private readonly onEnd: (s: H2Session, error: string | undefined) => void,
  ) {
    this.keepaliveMs = target.keepaliveTimeoutMs;
    this.sock = target.tls
      ? tls.connect({ host: target.host, port: target.port, ALPNProtocols: ['h2'], ...target.tls })
      : net.connect({ host: target.host, port: target.port });
    this.sock.setNoDelay(true);
    // Like grpc-js's idle channels, a connection with no call in flight does not keep the process alive.
    this.sock.unref();
    this.w = new FrameWriter(this.sock, () => !this.closed);
    let error: string | undefined;
    this.sock.on('data', (d: Buffer) => {
      try {
        this.reader.push(d);
      } catch (e) {
        this.sock.destroy(new Error(`HTTP/2 protocol error: ${(e as Error).message}`));
      }
    });
    this.sock.on('error', (e) => (error ??= e.message));
    this.sock.on('close', () => this.end(error ?? (this.ready ? 'Connection dropped' : 'Connection closed')));
    this.w.push(clientPreface(RECV_WINDOW));
  }

  /** Resolves once the member's SETTINGS arrived, the connection is gone, or after `ms`. */
  whenReady(ms: number): Promise<void> {
    if (this.ready || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        resolve();
      }
      this.readyWaiters.push(done);
    });
  }

  private wakeReadyWaiters(): void {
    const w = this.readyWaiters;
    this.readyWaiters = [];
    for (const f of w) f();
  }

  /** Whether a call can be started here now. */
  usable(): boolean {
    return !this.draining && !this.closed && this.nextId <= MAX_ID;
  }

  /** Start a unary call: `headerBlock` (HPACK), `body` (gRPC-framed message), a deadline (performance.now() ms). */
  call(block: Buffer, body: Buffer, deadline: number, done: UnaryDone): void {
    this.sock.ref();
    if (deadline < this.timerAt) this.arm(deadline);
    const s = new Stream(block, body, deadline, done);
    // Until the member's SETTINGS arrive its stream limit is unknown: wait for them (as grpc-js waits for READY).
    if (!this.ready || this.streams.size >= this.maxStreams) this.queued.push(s);
    else this.start(s);
  }

  private start(s: Stream): void {
    const id = (s.id = this.nextId);
    s.window = this.peerWindow;
    this.nextId += 2;
    if (this.nextId > MAX_ID) {
      this.draining = true;
      this.failQueued({ code: Code.UNAVAILABLE, details: 'HTTP/2 stream ids used up' });
    }
    this.streams.set(id, s);
    const h = Buffer.allocUnsafe(9 + s.block.length);
    frameHeader(h, 0, s.block.length, T.HEADERS, END_HEADERS, id);
    s.block.copy(h, 9);
    this.w.push(h);
    this.w.send(s);
  }

  close(): void {
    this.draining = true;
    this.sock.destroy();
  }

  private finish(s: Stream, err: CallFailure | null, message?: Buffer): void {
    if (this.streams.get(s.id) !== s) return;
    this.streams.delete(s.id);
    s.done(err, message);
    this.startQueued();
    if (this.draining && this.streams.size === 0) this.close();
    this.unrefWhenIdle();
  }

  /** No call in flight or waiting: neither the socket nor a pending deadline timer holds the process. */
  private unrefWhenIdle(): void {
    if (this.streams.size > 0 || this.queued.length > 0) return;
    this.sock.unref();
    this.timer?.unref();
  }

  private startQueued(): void {
    while (this.queued.length > 0 && this.ready && !this.draining && this.streams.size < this.maxStreams) {
      this.start(this.queued.shift()!);
    }
  }

  /** Calls never sent: failing them is safe (the member saw nothing). */
  private failQueued(f: CallFailure): void {
    const q = this.queued;
    this.queued = [];
    for (const c of q) c.done(f, undefined);
  }

  private arm(at: number): void {
    clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => this.expire(), Math.max(0, at - performance.now()));
  }

  private expire(): void {
    this.timerAt = Infinity;
    const now = performance.now() + 0.5;
    let next = Infinity;
    let expiredAny = false;
    for (const s of this.streams.values()) {
      if (s.deadline <= now) {
        expiredAny = true;
        this.w.push(frame(T.RST, 0, s.id, CANCEL));
        this.finish(s, { code: Code.DEADLINE_EXCEEDED, details: 'Deadline exceeded' });
      } else if (s.deadline < next) next = s.deadline;
    }
    const expired = this.queued.filter((q) => q.deadline <= now);
    this.queued = this.queued.filter((q) => q.deadline > now);
    for (const q of expired)
      q.done({ code: Code.DEADLINE_EXCEEDED, details: 'Deadline exceeded' }, undefined);
    for (const q of this.queued) if (q.deadline < next) next = q.deadline;
    if (next < Infinity && !this.closed) this.arm(next);
    if (this.keepaliveMs !== undefined && !this.closed && (expiredAny || expired.length > 0))
      this.checkAlive();
    this.unrefWhenIdle();
  }

  /** A call timed out: is the connection still there? (see SessionTarget.keepaliveTimeoutMs) */
  private checkAlive(): void {
    if (!this.ready) {
      this.sock.destroy(new Error('the member did not answer the HTTP/2 connection preface in time'));
      return;
    }
    if (this.pingTimer) return;
    this.w.push(frame(T.PING, 0, 0, Buffer.alloc(8)));
    this.pingTimer = setTimeout(() => {
      this.sock.destroy(new Error(`keepalive ping not answered within ${this.keepaliveMs}ms`));
    }, this.keepaliveMs);
    this.pingTimer.unref();
  }

  private end(error: string | undefined): void {
    if (this.closed) return;
    this.closed = this.draining = true;
    clearTimeout(this.timer);
    clearTimeout(this.pingTimer);
    this.wakeReadyWaiters();
    const why = error ?? 'Connection closed';
    const details = this.ready ? why : `No connection established. Last error: ${why}`;
    const failure = { code: Code.UNAVAILABLE, details };
    this.failQueued(failure);
    for (const s of [...this.streams.values()]) this.finish(s, failure);
    this.onEnd(this, this.ready ? undefined : details);
  }

  /** Every frame but HEADERS/CONTINUATION (FrameReader turns those into onHeaders). */
  private onFrame(type: number, flags: number, id: number, p: Buffer): void {
    switch (type) {
      case T.DATA:
        return this.onDataFrame(flags, id, p);
      case T.RST: {
        const s = this.streams.get(id);
        if (s) this.finish(s, rstFailure(p.readUInt32BE(0)));
        return;
      }
      case T.SETTINGS:
        if (!(flags & ACK)) this.onSettings(p);
        return;
      case T.PING:
        if (!(flags & ACK)) this.w.push(frame(T.PING, ACK, 0, p));
        else {
          clearTimeout(this.pingTimer);
          this.pingTimer = undefined;
        }
        return;
      case T.GOAWAY: {
        const last = p.readUInt32BE(0) & MAX_ID;
        this.draining = true;
        this.failQueued({ code: Code.UNAVAILABLE, details: 'GOAWAY received' });
        for (const s of [...this.streams.values()])
          if (s.id > last) this.finish(s, { code: Code.UNAVAILABLE, details: 'GOAWAY received' });
        if (this.streams.size === 0) this.close();
        return;
      }
      case T.WINDOW: {
        const inc = p.readUInt32BE(0) & MAX_ID;
        if (id === 0) this.w.connWindow += inc;
        else {
          const s = this.streams.get(id);
          if (s) s.window += inc;
        }
        this.w.unblock((s) => this.streams.get(s.id) === s);
        return;
      }
      default:
    }
  }

  private onSettings(p: Buffer): void {
    for (let i = 0; i + 6 <= p.length; i += 6) {
      const key = p.readUInt16BE(i);
      const v = p.readUInt32BE(i + 2);
      if (key === 4) {
        const delta = v - this.peerWindow;
        this.peerWindow = v;
        for (const s of this.streams.values()) s.window += delta;
      } else if (key === 5) this.w.maxFrame = v;
      else if (key === 3) this.maxStreams = v;
    }
    this.w.push(frame(T.SETTINGS, ACK, 0, Buffer.alloc(0)));
    if (!this.ready) {
      this.ready = true;
      this.wakeReadyWaiters();
    }
    this.w.unblock((s) => this.streams.get(s.id) === s);
    this.startQueued();
  }

  private onDataFrame(flags: number, id: number, p: Buffer): void {
    this.recvUnacked += p.length;
    if (this.recvUnacked >= 1 << 24) {
      const inc = Buffer.allocUnsafe(4);
      inc.writeUInt32BE(this.recvUnacked, 0);
      this.w.push(frame(T.WINDOW, 0, 0, inc));
      this.recvUnacked = 0;
    }
    const s = this.streams.get(id);
    if (!s) return;
    const d = flags & PADDED ? p.subarray(1, p.length - p[0]!) : p;
    s.received += d.length;
    if (!s.data) s.data = d;
    else (s.chunks ??= [s.data]).push(d);
    if (s.received > MAX_MESSAGE + 5) {
      this.w.push(frame(T.RST, 0, id, CANCEL));
      this.finish(s, { code: Code.RESOURCE_EXHAUSTED, details: 'Received message larger than max' });
    } else if (flags & END_STREAM)
      this.finish(s, { code: Code.INTERNAL, details: 'Stream ended without trailers' });
  }

  private onHeaders(id: number, flags: number, headers: HeaderList): void {
    const s = this.streams.get(id);
    if (!s) return;
    if (!s.gotHeaders) {
      s.gotHeaders = true;
      const status = Number(findHeader(headers, ':status'));
      if (status !== 200) {
        this.finish(s, { code: httpCode(status), details: `Received HTTP status code ${status}` });
        return;
      }
      if (!(flags & END_STREAM)) return; // trailers follow the messages
    }
    const r = unaryResult(headers, s.chunks ? Buffer.concat(s.chunks) : s.data);
    if (Buffer.isBuffer(r)) this.finish(s, null, r);
    else this.finish(s, r);
  }
}
