/** The hand-written wire formats (src/etcd/wire/): HPACK (RFC 7541's own examples) and the protobuf messages. */
import { expect } from 'chai';
import { HpackDecoder, encodeHeaders, huffmanDecode } from '../../../src/etcd/wire/hpack.js';
import { encodeMessage, readField } from '../../../src/etcd/wire/proto.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('wire: HPACK', () => {
  it('decodes Huffman strings (RFC 7541 C.4)', () => {
    const h = (s: string): string => {
      const b = hex(s);
      return huffmanDecode(b, 0, b.length);
    };
    expect(h('f1e3 c2e5 f23a 6ba0 ab90 f4ff')).to.equal('www.example.com');
    expect(h('a8eb 1064 9cbf')).to.equal('no-cache');
    expect(h('25a8 49e9 5ba9 7d7f')).to.equal('custom-key');
    expect(h('25a8 49e9 5bb8 e8b4 bf')).to.equal('custom-value');
    expect(() => h('f1e3 c2e5 f23a 6ba0 ab90 f400')).to.throw(/padding/);
  });

  it('decodes a sequence of blocks sharing the dynamic table (RFC 7541 C.4.1–C.4.3)', () => {
    const d = new HpackDecoder();
    const base: Array<[string, string]> = [
      [':method', 'GET'],
      [':scheme', 'http'],
      [':path', '/'],
      [':authority', 'www.example.com'],
    ];
    expect(d.decode(hex('8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff'))).to.deep.equal(base);
    expect(d.decode(hex('8286 84be 5886 a8eb 1064 9cbf'))).to.deep.equal([
      ...base,
      ['cache-control', 'no-cache'],
    ]);
    expect(d.decode(hex('8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf'))).to.deep.equal([
      [':method', 'GET'],
      [':scheme', 'https'],
      [':path', '/index.html'],
      [':authority', 'www.example.com'],
      ['custom-key', 'custom-value'],
    ]);
  });

  it('encodes request headers the decoder reads back', () => {
    const headers: Array<[string, string]> = [
      [':method', 'POST'],
      [':scheme', 'http'],
      [':path', '/etcdserverpb.KV/Put'],
      [':authority', '127.0.0.1:2379'],
      ['content-type', 'application/grpc'],
      ['te', 'trailers'],
      ['grpc-timeout', '5000m'],
      ['token', 'x'.repeat(300)],
    ];
    const block = encodeHeaders(headers);
    expect(block[0]).to.equal(0x83); // :method POST, fully indexed
    expect(new HpackDecoder().decode(block)).to.deep.equal(headers);
  });
});

describe('wire: protobuf', () => {
  it('encodes a PutRequest as protobuf does, behind the 5-byte gRPC prefix', () => {
    const m = encodeMessage([Buffer.from('k'), Buffer.alloc(200, 1)]);
    expect(m.subarray(0, 5)).to.deep.equal(hex('00 0000 00ce'));
    expect(m.subarray(5, 10)).to.deep.equal(hex('0a 01 6b 12 c8'));
    expect(m[10]).to.equal(0x01); // 200 = 0xc8 0x01
    expect(m.length).to.equal(5 + 3 + 3 + 200);
  });

  it('omits default fields and writes varints and bools', () => {
    const m = encodeMessage([Buffer.from('a'), undefined, 300, 0, 0, 0, true, false]).subarray(5);
    expect(m).to.deep.equal(hex('0a 01 61 18 ac 02 38 01'));
  });

  it('reads fields, nested messages and counts', () => {
    // RangeResponse{header{revision: 300}, kvs[{key:"a", value:"v"}, {key:"b"}], count: 2}
    const kv1 = hex('0a 01 61 2a 01 76');
    const kv2 = hex('0a 01 62');
    const r = Buffer.concat([
      hex('0a 03 18 ac 02'),
      hex('12'),
      Buffer.from([kv1.length]),
      kv1,
      hex('12'),
      Buffer.from([kv2.length]),
      kv2,
      hex('20 02'),
    ]);
    expect(readField(readField(r, 1) as Buffer, 3)).to.equal(300);
    expect(readField(r, 2, true)).to.equal(2);
    expect((readField(readField(r, 2) as Buffer, 5) as Buffer).toString()).to.equal('v');
    expect(readField(r, 4)).to.equal(2);
    expect(readField(r, 9)).to.equal(undefined);
  });
});
