/** The in-process operator configuration the operator tests start from (fast leases, loopback API on a free port). */
import fs from 'node:fs';
import path from 'node:path';
import type { OperatorConfig } from '../../src/cli/operatorCommand.js';
import { crdYaml } from '../../src/crd/generate.js';
import type { ControlPlane } from './controlPlane.js';
import { waitFor } from './procs.js';

export function testOperatorConfig(kubeconfig: string, over: Partial<OperatorConfig> = {}): OperatorConfig {
  return {
    kubeconfig,
    leaderElect: false,
    leaseNamespace: 'default',
    leaseDurationMs: 4000,
    renewDeadlineMs: 3000,
    retryPeriodMs: 500,
    identity: 'op-1',
    apiHost: '127.0.0.1',
    apiPort: 0,
    concurrency: 8,
    heartbeatMs: 5 * 60_000,
    secretRefreshMs: 1000,
    watchdogMs: 30_000,
    ...over,
  };
}

/** Apply the generated EtcdMonitor CRD to a control plane and wait until it is Established. */
export async function installEtcdMonitorCrd(cp: ControlPlane, dir: string): Promise<void> {
  const crd = path.join(dir, 'crd.yaml');
  fs.writeFileSync(crd, crdYaml());
  const r = await cp.kubectl(['apply', '-f', crd]);
  if (r.code !== 0) throw new Error(`applying the CRD failed: ${r.stderr}`);
  await waitFor(
    'CRD established',
    async () =>
      (
        await cp.kubectl([
          'wait',
          '--for=condition=Established',
          '--timeout=20s',
          'crd/etcdmonitors.etcdmonitor.dev',
        ])
      ).code === 0,
    30_000,
    500,
  );
}
