/**
 * The hand-framed HTTP/2 transport of the probe and the load benchmark (src/etcd/wire/session.ts) against node:http2 as a
 * gRPC server (its HPACK encoder uses the dynamic table and Huffman strings): answers, trailers-only
 * errors, HTTP errors, RST_STREAM, flow control both ways, the server's stream limit, deadlines and a
 * dropped connection.
 */
import { expect } from 'chai';
import http2 from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { H2Session } from '../../../src/etcd/wire/session.js';
import type { CallFailure } from '../../../src/etcd/wire/frames.js';
import { encodeHeaders } from '../../../src/etcd/wire/hpack.js';

const grpcFrame = (msg: Buffer): Buffer => {
  const b = Buffer.alloc(5 + msg.length);
  b.writeUInt32BE(msg.length, 1);
  msg.copy(b, 5);
  return b;
};

type Handler = (stream: http2.ServerHttp2Stream, body: Buffer, path: string) => void;

describe('wire session (hand-framed HTTP/2) against node:http2', () => {
  let server: http2.Http2Server;
  let port = 0;
  let handler: Handler = () => {};
  let open = 0;
  let maxOpen = 0;
  const sessions: H2Session[] = [];

  before(async () => {
    server = http2.createServer({ settings: { maxConcurrentStreams: 4 } });
    server.on('stream', (stream, headers) => {
      open++;
      maxOpen = Math.max(maxOpen, open);
      stream.on('close', () => open--);
      stream.on('error', () => {}); // the resets the tests provoke
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => handler(stream, Buffer.concat(chunks).subarray(5), String(headers[':path'])));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    for (const s of sessions) s.close();
    await new Promise((r) => server.close(r));
  });

  const session = (): H2Session => {
    const s = new H2Session({ host: '127.0.0.1', port }, () => {});
    sessions.push(s);
    return s;
  };
  const block = (path: string): Buffer =>
    encodeHeaders([
      [':method', 'POST'],
      [':scheme', 'http'],
      [':path', path],
      [':authority', `127.0.0.1:${port}`],
      ['content-type', 'application/grpc'],
      ['te', 'trailers'],
    ]);
  const call = (s: H2Session, path: string, msg: Buffer, timeoutMs = 2000): Promise<Buffer> =>
    new Promise((resolve, reject) =>
      s.call(block(path), grpcFrame(msg), performance.now() + timeoutMs, (err, m) =>
        err ? reject(Object.assign(new Error(err.details), err)) : resolve(m!),
      ),
    );
  const failure = async (p: Promise<unknown>): Promise<CallFailure> => {
    try {
      await p;
    } catch (e) {
      return e as CallFailure;
    }
    throw new Error('expected the call to fail');
  };
  const reply = (stream: http2.ServerHttp2Stream, msg: Buffer, delayMs = 0): void => {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': '' }));
    setTimeout(() => stream.end(grpcFrame(msg)), delayMs);
  };

  it('returns the message of an answered call, many calls on one connection', async () => {
    handler = (stream, body, path) => reply(stream, Buffer.concat([Buffer.from(path), body]));
    const s = session();
    const got = await Promise.all(
      Array.from({ length: 20 }, (_, i) => call(s, '/x.Y/Z', Buffer.from(String(i)))),
    );
    expect(got.map((b) => b.toString())).to.deep.equal(Array.from({ length: 20 }, (_, i) => `/x.Y/Z${i}`));
    expect(s.ready).to.equal(true);
  });

  it('reports trailers-only errors with the percent-decoded message, HTTP errors and RST_STREAM', async () => {
    handler = (stream, _body, path) => {
      if (path === '/e/status')
        stream.respond(
          {
            ':status': 200,
            'content-type': 'application/grpc',
            'grpc-status': '5',
            'grpc-message': 'no%20such key',
          },
          { endStream: true },
        );
      else if (path === '/e/http') stream.respond({ ':status': 503 }, { endStream: true });
      else stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
    };
    const s = session();
    expect(await failure(call(s, '/e/status', Buffer.alloc(0)))).to.include({
      code: 5,
      details: 'no such key',
    });
    expect(await failure(call(s, '/e/http', Buffer.alloc(0)))).to.include({ code: 14 });
    expect(await failure(call(s, '/e/rst', Buffer.alloc(0)))).to.include({
      code: 14,
      details: 'Stream refused by server',
    });
  });

  it('sends and receives messages larger than the flow-control windows and frames', async () => {
    handler = (stream, body) => reply(stream, Buffer.concat([body, body]));
    const big = Buffer.alloc(300_000, 7);
    big[299_999] = 9;
    const got = await call(session(), '/big', big);
    expect(got.length).to.equal(600_000);
    expect(got[299_999]).to.equal(9);
    expect(got[599_999]).to.equal(9);
  });

  it('keeps to the server’s concurrent-stream limit, queueing the rest', async () => {
    maxOpen = 0;
    handler = (stream, body) => reply(stream, body, 20);
    const s = session();
    const got = await Promise.all(Array.from({ length: 12 }, (_, i) => call(s, '/q', Buffer.from([i]))));
    expect(got.map((b) => b[0])).to.deep.equal(Array.from({ length: 12 }, (_, i) => i));
    expect(maxOpen).to.be.within(1, 4);
  });

  it('fails a call at its deadline with DEADLINE_EXCEEDED and resets the stream', async () => {
    let reset = false;
    handler = (stream) => stream.on('aborted', () => (reset = true));
    const s = session();
    const t0 = performance.now();
    const f = await failure(call(s, '/slow', Buffer.alloc(1), 150));
    const ms = performance.now() - t0;
    expect(f).to.include({ code: 4 });
    expect(ms).to.be.within(140, 1000);
    await new Promise((r) => setTimeout(r, 50));
    expect(reset).to.equal(true);
  });

  it('fails the calls in flight with UNAVAILABLE when the connection drops', async () => {
    handler = (stream) => stream.session?.destroy();
    const f = await failure(call(session(), '/drop', Buffer.alloc(1)));
    expect(f.code).to.equal(14);
  });

  it('fails calls to a port nobody listens on with UNAVAILABLE naming the error', async () => {
    const s = new H2Session({ host: '127.0.0.1', port: 1 }, () => {});
    const f = await failure(
      new Promise((resolve, reject) =>
        s.call(block('/x'), grpcFrame(Buffer.alloc(0)), performance.now() + 2000, (err, m) =>
          err ? reject(err) : resolve(m),
        ),
      ),
    );
    expect(f.code).to.equal(14);
    expect(f.details).to.match(/No connection established.*ECONNREFUSED/);
  });

  describe("finding dead connections (keepaliveTimeoutMs, the probe's channels)", () => {
    /** A TCP server that accepts and then says nothing (or only its SETTINGS): a frozen or cut-off member. */
    const silent = async (sendSettings: boolean): Promise<{ port: number; close: () => Promise<void> }> => {
      const socks: net.Socket[] = [];
      const srv = net.createServer((c) => {
        socks.push(c);
        c.on('error', () => {});
        if (sendSettings) c.write(Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])); // empty SETTINGS, then silence
      });
      await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
      return {
        port: (srv.address() as AddressInfo).port,
        close: async () => {
          for (const c of socks) c.destroy();
          await new Promise((r) => srv.close(r));
        },
      };
    };
    const ended = (target: { port: number; keepaliveTimeoutMs?: number }) => {
      let resolveEnd: (why: string | undefined) => void = () => {};
      const end = new Promise<string | undefined>((r) => (resolveEnd = r));
      const s = new H2Session({ host: '127.0.0.1', ...target }, (_s, why) => resolveEnd(why ?? 'ended'));
      sessions.push(s);
      return { s, end };
    };

    it('a member that never sends its SETTINGS: the call times out and the connection is dropped', async () => {
      const srv = await silent(false);
      try {
        const { s, end } = ended({ port: srv.port, keepaliveTimeoutMs: 200 });
        expect(await failure(call(s, '/x', Buffer.alloc(0), 100))).to.include({ code: 4 });
        expect(await end).to.match(/did not answer the HTTP\/2 connection preface/);
        expect(s.usable()).to.equal(false);
      } finally {
        await srv.close();
      }
    });

    it('a member that stops answering: a timed-out call sends a PING, and no answer drops the connection', async () => {
      const srv = await silent(true);
      try {
        const { s, end } = ended({ port: srv.port, keepaliveTimeoutMs: 200 });
        const t0 = performance.now();
        expect(await failure(call(s, '/x', Buffer.alloc(0), 100))).to.include({ code: 4 });
        expect(await end).to.equal('ended'); // it had been connected: no set-up error
        expect(performance.now() - t0).to.be.within(250, 2000);
        expect(s.usable()).to.equal(false);
      } finally {
        await srv.close();
      }
    });

    it('a live member that is only slow keeps its connection (it answers the PING)', async () => {
      handler = (stream, body) => reply(stream, body, 300);
      const { s } = ended({ port, keepaliveTimeoutMs: 100 });
      expect(await failure(call(s, '/slow', Buffer.alloc(1), 100))).to.include({ code: 4 });
      await new Promise((r) => setTimeout(r, 300));
      expect(s.usable()).to.equal(true);
      expect((await call(s, '/fast', Buffer.from([5]), 2000))[0]).to.equal(5);
    });

    it('without keepaliveTimeoutMs (the load benchmark) a silent connection is kept', async () => {
      const srv = await silent(true);
      try {
        const { s } = ended({ port: srv.port });
        expect(await failure(call(s, '/x', Buffer.alloc(0), 100))).to.include({ code: 4 });
        await new Promise((r) => setTimeout(r, 300));
        expect(s.usable()).to.equal(true);
      } finally {
        await srv.close();
      }
    });
  });

  it('an idle connection does not keep the process alive (one with a call in flight does)', async function () {
    this.timeout(20_000);
    handler = (stream, body, path) => reply(stream, body, path === '/slow' ? 600 : 0);
    // A child process that makes calls and never closes its session: it must end by itself, after its call.
    const script = `
      import { performance } from 'node:perf_hooks';
      import { H2Session } from ${JSON.stringify(new URL('../../../src/etcd/wire/session.ts', import.meta.url).href)};
      import { encodeHeaders } from ${JSON.stringify(new URL('../../../src/etcd/wire/hpack.ts', import.meta.url).href)};
      const s = new H2Session({ host: '127.0.0.1', port: ${port}, keepaliveTimeoutMs: 5000 }, () => {});
      const block = encodeHeaders([[':method', 'POST'], [':scheme', 'http'], [':path', '/slow'],
        [':authority', 'x'], ['content-type', 'application/grpc'], ['te', 'trailers']]);
      const t0 = performance.now();
      s.call(block, Buffer.from([0, 0, 0, 0, 1, 7]), performance.now() + 5000, (err) => {
        console.log(err ? 'failed ' + err.details : 'answered after ' + Math.round(performance.now() - t0));
      });`;
    const { execFile } = await import('node:child_process');
    const t0 = performance.now();
    const out = await new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        ['--import', 'tsx', '--input-type=module', '-e', script],
        { timeout: 15_000 },
        (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)),
      ),
    );
    expect(out).to.match(/answered after \d+/);
    expect(Number(/answered after (\d+)/.exec(out)![1])).to.be.at.least(550);
    expect(performance.now() - t0).to.be.below(10_000);
  });
});
