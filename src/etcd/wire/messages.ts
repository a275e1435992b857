/**
 * The etcd messages a probe round exchanges, in etcd's rpc.proto field numbers: request bodies
 * (gRPC-framed, built once where they never change) and the answers read in place into the shapes
 * grpc.ts's MemberClient gives (IDs as etcdctl's hex).
 */
import type { AlarmEntry, MemberListEntry, MemberStatusResponse } from '../grpc.js';
import { encodeMessage, ProtoReader } from './proto.js';

/** StatusRequest, MemberListRequest and AlarmRequest{action: GET}: all fields default, so empty. */
export const EMPTY_REQUEST = encodeMessage([]);

/** RangeRequest{key: "health", limit: 1, keys_only: true}: the read `etcdctl endpoint health` makes. */
export const HEALTH_READ_REQUEST = encodeMessage([Buffer.from('health'), undefined, 1, 0, 0, 0, false, true]);

/** ResponseHeader: cluster_id 1, member_id 2, revision 3. */
function header(r: ProtoReader, out: MemberStatusResponse): void {
  while (r.next()) {
    if (r.field === 1) out.clusterId = r.hex();
    else if (r.field === 2) out.memberId = r.hex();
    else if (r.field === 3) out.revision = r.uint();
  }
}

/** StatusResponse: header 1, version 2, dbSize 3, leader 4, raftIndex 5, raftTerm 6, raftAppliedIndex 7, errors 8, dbSizeInUse 9, isLearner 10. */
export function decodeStatus(m: Buffer): MemberStatusResponse {
  const out: MemberStatusResponse = {
    clusterId: '0',
    memberId: '0',
    leaderId: '0',
    version: '',
    dbSizeBytes: 0,
    dbSizeInUseBytes: 0,
    raftTerm: 0,
    raftIndex: 0,
    raftAppliedIndex: 0,
    isLearner: false,
    errors: [],
    revision: 0,
  };
  const r = new ProtoReader(m);
  while (r.next()) {
    switch (r.field) {
      case 1:
        header(r.message(), out);
        break;
      case 2:
        out.version = r.string();
        break;
      case 3:
        out.dbSizeBytes = r.uint();
        break;
      case 4:
        out.leaderId = r.hex();
        break;
      case 5:
        out.raftIndex = r.uint();
        break;
      case 6:
        out.raftTerm = r.uint();
        break;
      case 7:
        out.raftAppliedIndex = r.uint();
        break;
      case 8:
        out.errors.push(r.string());
        break;
      case 9:
        out.dbSizeInUseBytes = r.uint();
        break;
      case 10:
        out.isLearner = r.bool();
        break;
      default:
    }
  }
  return out;
}

/** MemberListResponse: members 2, each Member{ID 1, name 2, peerURLs 3, clientURLs 4, isLearner 5}. */
export function decodeMemberList(m: Buffer): MemberListEntry[] {
  const out: MemberListEntry[] = [];
  const r = new ProtoReader(m);
  while (r.next()) {
    if (r.field !== 2 || r.wire !== 2) continue;
    const e: MemberListEntry = { id: '0', name: '', peerURLs: [], clientURLs: [], isLearner: false };
    const f = r.message();
    while (f.next()) {
      if (f.field === 1) e.id = f.hex();
      else if (f.field === 2) e.name = f.string();
      else if (f.field === 3) e.peerURLs.push(f.string());
      else if (f.field === 4) e.clientURLs.push(f.string());
      else if (f.field === 5) e.isLearner = f.bool();
    }
    out.push(e);
  }
  return out;
}

/** AlarmResponse: alarms 2, each AlarmMember{memberID 1, alarm 2 (NONE 0, NOSPACE 1, CORRUPT 2)}. */
export function decodeAlarms(m: Buffer): AlarmEntry[] {
  const out: AlarmEntry[] = [];
  const r = new ProtoReader(m);
  while (r.next()) {
    if (r.field !== 2 || r.wire !== 2) continue;
    let memberId = '0';
    let alarm = 0;
    const f = r.message();
    while (f.next()) {
      if (f.field === 1) memberId = f.hex();
      else if (f.field === 2) alarm = f.uint();
    }
    if (alarm === 1) out.push({ memberId, type: 'NOSPACE' });
    else if (alarm === 2) out.push({ memberId, type: 'CORRUPT' });
  }
  return out;
}

/** DeleteRangeResponse: deleted 2. */
export function decodeDeleted(m: Buffer): number {
  const r = new ProtoReader(m);
  while (r.next()) if (r.field === 2) return r.uint();
  return 0;
}
