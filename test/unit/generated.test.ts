import { expect } from 'chai';
import fs from 'node:fs';
import YAML from 'yaml';
import { crdManifest } from '../../src/crd/schema.js';
import { generatedFiles } from '../../src/crd/generate.js';

describe('generated artefacts', () => {
  for (const [file, content] of Object.entries(generatedFiles())) {
    it(`${file} is in sync with its source (npm run generate)`, () => {
      expect(fs.existsSync(file), `${file} missing: run npm run generate`).to.equal(true);
      expect(fs.readFileSync(file, 'utf8') === content, `${file} is stale: run npm run generate`).to.equal(
        true,
      );
    });
  }

  it('the CRD carries the contract of SPEC §2 (§9: -o wide adds LAST BACKUP, §10: ADVICE)', () => {
    const crd = crdManifest() as {
      spec: { names: Record<string, unknown>; versions: Array<Record<string, unknown>> };
    };
    expect(crd.spec.names).to.deep.include({
      kind: 'EtcdMonitor',
      plural: 'etcdmonitors',
      singular: 'etcdmonitor',
      shortNames: ['etcdmon', 'em'],
      categories: ['etcd'],
    });
    const v = crd.spec.versions[0] as {
      subresources: unknown;
      additionalPrinterColumns: Array<{ name: string; priority?: number }>;
    };
    expect(v.subresources).to.deep.equal({ status: {} });
    expect(v.additionalPrinterColumns.filter((c) => !c.priority).map((c) => c.name)).to.deep.equal([
      'Phase',
      'Leader',
      'Members',
      'DB Size',
      'Latency',
      'Age',
    ]);
    expect(v.additionalPrinterColumns.filter((c) => c.priority).map((c) => c.name)).to.deep.equal([
      'Cluster ID',
      'Version',
      'Last Probe',
      'Last Backup',
      'Advice',
    ]);
    // Round-trips through YAML unchanged.
    expect(YAML.parse(YAML.stringify(crd))).to.deep.equal(crd);
  });
});
