/**
 * A real S3-compatible server for tests: versitygw (Apache-2.0, built from its Go module by
 * scripts/build-tools.sh) with its POSIX backend in a temporary folder, on loopback, checking SigV4
 * credentials against one root user. Stopped (and its folder removed) by stop(), even on failure.
 */
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { toolPath, ensureTools } from './controlPlane.js';
import { freePort } from './ports.js';
import { startProcess, stopProcess, waitFor } from './procs.js';

export interface TestS3 {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  dataDir: string;
  client(): S3Client;
  createBucket(name: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startS3(
  creds = { accessKeyId: 'etcdmonitor', secretAccessKey: 'etcdmonitor-test-secret' },
): Promise<TestS3> {
  ensureTools(['versitygw']);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'etcd-monitor-s3-'));
  const dataDir = path.join(root, 'data');
  fs.mkdirSync(dataDir);
  const port = await freePort();
  const proc = startProcess(
    toolPath('versitygw'),
    [
      '--access',
      creds.accessKeyId,
      '--secret',
      creds.secretAccessKey,
      '--port',
      `127.0.0.1:${port}`,
      'posix',
      dataDir,
    ],
    {
      logFile: path.join(root, 'versitygw.log'),
    },
  );
  const endpoint = `http://127.0.0.1:${port}`;
  const client = (): S3Client =>
    new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: creds, maxAttempts: 1 });
  const s3: TestS3 = {
    endpoint,
    ...creds,
    dataDir,
    client,
    async createBucket(name) {
      const c = client();
      try {
        await c.send(new CreateBucketCommand({ Bucket: name }));
      } finally {
        c.destroy();
      }
    },
    async stop() {
      await stopProcess(proc);
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
  try {
    await waitFor(
      'versitygw answering',
      async () => {
        const r = await fetch(endpoint).catch(() => undefined);
        return r !== undefined;
      },
      15_000,
    );
  } catch (e) {
    await s3.stop();
    throw e;
  }
  return s3;
}
