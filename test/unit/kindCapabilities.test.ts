import { expect } from 'chai';
import { missingCapabilities } from '../../scripts/kind.js';

describe('kind: capabilities a host lacks (why `docker run --privileged` fails there)', () => {
  const status = (bnd: string): string =>
    `Name:\tbash\nCapInh:\t0000000000000000\nCapBnd:\t${bnd}\nCapAmb:\t0000000000000000\n`;

  it('names none when the bounding set has every capability the kernel knows', () => {
    expect(missingCapabilities(status('000001ffffffffff'), 40)).to.deep.equal([]);
  });

  it('names CAP_SYS_RESOURCE on a host whose bounding set lacks bit 24 (this project CI VMs)', () => {
    expect(missingCapabilities(status('000001fffeffffff'), 40)).to.deep.equal(['SYS_RESOURCE']);
  });

  it('looks only up to the kernel last capability', () => {
    expect(missingCapabilities(status('0000003fffffffff'), 37)).to.deep.equal([]);
    expect(missingCapabilities(status('0000003fffffffff'), 40)).to.deep.equal([
      'PERFMON',
      'BPF',
      'CHECKPOINT_RESTORE',
    ]);
  });

  it('names none when the status has no CapBnd line', () => {
    expect(missingCapabilities('Name:\tbash\n', 40)).to.deep.equal([]);
  });
});
