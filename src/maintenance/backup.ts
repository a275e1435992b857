/**
 * One backup run: choose the member, take its revision, stream its snapshot into the store (etcd's
 * hash checked on the way), then apply retention. No Kubernetes, no clock of its own (`now` passed in).
 */
import type { MemberClient } from '../etcd/grpc.js';
import { objectName, retentionPlan, type Retention } from './retention.js';
import { checkWritten, SnapshotError, streamSnapshot, type StreamOptions } from './snapshot.js';
import { blockingErrors } from './statusErrors.js';
import type { SnapshotStore } from './stores.js';

export type MemberPreference = 'follower' | 'leader' | 'any';

export interface BackupRequest {
  cluster: string;
  clients: MemberClient[];
  member: MemberPreference;
  store: SnapshotStore;
  retention: Retention;
  timeoutMs: number;
  stream: StreamOptions;
  now: () => Date;
  /** Stop the run (this replica no longer owns the cluster): nothing is stored, retention does not run. */
  signal?: AbortSignal;
}

export interface BackupOutcome {
  name: string;
  location: string;
  endpoint: string;
  role: 'leader' | 'follower';
  sizeBytes: number;
  /** The member's revision when the snapshot began; the snapshot holds every change up to at least it. */
  revision: number;
  sha256: string;
  durationSeconds: number;
  retained: number;
  removed: string[];
}

export interface Candidate {
  client: MemberClient;
  leader: boolean;
  revision: number;
}

/** Members answering Status without errors, not learners, agreeing there is a leader. */
async function candidates(
  clients: MemberClient[],
  timeoutMs: number,
): Promise<{ ok: Candidate[]; errors: string[] }> {
  const errors: string[] = [];
  const answers = await Promise.all(
    clients.map(async (client): Promise<Candidate | undefined> => {
      try {
        const s = await client.status(timeoutMs);
        if (s.isLearner) return undefined;
        if (s.leaderId === '0') {
          errors.push(`${client.endpoint.url}: no leader`);
          return undefined;
        }
        const blocking = blockingErrors(s.errors);
        if (blocking.length > 0) {
          errors.push(`${client.endpoint.url}: ${blocking.join('; ')}`);
          return undefined;
        }
        return { client, leader: s.leaderId === s.memberId, revision: s.revision };
      } catch (e) {
        errors.push((e as Error).message);
        return undefined;
      }
    }),
  );
  return { ok: answers.filter((a): a is Candidate => a !== undefined), errors };
}

/** The member to stream from: a healthy follower by default (the leader only if none), or as asked. */
export function choose(ok: Candidate[], pref: MemberPreference): Candidate | undefined {
  if (pref === 'leader') return ok.find((c) => c.leader);
  if (pref === 'follower') return ok.find((c) => !c.leader) ?? ok.find((c) => c.leader);
  return ok[0];
}

/** Ask every member for its Status and pick one by preference; throws a SnapshotError saying why none fits. */
export async function pickMember(
  clients: MemberClient[],
  pref: MemberPreference,
  timeoutMs: number,
): Promise<Candidate> {
  const { ok, errors } = await candidates(clients, timeoutMs);
  const pick = choose(ok, pref);
  if (!pick) {
    throw new SnapshotError(
      `no healthy ${pref === 'any' ? 'member' : pref} to take a snapshot from${errors.length ? `: ${errors.join('; ')}` : ''}`,
      'Unavailable',
    );
  }
  return pick;
}

export async function runBackup(req: BackupRequest): Promise<BackupOutcome> {
  const pick = await pickMember(req.clients, req.member, req.timeoutMs);
  const started = req.now();
  const name = objectName(req.cluster, started, pick.revision);
  const res = await req.store.put(name, async (sink, localPath) => {
    const r = await streamSnapshot(pick.client, sink, { ...req.stream, signal: req.signal });
    // A local file can be read back before it is renamed into place: its meta pages must check out.
    if (localPath) checkWritten(localPath, r, pick.client);
    return r;
  });
  // Stopped after the object was committed: it stays (it is a good snapshot), but another replica owns the
  // cluster now, so this one deletes nothing.
  if (req.signal?.aborted)
    throw new SnapshotError(
      `${req.store.url(name)} was stored, then the run was stopped before retention`,
      'Cancelled',
    );
  const all = await req.store.list(req.cluster);
  const plan = retentionPlan(all, req.retention, req.now());
  const removed: string[] = [];
  for (const o of plan.remove) {
    await req.store.remove(o.name);
    removed.push(o.name);
  }
  return {
    name,
    location: req.store.url(name),
    endpoint: pick.client.endpoint.url,
    role: pick.leader ? 'leader' : 'follower',
    sizeBytes: res.bytes,
    revision: pick.revision,
    sha256: res.sha256,
    durationSeconds: res.durationMs / 1000,
    retained: plan.keep.length,
    removed,
  };
}
