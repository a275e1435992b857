/**
 * Snapshots of a monitored cluster: stream `Maintenance.Snapshot` from one member, check etcd's trailing
 * SHA-256 while the bytes pass through (memory stays flat whatever the DB size), and hand the bytes to a
 * sink that commits only when the hash matched (a file renamed into place, an S3 upload completed).
 * Also the offline check of a saved file: trailing hash, then the bbolt structure itself.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { Transform, type TransformCallback, type Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { MemberClient } from '../etcd/grpc.js';
import type { SnapshotStream } from '../etcd/snapshotStream.js';
import { WriteFileError, writeFileAtomically as writeAtomically } from './atomicFile.js';
import { HASH_BYTES, TrailingHash } from './trailingHash.js';
import { readBolt, readBoltMeta, type BoltMeta, type BoltSummary } from './bbolt.js';

const PROGRESS_EVERY_BYTES = 1 << 20;

export class SnapshotError extends Error {
  constructor(
    message: string,
    readonly reason:
      'Unavailable' | 'Stalled' | 'HashMismatch' | 'Truncated' | 'Write' | 'Corrupt' | 'Cancelled',
  ) {
    super(message);
  }
}

export interface StreamOptions {
  /** Abort when no chunk arrived for this long (the member stalled or the network hangs). */
  idleTimeoutMs: number;
  /** Hard upper bound for the whole transfer. */
  overallTimeoutMs: number;
  onProgress?: (receivedBytes: number, totalBytes: number | undefined) => void;
  /** Stop the transfer (this replica no longer owns the cluster): the run fails with reason Cancelled. */
  signal?: AbortSignal;
}

export interface StreamResult {
  /** Bytes written to the sink: the database followed by its 32-byte SHA-256. */
  bytes: number;
  /** Hex SHA-256 of the database part (equals the trailing 32 bytes). */
  sha256: string;
  durationMs: number;
}

/**
 * Passes every byte through and keeps the newest 32 back for comparison: the SHA-256 of everything
 * before them must equal them, checked at the end before the stream is declared finished.
 */
export class TrailingHashCheck extends Transform {
  private readonly check = new TrailingHash();

  get bytes(): number {
    return this.check.bytes;
  }

  get digest(): string {
    return this.check.digest;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.check.update(chunk);
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    const problem = this.check.verify();
    cb(problem && new SnapshotError(problem.message, problem.reason));
  }
}

/**
 * Stream one member's snapshot into `sink`; rejects (and destroys the sink) unless etcd's hash matched.
 * No stream stages in between: each piece of blob (a view of the received bytes) is hashed and handed to
 * the sink as it is; the sink's buffer coalesces what arrives while a write is in flight (one writev),
 * and when it is full the transfer pauses (HTTP/2 flow control then holds the member back).
 */
export async function streamSnapshot(
  client: MemberClient,
  sink: Writable,
  opts: StreamOptions,
): Promise<StreamResult> {
  const started = Date.now();
  const check = new TrailingHash();
  const t: Transfer = { lastData: Date.now(), stalled: false };
  // Errors reach us through the transfer and `finished`; this keeps a late one (after we destroyed the
  // sink) from being an unhandled 'error' event.
  const ignore = (): void => undefined;
  sink.on('error', ignore);
  // One timer that re-arms itself for the rest of the idle window, instead of a new one per chunk.
  let idle: NodeJS.Timeout | undefined;
  const watch = (ms: number): void => {
    idle = setTimeout(() => {
      const quiet = Date.now() - t.lastData;
      if (quiet < opts.idleTimeoutMs) watch(opts.idleTimeoutMs - quiet);
      else {
        t.stalled = true;
        t.stream?.cancel();
      }
    }, ms);
  };
  const onAbort = (): void => {
    t.cancelled = true;
    t.stream?.cancel();
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    if (opts.signal?.aborted) onAbort();
    await transfer(client, sink, check, opts, t, () => {
      if (t.cancelled) t.stream?.cancel();
      watch(opts.idleTimeoutMs);
    });
    const problem = check.verify();
    if (problem) throw new SnapshotError(problem.message, problem.reason);
    sink.end();
    await finished(sink);
    sink.off('error', ignore);
  } catch (e) {
    sink.destroy(e as Error);
    if (t.cancelled)
      throw new SnapshotError(
        `snapshot from ${client.endpoint.url} stopped before it completed`,
        'Cancelled',
      );
    if (e instanceof SnapshotError) throw e;
    if (t.stalled)
      throw new SnapshotError(
        `snapshot from ${client.endpoint.url} stalled: no data for ${opts.idleTimeoutMs / 1000}s`,
        'Stalled',
      );
    const err = client.describeError(e, 'maintenance.snapshot');
    throw new SnapshotError(
      err.message,
      /EACCES|ENOSPC|EROFS|EIO|write/i.test(err.message) ? 'Write' : 'Unavailable',
    );
  } finally {
    clearTimeout(idle);
    opts.signal?.removeEventListener('abort', onAbort);
    t.stream?.cancel();
  }
  return { bytes: check.bytes, sha256: check.digest, durationMs: Date.now() - started };
}

interface Transfer {
  stream?: SnapshotStream;
  lastData: number;
  stalled: boolean;
  cancelled?: boolean;
}

/** Run the call into `sink` (hashing on the way); resolves when the call ended with status OK. */
function transfer(
  client: MemberClient,
  sink: Writable,
  check: TrailingHash,
  opts: StreamOptions,
  t: Transfer,
  started: () => void,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let paused = false;
    let reported = 0;
    const onDrain = (): void => {
      paused = false;
      t.stream?.resume();
    };
    const onClose = (): void => done(new Error('the snapshot sink closed before the stream ended (write)'));
    const done = (e?: Error): void => {
      sink.off('drain', onDrain).off('error', done).off('close', onClose);
      if (e) reject(e);
      else resolve();
    };
    sink.on('drain', onDrain).once('error', done).once('close', onClose);
    const progress = (): void => {
      reported = check.bytes;
      opts.onProgress?.(check.bytes, t.stream?.totalBytes);
    };
    const handlers = {
      data: (b: Buffer): void => {
        t.lastData = Date.now();
        check.update(b);
        if (opts.onProgress && check.bytes - reported >= PROGRESS_EVERY_BYTES) progress();
        if (!sink.write(b) && !paused) {
          paused = true;
          t.stream?.pause();
        }
      },
      end: (e?: Error): void => {
        if (!e && opts.onProgress && check.bytes > reported) progress();
        done(e);
      },
    };
    client.snapshotStream(opts.overallTimeoutMs, handlers).then(
      (s) => {
        t.stream = s;
        if (paused) s.pause();
        started();
      },
      (e: unknown) =>
        done(new SnapshotError(client.describeError(e, 'maintenance.snapshot').message, 'Unavailable')),
    );
  });
}

export interface SavedSnapshot extends StreamResult {
  file: string;
  meta: BoltMeta;
}

/**
 * Save a snapshot to `file` atomically: written to a hidden temporary name beside it with mode 0600,
 * fsynced, renamed into place only when etcd's hash matched and both bbolt meta pages' checksums read
 * back (the full page walk is `verifySnapshotFile`), then the directory fsynced. On any failure the temporary file is removed and `file` is untouched.
 */
export async function saveSnapshotFile(
  client: MemberClient,
  file: string,
  opts: StreamOptions,
): Promise<SavedSnapshot> {
  return writeFileAtomically(file, async (out, tmp) => {
    const res = await streamSnapshot(client, out, opts);
    return { ...res, file, meta: checkWritten(tmp, res, client) };
  });
}

/** The meta pages of a just-written snapshot, or a SnapshotError('Corrupt'). */
export function checkWritten(tmp: string, res: StreamResult, client: MemberClient): BoltMeta {
  try {
    return readBoltMeta(tmp, res.bytes - HASH_BYTES).meta;
  } catch (e) {
    throw new SnapshotError(
      `snapshot from ${client.endpoint.url} passed etcd's hash but is not a bbolt file: ${(e as Error).message}`,
      'Corrupt',
    );
  }
}

/**
 * Run `write` against a 0600 stream to a temporary name beside `file`; when it resolves (and the stream
 * has fsynced and closed), rename into place and fsync the directory. When it rejects, nothing remains.
 */
export async function writeFileAtomically<T>(
  file: string,
  write: (out: Writable, tmpPath: string) => Promise<T>,
): Promise<T> {
  try {
    return await writeAtomically(file, write);
  } catch (e) {
    if (e instanceof WriteFileError) throw new SnapshotError(e.message, 'Write');
    // A write that failed half-way (a full volume, an I/O error): say which file; its partial copy is gone.
    if (e instanceof SnapshotError && e.reason === 'Write')
      throw new SnapshotError(`cannot write ${file}: ${e.message} (the partial file was removed)`, 'Write');
    throw e;
  }
}

export interface VerifyResult {
  file: string;
  fileBytes: number;
  /** true: etcd's trailing hash matched; false: it did not; undefined: the file carries none (etcdutl's rule: size % 512 == 32). */
  hashMatched: boolean | undefined;
  sha256: string;
  summary?: BoltSummary;
  /** Why the file is not a sound snapshot (absent when it is). */
  problem?: string;
}

/** Check a saved snapshot offline: etcd's trailing SHA-256 (when present), then the bbolt file itself. */
export async function verifySnapshotFile(file: string): Promise<VerifyResult> {
  const st = await fs.promises.stat(file);
  const hasHash = st.size % 512 === HASH_BYTES;
  const dataBytes = hasHash ? st.size - HASH_BYTES : st.size;
  const h = createHash('sha256');
  if (dataBytes > 0) {
    for await (const c of fs.createReadStream(file, { start: 0, end: dataBytes - 1 })) h.update(c as Buffer);
  }
  const sha256 = h.digest('hex');
  let hashMatched: boolean | undefined;
  if (hasHash) {
    const tail = Buffer.alloc(HASH_BYTES);
    const fd = await fs.promises.open(file, 'r');
    try {
      await fd.read(tail, 0, HASH_BYTES, dataBytes);
    } finally {
      await fd.close();
    }
    hashMatched = tail.toString('hex') === sha256;
  }
  const out: VerifyResult = { file, fileBytes: st.size, hashMatched, sha256 };
  if (hashMatched === false)
    out.problem = `SHA-256 of the database part is ${sha256}, the file's trailing hash says otherwise: the file was altered or truncated`;
  try {
    out.summary = readBolt(file, dataBytes);
  } catch (e) {
    out.problem ??= `not a sound bbolt database: ${(e as Error).message}`;
  }
  return out;
}
