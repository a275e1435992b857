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

describe('the default V8 heap limit is one figure everywhere the binary starts', () => {
  it('the shebang, the image, npm start and the chart agree', () => {
    const shebang = fs.readFileSync('src/cli/main.ts', 'utf8').split('\n', 1)[0]!;
    const fromShebang = /^#!\/usr\/bin\/env -S node --max-old-space-size=(\d+)$/.exec(shebang)?.[1];
    expect(fromShebang, shebang).to.be.a('string');
    const image = /^ENV NODE_OPTIONS=--max-old-space-size=(\d+)$/m.exec(
      fs.readFileSync('Dockerfile', 'utf8'),
    )?.[1];
    const values = YAML.parse(fs.readFileSync('deploy/helm/etcd-monitor/values.yaml', 'utf8')) as {
      operator: { maxHeapMiB: number };
      resources: { limits: { memory: string } };
    };
    expect(image).to.equal(fromShebang);
    expect(String(values.operator.maxHeapMiB)).to.equal(fromShebang);
    // npm start runs the built file itself, so its shebang applies.
    const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8')) as { scripts: { start: string } };
    expect(pkg.scripts.start).to.match(/^dist\/cli\/main\.js\b/);
    // The heap stays under the container's memory limit with room for code and buffers.
    const limitMiB = Number(/^(\d+)Mi$/.exec(values.resources.limits.memory)?.[1]);
    expect(limitMiB - values.operator.maxHeapMiB).to.be.at.least(96);
  });
});
