/**
 * The probe's hand-read etcd messages (src/etcd/wire/messages.ts) against protobufjs's encoding of
 * etcd's own rpc.proto (the serialisers grpc-js uses, from the proto files the etcd3 package ships):
 * every field the probe reads, uint64 IDs above 2^53 exactly, repeated fields, unknown fields skipped.
 */
import { expect } from 'chai';
import { etcdProtoDefinition, toHexId } from '../../../src/etcd/grpc.js';
import {
  EMPTY_REQUEST,
  HEALTH_READ_REQUEST,
  decodeAlarms,
  decodeDeleted,
  decodeMemberList,
  decodeStatus,
} from '../../../src/etcd/wire/messages.js';
import { ProtoReader } from '../../../src/etcd/wire/proto.js';

// The very definitions (and protobufjs serialisers) grpc-js uses for MemberClient.
const def = etcdProtoDefinition();
type Codec = {
  responseSerialize(v: unknown): Buffer;
  requestDeserialize(b: Buffer): Record<string, unknown>;
};
const rpc = (service: string, m: string): Codec =>
  (def[`etcdserverpb.${service}`] as unknown as Record<string, Codec>)[m]!;

const BIG = '18446744073709551615'; // 2^64 - 1
const ID = '12345678901234567890';

describe('wire: etcd messages read by hand', () => {
  it('StatusResponse: every field, IDs above 2^53 exact, in etcdctl hex', () => {
    const b = rpc('Maintenance', 'Status').responseSerialize({
      header: { cluster_id: BIG, member_id: ID, revision: '9007199254740', raft_term: '7' },
      version: '3.6.1',
      dbSize: '2147483648',
      leader: ID,
      raftIndex: '123456',
      raftTerm: '7',
      raftAppliedIndex: '123455',
      errors: ['memberID:1 alarm:NOSPACE', 'second'],
      dbSizeInUse: '1048576',
      isLearner: true,
    });
    expect(decodeStatus(b)).to.deep.equal({
      clusterId: 'ffffffffffffffff',
      memberId: toHexId(ID),
      leaderId: toHexId(ID),
      version: '3.6.1',
      dbSizeBytes: 2147483648,
      dbSizeInUseBytes: 1048576,
      raftTerm: 7,
      raftIndex: 123456,
      raftAppliedIndex: 123455,
      isLearner: true,
      errors: ['memberID:1 alarm:NOSPACE', 'second'],
      revision: 9007199254740,
    });
  });

  it('StatusResponse with every field at its default is all zeros', () => {
    const s = decodeStatus(Buffer.alloc(0));
    expect(s).to.include({ clusterId: '0', memberId: '0', leaderId: '0', dbSizeBytes: 0, isLearner: false });
    expect(s.errors).to.deep.equal([]);
  });

  it('MemberListResponse: members with repeated URLs, a learner, an unstarted member without a name', () => {
    const b = rpc('Cluster', 'MemberList').responseSerialize({
      header: { cluster_id: '1' },
      members: [
        {
          ID: BIG,
          name: 'm0',
          peerURLs: ['http://a:2380', 'http://b:2380'],
          clientURLs: ['http://a:2379'],
        },
        { ID: '2', name: '', peerURLs: ['http://c:2380'], clientURLs: [], isLearner: true },
      ],
    });
    expect(decodeMemberList(b)).to.deep.equal([
      {
        id: 'ffffffffffffffff',
        name: 'm0',
        peerURLs: ['http://a:2380', 'http://b:2380'],
        clientURLs: ['http://a:2379'],
        isLearner: false,
      },
      { id: '2', name: '', peerURLs: ['http://c:2380'], clientURLs: [], isLearner: true },
    ]);
  });

  // etcd3's rpc.proto names the enum values None/Nospace/Corrupt (etcd's own: NONE/NOSPACE/CORRUPT; same numbers).
  it('AlarmResponse: NOSPACE and CORRUPT per member; NONE is no alarm', () => {
    const b = rpc('Maintenance', 'Alarm').responseSerialize({
      alarms: [
        { memberID: ID, alarm: 'Nospace' },
        { memberID: '3', alarm: 'Corrupt' },
        { memberID: '4', alarm: 'None' },
      ],
    });
    expect(decodeAlarms(b)).to.deep.equal([
      { memberId: toHexId(ID), type: 'NOSPACE' },
      { memberId: '3', type: 'CORRUPT' },
    ]);
  });

  it('DeleteRangeResponse: deleted', () => {
    expect(decodeDeleted(rpc('KV', 'DeleteRange').responseSerialize({ deleted: '7' }))).to.equal(7);
  });

  it('the request bodies are what protobufjs reads as etcdctl endpoint health and the empty requests', () => {
    expect(EMPTY_REQUEST).to.deep.equal(Buffer.from([0, 0, 0, 0, 0]));
    const r = rpc('KV', 'Range').requestDeserialize(HEALTH_READ_REQUEST.subarray(5));
    expect(r).to.include({ limit: '1', keys_only: true, serializable: false, count_only: false });
    expect(Buffer.from(r.key as Buffer).toString()).to.equal('health');
    expect(HEALTH_READ_REQUEST.readUInt32BE(1)).to.equal(HEALTH_READ_REQUEST.length - 5);
  });

  it('ProtoReader rejects truncated messages and unknown wire types', () => {
    const walk = (b: Buffer): void => {
      const r = new ProtoReader(b);
      while (r.next());
    };
    expect(() => walk(Buffer.from([0x12, 0x05, 0x61]))).to.throw(/truncated/); // length 5, 1 byte
    expect(() => walk(Buffer.from([0x08, 0x80]))).to.throw(/truncated/); // unfinished varint
    expect(() => walk(Buffer.from([0x0b]))).to.throw(/wire type 3/); // start group
  });
});
