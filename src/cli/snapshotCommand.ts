/** `etcd-monitor snapshot save FILE` and `etcd-monitor snapshot verify FILE`. */
import { MemberClient } from '../etcd/grpc.js';
import { humanBytes } from '../health/format.js';
import { pickMember } from '../maintenance/backup.js';
import {
  SNAPSHOT_CHANNEL_OPTIONS,
  saveSnapshotFile,
  verifySnapshotFile,
  type SavedSnapshot,
  type VerifyResult,
} from '../maintenance/snapshot.js';
import {
  CONNECTION_FLAGS,
  UsageError,
  choiceFlag,
  connectionConfig,
  durationFlag,
  type ConnectionConfig,
  type Values,
} from './args.js';
import { runCommand, type CommandInfo } from './command.js';
import type { Io } from './io.js';
import { SNAPSHOT_USAGE } from './usage.js';

type MemberChoice = 'follower' | 'leader' | 'any';

const SAVE_FLAGS = {
  ...CONNECTION_FLAGS,
  member: { type: 'string' },
  'idle-timeout': { type: 'string' },
  'max-duration': { type: 'string' },
  json: { type: 'boolean' },
} as const;

const VERIFY_FLAGS = { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } as const;

const command = (flags: typeof SAVE_FLAGS | typeof VERIFY_FLAGS): CommandInfo => ({
  name: 'etcd-monitor snapshot',
  usage: SNAPSHOT_USAGE,
  flags,
  positionals: 1,
});

export async function runSnapshot(argv: string[], io: Io): Promise<number> {
  const [verb, ...rest] = argv;
  try {
    if (verb === undefined || verb === '--help' || verb === '-h') {
      (verb === undefined ? io.err : io.out)(SNAPSHOT_USAGE);
      return verb === undefined ? 2 : 0;
    }
    if (verb === 'save')
      return await runCommand(rest, io, command(SAVE_FLAGS), (v, [file]) => save(v, file, io));
    if (verb === 'verify')
      return await runCommand(rest, io, command(VERIFY_FLAGS), (v, [file]) => verify(v, file, io));
    throw new UsageError(`unknown snapshot command "${verb}" (save or verify)`);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`etcd-monitor snapshot: ${e.message}\n\n${SNAPSHOT_USAGE}`);
      return 2;
    }
    throw e;
  }
}

/** Pick the member to stream from (by role when several endpoints are given) and its current revision. */
async function pickFrom(
  cfg: ConnectionConfig,
  choice: MemberChoice,
): Promise<{ client: MemberClient; role: string; revision: number; others: MemberClient[] }> {
  const clients = cfg.endpoints.map((e) => new MemberClient(e, cfg.conn, SNAPSHOT_CHANNEL_OPTIONS));
  try {
    if (clients.length === 1) {
      const s = await clients[0]!.status(cfg.timeoutMs);
      return {
        client: clients[0]!,
        role: s.isLearner ? 'learner' : s.leaderId === s.memberId ? 'leader' : 'follower',
        revision: s.revision,
        others: [],
      };
    }
    const pick = await pickMember(clients, choice, cfg.timeoutMs);
    return {
      client: pick.client,
      role: pick.leader ? 'leader' : 'follower',
      revision: pick.revision,
      others: clients.filter((c) => c !== pick.client),
    };
  } catch (e) {
    for (const c of clients) c.close();
    throw e;
  }
}

async function save(values: Values, file: string | undefined, io: Io): Promise<number> {
  if (!file) throw new UsageError('snapshot save needs a FILE to write');
  const cfg = connectionConfig(values, io.env);
  const member = choiceFlag(values, 'member', ['follower', 'leader', 'any'] as const, 'follower');
  const idleTimeoutMs = durationFlag(values, 'idle-timeout', 30_000);
  const overallTimeoutMs = durationFlag(values, 'max-duration', 3_600_000);
  let picked;
  try {
    picked = await pickFrom(cfg, member);
  } catch (e) {
    io.err(`etcd-monitor snapshot save: ${(e as Error).message}`);
    return 1;
  }
  for (const c of picked.others) c.close();
  let res: SavedSnapshot;
  try {
    res = await saveSnapshotFile(picked.client, file, { idleTimeoutMs, overallTimeoutMs });
  } catch (e) {
    io.err(`etcd-monitor snapshot save: ${(e as Error).message}`);
    return 1;
  } finally {
    picked.client.close();
  }
  const rate = res.durationMs > 0 ? res.bytes / (res.durationMs / 1000) : 0;
  if (values.json) {
    io.out(
      JSON.stringify({
        file: res.file,
        endpoint: picked.client.endpoint.url,
        role: picked.role,
        sizeBytes: res.bytes,
        revision: picked.revision,
        sha256: res.sha256,
        durationSeconds: res.durationMs / 1000,
      }),
    );
  } else {
    io.out(
      [
        `Snapshot saved at ${res.file}`,
        `  from      ${picked.client.endpoint.url} (${picked.role})`,
        `  size      ${humanBytes(res.bytes)} (${res.bytes} bytes)`,
        `  revision  ${picked.revision} or later (the member's revision when the snapshot began)`,
        `  sha256    ${res.sha256} (etcd's trailing hash matched)`,
        `  took      ${(res.durationMs / 1000).toFixed(2)}s (${humanBytes(Math.round(rate))}/s)`,
      ].join('\n'),
    );
  }
  return 0;
}

async function verify(values: Values, file: string | undefined, io: Io): Promise<number> {
  if (!file) throw new UsageError('snapshot verify needs a FILE to check');
  let r: VerifyResult;
  try {
    r = await verifySnapshotFile(file);
  } catch (e) {
    io.err(
      `etcd-monitor snapshot verify: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
    return 1;
  }
  const s = r.summary;
  if (values.json) {
    io.out(
      JSON.stringify({
        file: r.file,
        ok: r.problem === undefined,
        problem: r.problem,
        fileBytes: r.fileBytes,
        hashMatched: r.hashMatched ?? null,
        sha256: r.sha256,
        revision: s?.revision,
        keys: s?.liveKeys,
        totalKey: s?.totalKey,
        totalSize: s?.totalSize,
        hash: s?.hash,
        buckets: s?.buckets,
      }),
    );
  } else {
    const lines = [
      `${r.problem === undefined ? 'OK' : 'CORRUPT'}  ${r.file}`,
      `  file      ${humanBytes(r.fileBytes)} (${r.fileBytes} bytes)`,
      `  sha256    ${r.sha256} (${r.hashMatched === undefined ? 'no trailing hash in the file' : r.hashMatched ? "matches etcd's trailing hash" : 'DOES NOT match the trailing hash'})`,
    ];
    if (s) {
      lines.push(
        `  revision  ${s.revision}`,
        `  keys      ${s.liveKeys} live (${s.totalKey} bbolt entries)`,
        `  size      ${s.totalSize} bytes (${s.meta.highWaterPgid} pages of ${s.meta.pageSize})`,
        `  hash      ${s.hash} (CRC-32C, as etcdutl snapshot status)`,
        `  buckets   ${s.buckets.join(', ')}`,
      );
      if (s.otherMetaError) lines.push(`  note      ${s.otherMetaError}`);
    }
    if (r.problem) lines.push(`  problem   ${r.problem}`);
    (r.problem === undefined ? io.out : io.err)(lines.join('\n'));
  }
  return r.problem === undefined ? 0 : 1;
}
