/** The local demo: a real 3-member etcd on loopback plus the monitor, until Ctrl-C. */
import { spawn } from 'node:child_process';
import { EtcdCluster } from '../test/helpers/etcdCluster.js';

const cluster = await EtcdCluster.start({
  size: 3,
  clientPorts: [2379, 22379, 32379],
  peerPorts: [2380, 22380, 32380],
  namePrefix: 'etcd',
});
process.stderr.write(`etcd cluster up: ${cluster.endpoints.join(', ')} (data and logs in ${cluster.dataRoot})\n`);
const args = ['dist/cli/main.js', 'monitor', `--endpoints=${cluster.endpoints.map((e) => e.replace('http://127.0.0.1', 'localhost')).join(',')}`, '--interval=5s', '--timeout=2s', ...process.argv.slice(2)];
const mon = spawn(process.execPath, args, { stdio: 'inherit' });
process.stderr.write('monitor: http://localhost:8080/  (API: /api/v1/cluster/status, metrics: /metrics)\n');

let stopping = false;
async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  mon.kill('SIGTERM');
  await cluster.stop();
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));
mon.on('exit', (code) => void shutdown(code ?? 1));
