/** Plain-data builders for verdict tests. */
import type { MemberListEntry, MemberStatusResponse } from '../../src/etcd/grpc.js';
import type { ClusterObservation, MemberObservation } from '../../src/etcd/observation.js';

export const IDS = ['a1', 'b2', 'c3', 'd4', 'e5'];

export interface MemberSpec {
  up?: boolean;
  leader?: string;
  term?: number;
  index?: number;
  learner?: boolean;
  healthError?: string;
  alarms?: Array<'NOSPACE' | 'CORRUPT'>;
  dbSize?: number;
  latencyMs?: number;
}

export function status(id: string, s: MemberSpec): MemberStatusResponse {
  return {
    clusterId: 'cafe',
    memberId: id,
    leaderId: s.leader ?? 'a1',
    version: '3.5.17',
    dbSizeBytes: s.dbSize ?? 20480,
    dbSizeInUseBytes: 16384,
    raftTerm: s.term ?? 2,
    raftIndex: s.index ?? 100,
    raftAppliedIndex: s.index ?? 100,
    isLearner: s.learner ?? false,
    errors: [],
    revision: 1,
  };
}

export function observe(specs: MemberSpec[], time = 1_700_000_000_000): ClusterObservation {
  const members: MemberObservation[] = specs.map((s, i) => {
    const id = IDS[i]!;
    const endpoint = `http://127.0.0.1:${2379 + i * 10000}`;
    if (s.up === false) {
      return {
        endpoint,
        healthChecked: true,
        statusError: 'DEADLINE_EXCEEDED',
        healthError: 'DEADLINE_EXCEEDED',
        alarmsError: 'DEADLINE_EXCEEDED',
      };
    }
    const o: MemberObservation = {
      endpoint,
      status: status(id, s),
      healthChecked: true,
      healthLatencyMs: s.latencyMs ?? 2,
      alarms: (s.alarms ?? []).map((type) => ({ memberId: id, type })),
    };
    if (s.healthError) o.healthError = s.healthError;
    return o;
  });
  const memberList: MemberListEntry[] = specs.map((s, i) => ({
    id: IDS[i]!,
    name: `etcd${i + 1}`,
    peerURLs: [],
    clientURLs: [`http://127.0.0.1:${2379 + i * 10000}`],
    isLearner: s.learner ?? false,
  }));
  return { time, members, memberList };
}
