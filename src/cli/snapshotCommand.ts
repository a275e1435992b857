/**
 * `etcd-monitor snapshot save FILE` and `etcd-monitor snapshot verify FILE`; `fetch` and `count` are the
 * operator's restore-test Job steps (controller/restoreJob.ts): an S3 object to a file, checked against its
 * `.sha256`, and the key count of the scratch etcd the snapshot was restored into.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { MemberClient } from '../etcd/grpc.js';
import { humanBytes } from '../health/format.js';
import { pickMember } from '../maintenance/backup.js';
import {
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
import { S3Store } from '../maintenance/stores.js';
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

const FETCH_FLAGS = {
  'backup-s3-endpoint': { type: 'string' },
  'backup-s3-bucket': { type: 'string' },
  'backup-s3-prefix': { type: 'string' },
  'backup-s3-region': { type: 'string' },
  'backup-s3-virtual-hosted': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const COUNT_FLAGS = {
  ...CONNECTION_FLAGS,
  wait: { type: 'string' },
  'result-file': { type: 'string' },
} as const;

const command = (
  flags: typeof SAVE_FLAGS | typeof VERIFY_FLAGS | typeof FETCH_FLAGS | typeof COUNT_FLAGS,
  positionals = 1,
): CommandInfo => ({
  name: 'etcd-monitor snapshot',
  usage: SNAPSHOT_USAGE,
  flags,
  positionals,
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
    if (verb === 'fetch')
      return await runCommand(rest, io, command(FETCH_FLAGS, 2), (v, [name, file]) =>
        fetch(v, name, file, io),
      );
    if (verb === 'count') return await runCommand(rest, io, command(COUNT_FLAGS, 0), (v) => count(v, io));
    throw new UsageError(`unknown snapshot command "${verb}" (save, verify, fetch or count)`);
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
  const clients = cfg.endpoints.map((e) => new MemberClient(e, cfg.conn));
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

/** An S3 object (a stored snapshot) to FILE, through the store the backups use; its `.sha256` must match. */
async function fetch(
  values: Values,
  name: string | undefined,
  file: string | undefined,
  io: Io,
): Promise<number> {
  if (!name || !file) throw new UsageError('snapshot fetch needs an object NAME and a FILE to write');
  const bucket = values['backup-s3-bucket'];
  if (typeof bucket !== 'string') throw new UsageError('snapshot fetch needs --backup-s3-bucket');
  const opt = (k: keyof typeof FETCH_FLAGS): string | undefined =>
    typeof values[k] === 'string' ? values[k] : undefined;
  const store = new S3Store({
    endpoint: opt('backup-s3-endpoint'),
    bucket,
    prefix: opt('backup-s3-prefix'),
    region: opt('backup-s3-region'),
    forcePathStyle: values['backup-s3-virtual-hosted'] !== true,
    credentials: () => {
      const accessKeyId = io.env.ETCD_MONITOR_BACKUP_S3_ACCESS_KEY_ID;
      const secretAccessKey = io.env.ETCD_MONITOR_BACKUP_S3_SECRET_ACCESS_KEY;
      if (!accessKeyId || !secretAccessKey)
        return Promise.reject(
          new Error(
            'no S3 credentials: set ETCD_MONITOR_BACKUP_S3_ACCESS_KEY_ID and ETCD_MONITOR_BACKUP_S3_SECRET_ACCESS_KEY',
          ),
        );
      return Promise.resolve({ accessKeyId, secretAccessKey });
    },
  });
  try {
    const want = (await store.withLocalCopy(`${name}.sha256`, (f) => fs.promises.readFile(f, 'utf8'))).split(
      /\s+/,
    )[0];
    const got = await store.withLocalCopy(name, async (f) => {
      const h = createHash('sha256');
      await pipeline(fs.createReadStream(f), h);
      await fs.promises.copyFile(f, file);
      await fs.promises.chmod(file, 0o600);
      return h.digest('hex');
    });
    if (got !== want) {
      await fs.promises.rm(file, { force: true });
      io.err(
        `etcd-monitor snapshot fetch: ${store.url(name)} has sha256 ${got}, its .sha256 says ${want ?? 'nothing'}`,
      );
      return 1;
    }
    io.out(JSON.stringify({ file, location: store.url(name), sha256: got }));
    return 0;
  } catch (e) {
    io.err(`etcd-monitor snapshot fetch: ${(e as Error).message}`);
    return 1;
  } finally {
    store.close();
  }
}

/**
 * The live keys and revision of the (scratch) etcd at --endpoints, asked until it answers or --wait ends;
 * one JSON line on stdout and in --result-file (a container's termination message), or the error there.
 */
async function count(values: Values, io: Io): Promise<number> {
  const cfg = connectionConfig(values, io.env);
  const waitMs = durationFlag(values, 'wait', 120_000);
  const resultFile = typeof values['result-file'] === 'string' ? values['result-file'] : undefined;
  const endpoint = cfg.endpoints[0];
  if (!endpoint) throw new UsageError('snapshot count needs --endpoints');
  const c = new MemberClient(endpoint, cfg.conn);
  const deadline = Date.now() + waitMs;
  let result: string;
  let code = 0;
  try {
    for (;;) {
      try {
        result = JSON.stringify(await c.countKeys(Math.min(cfg.timeoutMs, 5000)));
        io.out(result);
        break;
      } catch (e) {
        if (Date.now() > deadline) {
          result = `etcd at ${endpoint.url} did not answer within ${waitMs / 1000}s: ${(e as Error).message}`;
          io.err(`etcd-monitor snapshot count: ${result}`);
          code = 1;
          break;
        }
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  } finally {
    c.close();
  }
  if (resultFile) await fs.promises.writeFile(resultFile, result);
  return code;
}
