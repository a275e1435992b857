/** Username/password authentication against a real etcd with auth enabled. */
import { expect } from 'chai';
import type { StandaloneApp } from '../../src/cli/monitorCommand.js';
import { EtcdCluster } from '../helpers/etcdCluster.js';
import { startTestMonitor } from '../helpers/monitor.js';

describe('etcd with authentication enabled', function () {
  this.timeout(120_000);
  let cluster: EtcdCluster;
  const apps: StandaloneApp[] = [];

  before(async () => {
    cluster = await EtcdCluster.start({ size: 3 });
    await cluster.etcdctl(['user', 'add', 'root', '--new-user-password=root-pw']);
    await cluster.etcdctl(['user', 'add', 'monitor', '--new-user-password=monitor-pw']);
    await cluster.etcdctl(['auth', 'enable']);
  });
  after(async () => {
    for (const a of apps) await a.stop();
    await cluster?.stop();
  });

  it('probes with a username and password', async () => {
    const app = await startTestMonitor(cluster.endpoints, {
      conn: { auth: { username: 'root', password: 'root-pw' } },
    });
    apps.push(app);
    const r = await app.monitor.runOnce();
    expect(
      r.evaluation.status.phase,
      JSON.stringify(r.evaluation.status.members.map((m) => m.errors)),
    ).to.equal('Healthy');
  });

  it('counts permission denied on the health read as healthy (an unprivileged user), like etcdctl', async () => {
    const app = await startTestMonitor(cluster.endpoints, {
      conn: { auth: { username: 'monitor', password: 'monitor-pw' } },
    });
    apps.push(app);
    const r = await app.monitor.runOnce();
    expect(r.observation.members.every((m) => m.healthChecked && !m.healthError)).to.equal(true);
    expect(r.evaluation.status.healthyMembers).to.equal(3);
  });

  it('reports a wrong password as a clear error and never puts the password in the status', async () => {
    const app = await startTestMonitor(cluster.endpoints, {
      conn: { auth: { username: 'root', password: 'not-the-password' } },
    });
    apps.push(app);
    const r = await app.monitor.runOnce();
    const s = r.evaluation.status;
    expect(s.phase).to.equal('Unreachable');
    expect(s.members[0]!.errors.join('\n')).to.match(/authentication failed|invalid user ID or password/);
    expect(JSON.stringify(s)).to.not.include('not-the-password');
  });
});
