/**
 * The member /metrics fetch (gzip asked for, inflated in one piece; plain streamed) and the scanner on
 * bodies the size of a real member's (~220 KiB, decoded in pieces): the same snapshot as parsing every line.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import { expect } from 'chai';
import { extractMemberMetrics, MemberMetricsScanner } from '../../../src/etcd/memberMetrics.js';
import { parsePromText } from '../../../src/etcd/promtext.js';
import { fetchChunks, fetchText, ScrapeAgents } from '../../../src/etcd/scrape.js';

const SERVICES = ['etcdserverpb.Auth', 'etcdserverpb.KV', 'etcdserverpb.Lease', 'etcdserverpb.Maintenance'];
const METHODS = ['Alarm', 'Compact', 'DeleteRange', 'Put', 'Range', 'Status', 'Txn', 'UserAdd', 'Watch'];
const CODES = ['Aborted', 'Canceled', 'DeadlineExceeded', 'Internal', 'NotFound', 'OK', 'Unavailable'];
const LES = ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '+Inf'];

/** An exposition shaped like etcd's (families grouped after HELP/TYPE, sorted label sets), ~250 KiB. */
function etcdLike(): string {
  const out: string[] = [];
  const family = (name: string, type: string, lines: string[]): void => {
    out.push(`# HELP ${name} help text for ${name}.`, `# TYPE ${name} ${type}`, ...lines);
  };
  let n = 0;
  for (let copy = 0; copy < 3; copy++) {
    family(`etcd_debugging_skipped_${copy}_seconds`, 'histogram', [
      ...LES.map((le) => `etcd_debugging_skipped_${copy}_seconds_bucket{le="${le}"} ${n++}`),
      `etcd_debugging_skipped_${copy}_seconds_sum 1.5`,
      `etcd_debugging_skipped_${copy}_seconds_count ${n}`,
    ]);
  }
  const series = (f: (m: string, s: string) => string[]): string[] =>
    METHODS.flatMap((m) => SERVICES.flatMap((s) => f(m, s)));
  family(
    'grpc_server_handled_total',
    'counter',
    series((m, s) =>
      CODES.map(
        (c) =>
          `grpc_server_handled_total{grpc_code="${c}",grpc_method="${m}",grpc_service="${s}",grpc_type="unary"} ${c === 'OK' ? n++ * 7 : 0}`,
      ),
    ),
  );
  family(
    'grpc_server_handling_seconds',
    'histogram',
    series((m, s) => {
      const l = `grpc_method="${m}",grpc_service="${s}",grpc_type="unary"`;
      return [
        ...LES.map((le, i) => `grpc_server_handling_seconds_bucket{${l},le="${le}"} ${i * 3 + n}`),
        `grpc_server_handling_seconds_sum{${l}} 0.${n++}`,
        `grpc_server_handling_seconds_count{${l}} ${LES.length * 3 + n}`,
      ];
    }),
  );
  family(
    'grpc_server_started_total',
    'counter',
    series((m, s) => [
      `grpc_server_started_total{grpc_method="${m}",grpc_service="${s}",grpc_type="unary"} ${n++}`,
    ]),
  );
  family('etcd_server_has_leader', 'gauge', ['etcd_server_has_leader 1']);
  family('etcd_mvcc_db_total_size_in_bytes', 'gauge', ['etcd_mvcc_db_total_size_in_bytes 2.4576e+04']);
  family('etcd_disk_wal_fsync_duration_seconds', 'histogram', [
    ...LES.map((le, i) => `etcd_disk_wal_fsync_duration_seconds_bucket{le="${le}"} ${i + 10}`),
    'etcd_disk_wal_fsync_duration_seconds_sum 0.125',
    'etcd_disk_wal_fsync_duration_seconds_count 21',
  ]);
  let text = out.join('\n') + '\n';
  while (text.length < 200 * 1024) text += text.replace(/^(?!#)(\S+?)(\{|\s)/gm, 'padding_$1$2');
  return text;
}

describe('member /metrics: scanner on a member-sized body, and the gzip fetch', () => {
  const text = etcdLike();
  const want = extractMemberMetrics(parsePromText(text));

  it('gives the same snapshot from one ~200 KiB buffer (decoded in pieces) as parsing every line', () => {
    expect(text.length).to.be.greaterThan(200 * 1024);
    expect(want.readHistogram!.count).to.be.greaterThan(0);
    expect(want.writeHistogram!.buckets).to.have.length(LES.length);
    const bytes = Buffer.from(text, 'latin1');
    for (const size of [bytes.length, 32 * 1024 + 7, 65_536, 4096, 1000]) {
      const sc = new MemberMetricsScanner();
      for (let i = 0; i < bytes.length; i += size) sc.push(bytes.subarray(i, i + size));
      expect(sc.finish(), `pieces of ${size}`).to.deep.equal(want);
    }
  });

  describe('fetchChunks against a local server', () => {
    let server: http.Server;
    let base = '';
    const seen: Array<string | undefined> = [];
    before(async () => {
      const gz = zlib.gzipSync(text);
      server = http.createServer((req, res) => {
        seen.push(req.headers['accept-encoding']);
        if (req.url === '/br') {
          res.writeHead(200, { 'content-encoding': 'br' }).end('x');
          return;
        }
        if (req.url === '/corrupt') {
          res.writeHead(200, { 'content-encoding': 'gzip' }).end(gz.subarray(0, 100));
          return;
        }
        const gzip = /gzip/.test(req.headers['accept-encoding'] ?? '');
        res.writeHead(200, gzip ? { 'content-encoding': 'gzip' } : {});
        const body = gzip ? gz : Buffer.from(text);
        // In pieces, as etcd writes it.
        for (let i = 0; i < body.length; i += 3000) res.write(body.subarray(i, i + 3000));
        res.end();
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    });

    it('asks for gzip and hands over the inflated body in one piece: same snapshot', async () => {
      const agents = new ScrapeAgents();
      try {
        for (let round = 0; round < 2; round++) {
          const sc = new MemberMetricsScanner();
          let pieces = 0;
          await fetchChunks(`${base}/metrics`, 5000, undefined, (c) => (pieces++, sc.push(c)), { agents });
          expect(pieces).to.equal(1);
          expect(sc.finish()).to.deep.equal(want);
        }
      } finally {
        agents.destroy();
      }
      expect(seen.at(-1)).to.equal('gzip');
    });

    it('without gzip, streams the plain body chunk by chunk: same text', async () => {
      let pieces = 0;
      const chunks: Buffer[] = [];
      await fetchChunks(`${base}/metrics`, 5000, undefined, (c) => (pieces++, chunks.push(c)), {
        gzip: false,
      });
      expect(seen.at(-1)).to.equal(undefined);
      expect(pieces).to.be.greaterThan(1);
      expect(Buffer.concat(chunks).toString()).to.equal(text);
      expect(await fetchText(`${base}/metrics`, 5000)).to.equal(text);
    });

    it('fails clearly on an encoding it did not ask for and on a broken gzip body', async () => {
      const err = (p: Promise<unknown>): Promise<string> =>
        p.then(
          () => 'resolved',
          (e: Error) => e.message,
        );
      expect(await err(fetchText(`${base}/br`, 5000))).to.match(/unsupported Content-Encoding "br"/);
      expect(await err(fetchText(`${base}/corrupt`, 5000))).to.match(/bad gzip body/);
    });
  });
});
