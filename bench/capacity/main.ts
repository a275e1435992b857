/**
 * `npm run bench:capacity`: the memory the capacity history, the histogram windows and the advice cost per
 * cluster, at 1000 clusters of 3 members, once every history is full (SPEC §10: "keep enough history …
 * without growing memory per cluster past a stated bound"). The rounds are plain observations with real
 * etcd-shaped histograms (16 buckets, as etcd's fsync/commit/peer RTT families have), fed through the real
 * evaluate(); time advances 90 s per round so every history thins to its 6 h span. Written to
 * bench/results/capacity.json with the machine noted. Run with --expose-gc (the npm script does).
 */
import fs from 'node:fs';
import v8 from 'node:v8';
import type { Histogram } from '../../src/etcd/memberMetrics.js';
import type { ClusterObservation } from '../../src/etcd/observation.js';
import { DEFAULT_THRESHOLDS, emptyMemory, evaluate, type Memory } from '../../src/health/evaluate.js';
import type { EtcdMonitorStatus } from '../../src/crd/types.js';
import { HISTORY_POINTS } from '../../src/health/capacityHistory.js';
import { machineBasics } from '../lib/proc.js';

const CLUSTERS = Number(process.env.CLUSTERS ?? 1000);
const ROUNDS = Number(process.env.ROUNDS ?? 600);
const STEP_MS = 90_000;
const BOUNDS = Array.from({ length: 15 }, (_, i) => 0.001 * 2 ** i).concat([Infinity]);

function hist(n: number): Histogram {
  return {
    buckets: BOUNDS.map((le, i) => [
      le,
      Math.min(n, Math.round(n * (1 - 0.5 ** (i + 1))) + (le === Infinity ? n : 0)),
    ]),
    count: n,
    sum: n * 0.002,
  };
}

function observation(c: number, r: number): ClusterObservation {
  const t = 1_700_000_000_000 + r * STEP_MS;
  const ids = ['a1', 'b2', 'c3'].map((x) => `${x}${c}`);
  return {
    time: t,
    members: ids.map((id, i) => ({
      endpoint: `http://10.0.${c % 250}.${i + 1}:2379`,
      healthChecked: true,
      healthLatencyMs: 2,
      status: {
        clusterId: `c${c}`,
        memberId: id,
        leaderId: ids[0]!,
        version: '3.5.17',
        dbSizeBytes: 50_000_000 + r * 1000,
        dbSizeInUseBytes: 40_000_000,
        raftTerm: 2,
        raftIndex: 1000 + r,
        raftAppliedIndex: 1000 + r,
        isLearner: false,
        errors: [],
        revision: 500 + r * 10,
      },
      alarms: [],
      metrics: {
        walFsync: hist(r * 100),
        backendCommit: hist(r * 100),
        peerRtt: hist(r * 20),
        quotaBackendBytes: 2 * 1024 ** 3,
        grpcHandledTotal: r * 5000,
      },
    })),
    memberList: ids.map((id, i) => ({
      id,
      name: `etcd${i + 1}`,
      peerURLs: [],
      clientURLs: [`http://10.0.${c % 250}.${i + 1}:2379`],
      isLearner: false,
    })),
  };
}

function heapUsed(): number {
  (globalThis as { gc?: () => void }).gc?.();
  (globalThis as { gc?: () => void }).gc?.();
  return v8.getHeapStatistics().used_heap_size;
}

function measure(withPlanning: boolean): { bytesPerCluster: number; points: number } {
  const memories: Memory[] = [];
  const statuses: Array<EtcdMonitorStatus | undefined> = [];
  for (let c = 0; c < CLUSTERS; c++) {
    memories.push(emptyMemory());
    statuses.push(undefined);
  }
  const before = heapUsed();
  for (let r = 0; r < ROUNDS; r++)
    for (let c = 0; c < CLUSTERS; c++) {
      const e = evaluate(observation(c, r), statuses[c], memories[c]!, { thresholds: DEFAULT_THRESHOLDS });
      memories[c] = withPlanning ? e.memory : { ...e.memory, planning: emptyMemory().planning };
      statuses[c] = e.status;
    }
  const after = heapUsed();
  return {
    bytesPerCluster: (after - before) / CLUSTERS,
    points: memories[0]!.planning.history.points.length,
  };
}

const without = measure(false);
const withPlanning = measure(true);
const perCluster = withPlanning.bytesPerCluster - without.bytesPerCluster;
const result = {
  date: new Date().toISOString(),
  machine: machineBasics(),
  clusters: CLUSTERS,
  membersPerCluster: 3,
  rounds: ROUNDS,
  roundStepSeconds: STEP_MS / 1000,
  historyPointsKept: withPlanning.points,
  historyPointsBound: HISTORY_POINTS,
  heapBytesPerClusterWithoutPlanning: Math.round(without.bytesPerCluster),
  heapBytesPerClusterWithPlanning: Math.round(withPlanning.bytesPerCluster),
  planningBytesPerCluster: Math.round(perCluster),
  planningMiBAt1000Clusters: Math.round(((perCluster * 1000) / 1024 / 1024) * 10) / 10,
  target: { planningBytesPerClusterBelow: 32 * 1024 },
};
fs.mkdirSync('bench/results', { recursive: true });
fs.writeFileSync('bench/results/capacity.json', JSON.stringify(result, null, 2) + '\n');
console.log(JSON.stringify(result, null, 2));
