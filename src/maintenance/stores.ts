/**
 * Where backups go: a local folder (a mounted volume) or an S3 bucket. Both commit a snapshot only when
 * the writer resolved (etcd's hash matched): a renamed file, a completed multipart upload. Each keeps a
 * `.sha256` object beside the snapshot (`sha256sum -c` format) that marks it verified.
 */
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { PassThrough, Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { writeFileAtomically } from './snapshot.js';
import { clusterPath, parseObjectName, type BackupObject } from './retention.js';

export interface SnapshotStore {
  /** Where a name ends up, for status.backup.location (no credentials in it). */
  url(name: string): string;
  /** Stream into `name`; the object exists only if `write` resolves. Then writes `<name>.sha256`. */
  put<T extends { sha256: string }>(
    name: string,
    write: (sink: Writable, localPath?: string) => Promise<T>,
  ): Promise<T>;
  list(cluster: string): Promise<BackupObject[]>;
  remove(name: string): Promise<void>;
  /** Run `use` on a local file holding the object (the file itself, or a temporary download removed after). */
  withLocalCopy<T>(name: string, use: (file: string) => Promise<T>): Promise<T>;
}

function shaLine(name: string, sha256: string): string {
  return `${sha256}  ${path.posix.basename(name)}\n`;
}

export class LocalStore implements SnapshotStore {
  constructor(readonly root: string) {}

  url(name: string): string {
    return path.join(this.root, name);
  }

  async put<T extends { sha256: string }>(
    name: string,
    write: (sink: Writable, localPath?: string) => Promise<T>,
  ): Promise<T> {
    const file = this.url(name);
    await fs.promises.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    const res = await writeFileAtomically(file, (out, tmp) => write(out, tmp));
    await writeFileAtomically(`${file}.sha256`, async (out) => {
      out.write(shaLine(name, res.sha256));
    });
    return res;
  }

  async list(cluster: string): Promise<BackupObject[]> {
    const dir = path.join(this.root, clusterPath(cluster));
    let entries: string[];
    try {
      entries = await fs.promises.readdir(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    const names = new Set(entries);
    const out: BackupObject[] = [];
    for (const base of entries) {
      const parsed = parseObjectName(base);
      if (!parsed) continue;
      const st = await fs.promises.stat(path.join(dir, base));
      out.push({
        name: `${clusterPath(cluster)}/${base}`,
        ...parsed,
        sizeBytes: st.size,
        verified: names.has(`${base}.sha256`),
      });
    }
    return out;
  }

  withLocalCopy<T>(name: string, use: (file: string) => Promise<T>): Promise<T> {
    return use(this.url(name));
  }

  async remove(name: string): Promise<void> {
    // The marker first: a half-removed snapshot must not look verified.
    await fs.promises.rm(`${this.url(name)}.sha256`, { force: true });
    await fs.promises.rm(this.url(name), { force: true });
  }
}

export interface S3Settings {
  endpoint?: string;
  bucket: string;
  prefix?: string;
  region?: string;
  forcePathStyle?: boolean;
  /** Asked before every request, so rotated credentials are used without a restart. */
  credentials: () => Promise<{ accessKeyId: string; secretAccessKey: string }>;
  /** Extra CA bundle (PEM) for an https endpoint with a private CA. */
  ca?: Buffer;
  /** Multipart part size (default 8 MiB; S3's minimum is 5 MiB). */
  partSizeBytes?: number;
}

type S3Module = typeof import('@aws-sdk/client-s3');

/**
 * S3 (or any S3-compatible server). The AWS SDK is loaded only when an S3 destination is configured.
 * Memory stays flat: lib-storage's multipart upload holds at most `queueSize` parts of `partSizeBytes`.
 */
export class S3Store implements SnapshotStore {
  private mod?: S3Module;
  private client?: import('@aws-sdk/client-s3').S3Client;

  constructor(readonly s: S3Settings) {}

  private key(name: string): string {
    return `${this.s.prefix ?? ''}${name}`;
  }

  url(name: string): string {
    return `s3://${this.s.bucket}/${this.key(name)}`;
  }

  private async sdk(): Promise<{ m: S3Module; c: import('@aws-sdk/client-s3').S3Client }> {
    if (!this.mod || !this.client) {
      const m = await import('@aws-sdk/client-s3');
      // The SDK takes its HTTP handler's options as a plain object; a private CA goes into the agent.
      const requestHandler = this.s.ca
        ? { httpsAgent: new (await import('node:https')).Agent({ ca: this.s.ca, keepAlive: true }) }
        : undefined;
      this.mod = m;
      this.client = new m.S3Client({
        endpoint: this.s.endpoint,
        region: this.s.region ?? 'us-east-1',
        forcePathStyle: this.s.forcePathStyle ?? true,
        // The SDK memoizes credentials until they expire: a near expiry makes it ask again for every
        // request, so a rotated Secret is used at once.
        credentials: async () => ({
          ...(await this.s.credentials()),
          expiration: new Date(Date.now() + 60_000),
        }),
        // One attempt: a failed backup is reported and retried at the next slot, never hidden.
        maxAttempts: 1,
        ...(requestHandler ? { requestHandler } : {}),
      });
    }
    return { m: this.mod, c: this.client };
  }

  async put<T extends { sha256: string }>(name: string, write: (sink: Writable) => Promise<T>): Promise<T> {
    const { m, c } = await this.sdk();
    const { Upload } = await import('@aws-sdk/lib-storage');
    const body = new PassThrough({ highWaterMark: 1 << 20 });
    const upload = new Upload({
      client: c,
      params: {
        Bucket: this.s.bucket,
        Key: this.key(name),
        Body: body,
        ContentType: 'application/octet-stream',
      },
      queueSize: 2,
      partSize: this.s.partSizeBytes ?? 8 << 20,
      leavePartsOnError: false,
    });
    // An upload that fails first (credentials, bucket, network) stops consuming the body, which then
    // breaks the writer: report the upload's reason, not the writer's "aborted".
    let uploadError: unknown;
    const uploaded = upload.done().catch((e: unknown) => {
      uploadError ??= e;
      throw e;
    });
    uploaded.catch(() => undefined);
    let res: T;
    try {
      res = await write(body);
    } catch (e) {
      const first = uploadError;
      body.destroy();
      await upload.abort().catch(() => undefined);
      await uploaded.catch(() => undefined);
      if (first !== undefined)
        throw new Error(`upload to ${this.url(name)} failed: ${describeS3Error(first)}`);
      throw e;
    }
    try {
      await uploaded;
    } catch (e) {
      throw new Error(`upload to ${this.url(name)} failed: ${describeS3Error(e)}`);
    }
    try {
      await c.send(
        new m.PutObjectCommand({
          Bucket: this.s.bucket,
          Key: `${this.key(name)}.sha256`,
          Body: shaLine(name, res.sha256),
          ContentType: 'text/plain',
        }),
      );
    } catch (e) {
      throw new Error(`writing ${this.url(name)}.sha256 failed: ${describeS3Error(e)}`);
    }
    return res;
  }

  async list(cluster: string): Promise<BackupObject[]> {
    const { m, c } = await this.sdk();
    const dir = `${clusterPath(cluster)}/`;
    const found = new Map<string, { size: number }>();
    let token: string | undefined;
    try {
      do {
        const r = await c.send(
          new m.ListObjectsV2Command({
            Bucket: this.s.bucket,
            Prefix: this.key(dir),
            ContinuationToken: token,
          }),
        );
        for (const o of r.Contents ?? [])
          if (o.Key) found.set(o.Key.slice((this.s.prefix ?? '').length), { size: o.Size ?? 0 });
        token = r.IsTruncated ? r.NextContinuationToken : undefined;
      } while (token);
    } catch (e) {
      throw new Error(`listing ${this.url(dir)} failed: ${describeS3Error(e)}`);
    }
    const out: BackupObject[] = [];
    for (const [name, o] of found) {
      const parsed = parseObjectName(path.posix.basename(name));
      if (!parsed || path.posix.dirname(name) !== clusterPath(cluster)) continue;
      out.push({ name, ...parsed, sizeBytes: o.size, verified: found.has(`${name}.sha256`) });
    }
    return out;
  }

  async remove(name: string): Promise<void> {
    const { m, c } = await this.sdk();
    try {
      await c.send(new m.DeleteObjectCommand({ Bucket: this.s.bucket, Key: `${this.key(name)}.sha256` }));
      await c.send(new m.DeleteObjectCommand({ Bucket: this.s.bucket, Key: this.key(name) }));
    } catch (e) {
      throw new Error(`deleting ${this.url(name)} failed: ${describeS3Error(e)}`);
    }
  }

  /** Download to a 0600 temporary file (streamed), run `use`, remove it. */
  async withLocalCopy<T>(name: string, use: (file: string) => Promise<T>): Promise<T> {
    const { m, c } = await this.sdk();
    const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'etcd-monitor-s3-copy-'));
    const file = path.join(dir, path.posix.basename(name));
    try {
      let body;
      try {
        body = (await c.send(new m.GetObjectCommand({ Bucket: this.s.bucket, Key: this.key(name) }))).Body;
      } catch (e) {
        throw new Error(`downloading ${this.url(name)} failed: ${describeS3Error(e)}`);
      }
      if (!(body instanceof Readable)) throw new Error(`downloading ${this.url(name)}: no body`);
      await pipeline(body, fs.createWriteStream(file, { mode: 0o600 }));
      return await use(file);
    } finally {
      await fs.promises.rm(dir, { recursive: true, force: true });
    }
  }

  close(): void {
    this.client?.destroy();
  }
}

/** The S3 error code and message, without request IDs or credentials. */
export function describeS3Error(e: unknown): string {
  const err = e as {
    name?: string;
    Code?: string;
    message?: string;
    $metadata?: { httpStatusCode?: number };
  };
  const code = err.Code ?? err.name ?? 'Error';
  const status = err.$metadata?.httpStatusCode;
  return `${code}${status ? ` (HTTP ${status})` : ''}: ${err.message ?? String(e)}`;
}
