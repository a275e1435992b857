import { expect } from 'chai';
import { UsageError } from '../../../src/cli/args.js';
import { thresholdsFromFlags } from '../../../src/cli/thresholdFlags.js';
import { resolveSpec } from '../../../src/controller/config.js';
import { DEFAULT_THRESHOLDS } from '../../../src/health/evaluate.js';
import { resolveThresholds } from '../../../src/health/thresholds.js';

describe('thresholds: spec.thresholds and the standalone flags of the same names', () => {
  it('defaults follow etcd’s documentation', () => {
    const t = resolveThresholds(undefined);
    expect(t).to.deep.equal(DEFAULT_THRESHOLDS);
    expect(t.walFsyncP99Ms).to.equal(10);
    expect(t.backendCommitP99Ms).to.equal(25);
    expect(t.defragFragmentationPercent).to.equal(50);
    expect(t.defragReclaimableBytes).to.equal(104_857_600);
    expect(t.quotaExhaustionWarningMs).to.equal(168 * 3_600_000);
  });

  it('reads durations and the tier', () => {
    const t = resolveThresholds({
      quotaExhaustionWarning: '72h',
      adviceWindow: '30s',
      hardwareTier: 'medium',
    });
    expect(t.quotaExhaustionWarningMs).to.equal(72 * 3_600_000);
    expect(t.adviceWindowMs).to.equal(30_000);
    expect(t.hardwareTier).to.equal('medium');
  });

  it('flags in kebab case set the same fields; a bad one is a usage error naming the flag', () => {
    const t = thresholdsFromFlags({
      'wal-fsync-p99-ms': '20',
      'advice-window': '1m',
      'defrag-reclaimable-bytes': '1048576',
    });
    expect(t.walFsyncP99Ms).to.equal(20);
    expect(t.adviceWindowMs).to.equal(60_000);
    expect(t.defragReclaimableBytes).to.equal(1_048_576);
    expect(() => thresholdsFromFlags({ 'wal-fsync-p99-ms': 'fast' })).to.throw(
      UsageError,
      /--wal-fsync-p99-ms/,
    );
    expect(() => thresholdsFromFlags({ 'advice-window': '5s' })).to.throw(
      UsageError,
      /--advice-window: must be at least 10s/,
    );
    expect(() => thresholdsFromFlags({ 'quota-exhaustion-warning': 'soon' })).to.throw(
      UsageError,
      /--quota-exhaustion-warning/,
    );
    expect(() => thresholdsFromFlags({ 'hardware-tier': 'huge' })).to.throw(UsageError, /--hardware-tier/);
  });

  it('an EtcdMonitor whose thresholds the schema lets through but cannot work is ConfigValid=False with the reason', () => {
    const r = resolveSpec({ endpoints: ['etcd-0:2379'], thresholds: { adviceWindow: '5s' } }, {});
    expect(r.ok).to.equal(false);
    if (!r.ok) {
      expect(r.problem.reason).to.equal('InvalidThresholds');
      expect(r.problem.message).to.match(/thresholds.adviceWindow: must be at least 10s/);
    }
    const ok = resolveSpec({ endpoints: ['etcd-0:2379'], thresholds: { walFsyncP99Ms: 5 } }, {});
    expect(ok.ok && ok.spec.thresholds.walFsyncP99Ms).to.equal(5);
    expect(ok.ok && ok.spec.backupConfigured).to.equal(false);
  });
});
