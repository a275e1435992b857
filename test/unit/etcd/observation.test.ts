import { expect } from 'chai';
import {
  MEMBER_PROBE_CALLS,
  PROBE_ERROR_REASONS,
  probeErrors,
  type ClusterObservation,
} from '../../../src/etcd/observation.js';

describe('the probe-call table', () => {
  it('names every call once, and every reason label of etcd_monitor_probe_errors_total', () => {
    expect(MEMBER_PROBE_CALLS.map((c) => c.label)).to.deep.equal([
      'status',
      'health',
      'alarms',
      'metrics',
      'write probe',
    ]);
    expect(PROBE_ERROR_REASONS).to.deep.equal([
      'status',
      'health',
      'alarms',
      'metrics',
      'write',
      'member_list',
    ]);
  });

  it("lists a round's failed calls, member calls first, then the member list", () => {
    const o: ClusterObservation = {
      time: 0,
      members: [
        { endpoint: 'http://a:1', healthChecked: true, statusError: 's', writeError: 'w' },
        { endpoint: 'http://b:1', healthChecked: true, metricsError: 'm' },
      ],
      memberListError: 'l',
    };
    expect(probeErrors(o)).to.deep.equal([
      { reason: 'status', endpoint: 'http://a:1', message: 's' },
      { reason: 'write', endpoint: 'http://a:1', message: 'w' },
      { reason: 'metrics', endpoint: 'http://b:1', message: 'm' },
      { reason: 'member_list', message: 'l' },
    ]);
  });
});
