/**
 * npm run cluster:up / cluster:down — a local Kubernetes control plane (etcd + kube-apiserver, the same
 * code the integration tests use) left running in the background, with .cache/kubeconfig and kubectl
 * and helm in .cache/bin.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startControlPlane } from '../test/helpers/controlPlane.js';

const dir = path.resolve('.cache/cluster');
const pidFile = path.join(dir, 'pid');
const kubeconfig = path.resolve('.cache/kubeconfig');
const cmd = process.argv[2];

function running(): number | undefined {
  try {
    const pid = Number(fs.readFileSync(pidFile, 'utf8'));
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

if (cmd === 'serve') {
  fs.rmSync(path.join(dir, 'data'), { recursive: true, force: true });
  const cp = await startControlPlane({ dir: path.join(dir, 'data') });
  fs.copyFileSync(cp.kubeconfig, kubeconfig);
  fs.writeFileSync(pidFile, String(process.pid));
  const stop = async (): Promise<void> => {
    await cp.stop();
    fs.rmSync(pidFile, { force: true });
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
  setInterval(() => undefined, 1 << 30);
} else if (cmd === 'up') {
  if (running()) {
    process.stdout.write(`already running; export KUBECONFIG=${kubeconfig}\n`);
    process.exit(0);
  }
  fs.mkdirSync(dir, { recursive: true });
  fs.rmSync(kubeconfig, { force: true });
  const log = fs.openSync(path.join(dir, 'cluster.log'), 'w');
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, 'serve'], {
    detached: true,
    stdio: ['ignore', log, log],
  });
  child.unref();
  const end = Date.now() + 120_000;
  while (!running() || !fs.existsSync(kubeconfig)) {
    if (Date.now() > end || child.exitCode !== null) {
      process.stderr.write(`the control plane did not start; see ${path.join(dir, 'cluster.log')}\n`);
      process.exit(1);
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  process.stdout.write(
    `control plane up.\n  export KUBECONFIG=${kubeconfig} PATH=${path.resolve('.cache/bin')}:$PATH\n  kubectl get ns\n`,
  );
} else if (cmd === 'down') {
  const pid = running();
  if (!pid) {
    process.stdout.write('not running\n');
    process.exit(0);
  }
  process.kill(pid, 'SIGTERM');
  const end = Date.now() + 20_000;
  while (running() && Date.now() < end) await new Promise((r) => setTimeout(r, 200));
  process.stdout.write('control plane stopped\n');
} else {
  process.stderr.write('usage: tsx scripts/cluster.ts up|down\n');
  process.exit(2);
}
