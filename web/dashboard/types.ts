/** The server's wire types (type-only: nothing of src/ is loaded by the browser). */
export type {
  ClusterStatus,
  ClusterSummary,
  HelloEvent,
  HistoryPoint,
  RemovedEvent,
  RoundEvent,
} from '../../src/api/dashboard/wire.js';
export type { Advice, CapacityStatus, Condition, MemberStatus, Phase } from '../../src/crd/types.js';
