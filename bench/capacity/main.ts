/**
 * `npm run bench:capacity`: the memory the capacity history, the histogram windows and the advice cost per
 * cluster, at 1000 clusters of 3 members, once every history is full (SPEC §10: "keep enough history …
 * without growing memory per cluster past a stated bound"). The rounds are plain observations with real
 * etcd-shaped histograms (16 buckets, as etcd's fsync/commit/peer RTT families have), fed through the real
 * evaluate(), in two shapes: `full`, HISTORY_POINTS rounds 15 s apart (the history at its bound, just before
 * it first thins: the most it ever holds), and `aged`, 600 rounds 90 s apart (thinned to its 6 h span, as a
 * long-running monitor's is). The bound stated is the larger. Written to bench/results/capacity.json with
 * the machine noted. Run with --expose-gc (the npm script does).
 */
import fs from 'node:fs';
import v8 from 'node:v8';
import type { Histogram } from '../../src/etcd/memberMetrics.js';
import type { ClusterObservation } from '../../src/etcd/observation.js';
import { DEFAULT_THRESHOLDS, emptyMemory, evaluate, type Memory } from '../../src/health/evaluate.js';
import type { EtcdMonitorStatus } from '../../src/crd/types.js';
import { HISTORY_POINTS, pointCount } from '../../src/health/capacityHistory.js';
import { machineBasics } from '../lib/proc.js';

const CLUSTERS = Number(process.env.CLUSTERS ?? 1000);
const SHAPES = [
  { name: 'full', rounds: HISTORY_POINTS, stepMs: 15_000 },
  { name: 'aged', rounds: 600, stepMs: 90_000 },
] as const;
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

function observation(c: number, r: number, stepMs: number): ClusterObservation {
  const t = 1_700_000_000_000 + r * stepMs;
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

function measure(
  withPlanning: boolean,
  rounds: number,
  stepMs: number,
): { bytesPerCluster: number; points: number } {
  const memories: Memory[] = [];
  const statuses: Array<EtcdMonitorStatus | undefined> = [];
  for (let c = 0; c < CLUSTERS; c++) {
    memories.push(emptyMemory());
    statuses.push(undefined);
  }
  const before = heapUsed();
  for (let r = 0; r < rounds; r++)
    for (let c = 0; c < CLUSTERS; c++) {
      const e = evaluate(observation(c, r, stepMs), statuses[c], memories[c]!, {
        thresholds: DEFAULT_THRESHOLDS,
      });
      memories[c] = withPlanning ? e.memory : { ...e.memory, planning: emptyMemory().planning };
      statuses[c] = e.status;
    }
  const after = heapUsed();
  return {
    bytesPerCluster: (after - before) / CLUSTERS,
    points: pointCount(memories[0]!.planning.history),
  };
}

const shapes = SHAPES.map((shape) => {
  const without = measure(false, shape.rounds, shape.stepMs);
  const withPlanning = measure(true, shape.rounds, shape.stepMs);
  const perCluster = withPlanning.bytesPerCluster - without.bytesPerCluster;
  return {
    shape: shape.name,
    rounds: shape.rounds,
    roundStepSeconds: shape.stepMs / 1000,
    historyPointsKept: withPlanning.points,
    heapBytesPerClusterWithoutPlanning: Math.round(without.bytesPerCluster),
    heapBytesPerClusterWithPlanning: Math.round(withPlanning.bytesPerCluster),
    planningBytesPerCluster: Math.round(perCluster),
  };
});
const worst = Math.max(...shapes.map((x) => x.planningBytesPerCluster));
const result = {
  date: new Date().toISOString(),
  machine: machineBasics(),
  clusters: CLUSTERS,
  membersPerCluster: 3,
  historyPointsBound: HISTORY_POINTS,
  shapes,
  planningBytesPerCluster: worst,
  planningMiBAt1000Clusters: Math.round(((worst * 1000) / 1024 / 1024) * 10) / 10,
  target: { planningBytesPerClusterBelow: 32 * 1024 },
};
fs.mkdirSync('bench/results', { recursive: true });
fs.writeFileSync('bench/results/capacity.json', JSON.stringify(result, null, 2) + '\n');
console.log(JSON.stringify(result, null, 2));
