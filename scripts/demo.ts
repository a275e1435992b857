/**
 * The local demo: a real 3-member etcd on loopback plus the monitor, until a signal.
 *
 * Whatever stops it (Ctrl-C, SIGINT/SIGTERM/SIGHUP/SIGQUIT to this process or to scripts/demo.sh, or the
 * monitor exiting by itself), the monitor is stopped first and waited for, so :8080 is free, and only
 * then the etcd members.
 */
import { spawn } from 'node:child_process';
import { EtcdCluster } from '../test/helpers/etcdCluster.js';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const;
const MONITOR_GRACE_MS = 5000;

// The test helpers kill their children (the etcd members) at once on SIGINT/SIGTERM; the demo orders the
// shutdown itself. Signals that arrive while etcd is still starting are kept and acted on once it is up.
for (const sig of SIGNALS) process.removeAllListeners(sig);
let pending: NodeJS.Signals | undefined;
const early = (sig: NodeJS.Signals): void => {
  pending ??= sig;
};
for (const sig of SIGNALS) process.on(sig, early);

const log = (msg: string): void => {
  process.stderr.write(`demo: ${msg}\n`);
};

const cluster = await EtcdCluster.start({
  size: 3,
  clientPorts: [2379, 22379, 32379],
  peerPorts: [2380, 22380, 32380],
  namePrefix: 'etcd',
});
log(`etcd cluster up: ${cluster.endpoints.join(', ')} (data and logs in ${cluster.dataRoot})`);
const args = [
  'dist/cli/main.js',
  'monitor',
  `--endpoints=${cluster.endpoints.map((e) => e.replace('http://127.0.0.1', 'localhost')).join(',')}`,
  '--interval=5s',
  '--timeout=2s',
  ...process.argv.slice(2),
];
const mon = spawn(process.execPath, args, { stdio: 'inherit' });
let monExited = false;
const monExit = new Promise<number>((resolve) => {
  mon.once('exit', (code, signal) => {
    monExited = true;
    resolve(code ?? (signal ? 0 : 1));
  });
});
log('monitor: http://localhost:8080/  (API: /api/v1/cluster/status, metrics: /metrics)');

let stopping = false;
async function shutdown(why: string, code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    if (!monExited) {
      log(`${why}: stopping the monitor`);
      mon.kill('SIGTERM');
      const timer = setTimeout(() => mon.kill('SIGKILL'), MONITOR_GRACE_MS);
      await monExit;
      clearTimeout(timer);
    }
    log('monitor stopped; stopping etcd');
    await cluster.stop();
    log('etcd stopped');
    process.exit(code);
  }
  return new Promise<never>(() => undefined);
}
for (const sig of SIGNALS) {
  process.off(sig, early);
  process.on(sig, () => void shutdown(sig, 0));
}
void monExit.then((code) => shutdown(`monitor exited with ${code}`, code));
if (pending) void shutdown(pending, 0);
