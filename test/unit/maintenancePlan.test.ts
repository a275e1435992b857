/** spec.backup / spec.maintenance → the operator's maintenance plan, or a ConfigValid=False reason (pure). */
import { expect } from 'chai';
import { maintenancePlan, resolveSpec } from '../../src/controller/config.js';
import type { EtcdMonitorSpec } from '../../src/crd/types.js';

const base: EtcdMonitorSpec = { endpoints: ['127.0.0.1:2379'] };
const secret = (data: Record<string, string>) => ({
  resourceVersion: '1',
  data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v)])),
});

describe('maintenance plan from the spec', () => {
  it('is absent without backup or maintenance', () => {
    expect(maintenancePlan(base, {})).to.equal(undefined);
  });

  it('takes a local destination with defaults, and defragmentation thresholds', () => {
    const p = maintenancePlan(
      {
        ...base,
        backup: { schedule: '@daily', destination: { local: { path: '/backups' } } },
        maintenance: { defragmentation: { schedule: '30 3 * * 0' } },
      },
      {},
    );
    expect(p).to.deep.include({
      backup: {
        schedule: '@daily',
        member: 'follower',
        keep: undefined,
        maxAgeMs: undefined,
        destination: { kind: 'local', path: '/backups' },
        restoreTest: false,
      },
    });
    expect(p).to.deep.include({
      defragmentation: {
        schedule: '30 3 * * 0',
        minFragmentationPercent: 50,
        minReclaimableBytes: 104857600,
        disarmNoSpace: false,
      },
    });
  });

  it('reads S3 credentials from the Secret, and keeps them out of the plan key (they rotate in place)', () => {
    const spec: EtcdMonitorSpec = {
      ...base,
      backup: {
        schedule: '@every 30m',
        retention: { keep: 3, maxAge: '168h' },
        destination: { s3: { bucket: 'etcd', secretName: 's3' } },
      },
    };
    const a = maintenancePlan(spec, { backupS3: secret({ accessKeyId: 'AK', secretAccessKey: 'one' }) });
    const b = maintenancePlan(spec, { backupS3: secret({ accessKeyId: 'AK', secretAccessKey: 'two' }) });
    if (!a || 'problem' in a || !b || 'problem' in b) expect.fail('expected plans');
    expect(a.backup!.destination).to.deep.include({
      kind: 's3',
      credentials: { accessKeyId: 'AK', secretAccessKey: 'one' },
    });
    expect(a.backup!.maxAgeMs).to.equal(168 * 3600_000);
    expect(a.key).to.equal(b.key);
    expect(a.key).not.to.include('one');
  });

  it('says why it cannot run, and the cluster is still probed (the spec resolves, without maintenance)', () => {
    const problem = (spec: Partial<EtcdMonitorSpec>, secrets = {}) => {
      const r = resolveSpec({ ...base, ...spec }, secrets);
      if (!r.ok) throw new Error(`the whole spec was refused: ${r.problem.message}`);
      expect(r.spec.maintenance).to.equal(undefined);
      return r.spec.maintenanceProblem;
    };
    expect(problem({ backup: { schedule: 'sometimes', destination: { local: { path: '/b' } } } })).to.include(
      { reason: 'InvalidSchedule' },
    );
    expect(problem({ maintenance: { defragmentation: { schedule: '99 * * * *' } } })).to.include({
      reason: 'InvalidSchedule',
    });
    expect(problem({ backup: { schedule: '@daily', destination: {} } })).to.include({
      reason: 'InvalidBackupDestination',
    });
    expect(problem({ backup: { schedule: '@daily', destination: { local: { path: 'rel' } } } })).to.include({
      reason: 'InvalidBackupDestination',
    });
    const s3 = { backup: { schedule: '@daily', destination: { s3: { bucket: 'etcd', secretName: 's3' } } } };
    expect(problem(s3)).to.include({ reason: 'SecretNotFound' });
    expect(problem(s3, { backupS3: 'Forbidden' })).to.include({ reason: 'SecretForbidden' });
    expect(problem(s3, { backupS3: secret({ accessKeyId: 'AK' }) })).to.include({
      reason: 'SecretKeyMissing',
    });
    expect(
      problem({
        backup: {
          schedule: '@daily',
          retention: { maxAge: '7 days' },
          destination: { local: { path: '/b' } },
        },
      }),
    ).to.include({ reason: 'InvalidDuration' });
  });
});
