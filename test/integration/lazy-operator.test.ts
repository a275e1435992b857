/**
 * The standalone monitor never loads @kubernetes/client-node (~75 MiB of RSS): src/cli/main.ts imports
 * the operator only for the `operator` subcommand. Nor does it load grpc-js (~20 MiB with proto-loader)
 * unless a backup or defragmentation runs: probes go over the hand-framed client (src/etcd/wireClient.ts).
 * Checked on the real module graph: the binary runs in a child process with a module-resolution hook
 * (module.register, run before the program) that records every URL resolved into those packages. A
 * positive control (`operator --help`) shows the hook sees them.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';

const HOOKS = `
import fs from 'node:fs';
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  if (r.url.includes('/node_modules/@kubernetes/client-node/') || r.url.includes('/node_modules/@grpc/'))
    fs.appendFileSync(process.env.KUBE_IMPORTS_OUT, (context.parentURL ?? '?') + ' -> ' + r.url + '\\n');
  return r;
}`;
const REGISTER = `import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(HOOKS)}));`;

let dir: string;

/** Run the CLI (src/cli/main.ts via tsx) with the hook for at most `ms`; what it resolved into client-node and @grpc/. */
function kubeImports(
  args: string[],
  ms: number,
): Promise<{ imports: string[]; grpc: string[]; output: string }> {
  const out = path.join(dir, `imports-${Math.random().toString(36).slice(2)}.txt`);
  fs.writeFileSync(out, '');
  const child = spawn(
    process.execPath,
    [
      '--import',
      `data:text/javascript,${encodeURIComponent(REGISTER)}`,
      '--import',
      'tsx',
      'src/cli/main.ts',
      ...args,
    ],
    { env: { ...process.env, KUBE_IMPORTS_OUT: out }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGTERM'), ms);
    child.on('error', reject);
    child.on('exit', () => {
      clearTimeout(timer);
      const lines = fs.readFileSync(out, 'utf8').split('\n').filter(Boolean);
      resolve({
        imports: lines.filter((l) => l.includes('/@kubernetes/client-node/')),
        grpc: lines.filter((l) => l.includes('/@grpc/')),
        output,
      });
    });
  });
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('the standalone monitor loads neither @kubernetes/client-node nor grpc-js', function () {
  this.timeout(60_000);
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lazy-operator-'))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('the hook sees the operator load it (positive control)', async () => {
    const r = await kubeImports(['operator', '--help'], 30_000);
    expect(r.output).to.match(/Usage: etcd-monitor operator/);
    expect(r.imports.length, 'client-node modules resolved').to.be.greaterThan(0);
  });

  it('the hook sees `snapshot save` load grpc-js (positive control)', async () => {
    const etcd = await closedPort();
    const file = path.join(dir, 'never.db');
    const r = await kubeImports(['snapshot', 'save', `--endpoints=http://127.0.0.1:${etcd}`, file], 20_000);
    expect(r.grpc.length, `grpc-js modules resolved; output: ${r.output}`).to.be.greaterThan(0);
  });

  it('`etcd-monitor --endpoints=…` runs its rounds and serves without it', async () => {
    const etcd = await closedPort();
    const api = await closedPort();
    // Runs for a few rounds against an unreachable member (every code path of a round, errors included).
    const r = await kubeImports(
      [`--endpoints=http://127.0.0.1:${etcd}`, '--api-host=127.0.0.1', `--api-port=${api}`, '--interval=1s'],
      6_000,
    );
    expect(r.output, 'it started').to.match(/127\.0\.0\.1/);
    expect(r.imports, r.imports.slice(0, 3).join('\n')).to.deep.equal([]);
    expect(r.grpc, r.grpc.slice(0, 3).join('\n')).to.deep.equal([]);
  });

  it('nor do `status`, `benchmark --help` and `snapshot --help`', async () => {
    for (const args of [
      ['status', '--endpoints=http://127.0.0.1:1', '--timeout=200ms'],
      ['benchmark', '--help'],
      ['snapshot', '--help'],
    ]) {
      const r = await kubeImports(args, 20_000);
      expect(r.imports, args.join(' ')).to.deep.equal([]);
    }
  });
});
