/**
 * docker-compose-full.yml and the Dockerfile, checked without a Docker engine: services and ports of
 * the guide, every mounted file present, and prometheus.yml / Grafana / Alertmanager agreeing with them.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import YAML from 'yaml';

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  ports?: string[];
  volumes?: string[];
  environment?: Record<string, string>;
  read_only?: boolean;
}

const compose = YAML.parse(fs.readFileSync('docker-compose-full.yml', 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};
const prom = YAML.parse(fs.readFileSync('prometheus/prometheus.yml', 'utf8')) as {
  rule_files: string[];
  alerting: { alertmanagers: Array<{ static_configs: Array<{ targets: string[] }> }> };
  scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }>;
};

/** The container port a "host:container" mapping publishes on the given host port. */
function published(s: Service, hostPort: number): number | undefined {
  for (const p of s.ports ?? []) {
    const [h, c] = p.split(':');
    if (Number(h) === hostPort) return Number(c);
  }
  return undefined;
}

describe('docker-compose-full.yml (validated without a Docker engine)', () => {
  const s = compose.services;

  it('has the guide services on the guide ports', () => {
    expect(Object.keys(s)).to.include.members([
      'etcd1',
      'etcd2',
      'etcd3',
      'etcd-monitor',
      'prometheus',
      'grafana',
      'alertmanager',
    ]);
    expect(published(s.etcd1!, 2379)).to.equal(2379);
    expect(published(s.etcd2!, 22379)).to.equal(2379);
    expect(published(s.etcd3!, 32379)).to.equal(2379);
    expect(published(s.etcd1!, 2380)).to.equal(2380);
    expect(published(s['etcd-monitor']!, 8080)).to.equal(8080);
    expect(published(s.prometheus!, 9090)).to.equal(9090);
    expect(published(s.grafana!, 3000)).to.equal(3000);
  });

  it('mounts only files that exist and keeps data in named volumes', () => {
    for (const [name, svc] of Object.entries(s)) {
      for (const v of svc.volumes ?? []) {
        const src = v.split(':')[0]!;
        if (src.startsWith('./')) expect(fs.existsSync(src), `${name} mounts ${src}`).to.equal(true);
        else expect(Object.keys(compose.volumes), `${name} volume ${src}`).to.include(src);
      }
    }
    for (const e of ['etcd1', 'etcd2', 'etcd3'])
      expect(s[e]!.volumes!.some((v) => v.startsWith(`${e}-data:`))).to.equal(true);
  });

  it('runs the members with extensive metrics and the monitor against all three', () => {
    for (const e of ['etcd1', 'etcd2', 'etcd3'])
      expect(s[e]!.environment!.ETCD_METRICS).to.equal('extensive');
    const cmd = s['etcd-monitor']!.command!;
    expect(cmd[0]).to.equal('monitor');
    expect(cmd).to.include('--endpoints=etcd1:2379,etcd2:2379,etcd3:2379');
    expect(s['etcd-monitor']!.read_only).to.equal(true);
  });

  it('agrees with prometheus.yml: jobs etcd-monitor (1), etcd-cluster (3), prometheus (1)', () => {
    const jobs = Object.fromEntries(
      prom.scrape_configs.map((j) => [j.job_name, j.static_configs.flatMap((c) => c.targets)]),
    );
    expect(jobs['etcd-monitor']).to.deep.equal(['etcd-monitor:8080']);
    expect(jobs['etcd-cluster']).to.deep.equal(['etcd1:2379', 'etcd2:2379', 'etcd3:2379']);
    expect(jobs.prometheus).to.have.length(1);
    for (const t of [...jobs['etcd-monitor']!, ...jobs['etcd-cluster']!]) {
      const [host, port] = t.split(':');
      expect(s[host!], `service ${host}`).to.not.equal(undefined);
      expect(
        s[host!]!.ports!.some((p) => p.endsWith(`:${port}`)),
        `${t} is a container port of ${host}`,
      ).to.equal(true);
    }
    const am = prom.alerting.alertmanagers[0]!.static_configs[0]!.targets[0]!;
    expect(am.split(':')[0]).to.equal('alertmanager');
    const mount = s.prometheus!.volumes!.find((v) => v.includes('/etc/prometheus/rules'))!;
    expect(prom.rule_files[0]!.startsWith(mount.split(':')[1]!)).to.equal(true);
  });

  it('provisions Grafana from the repo files with the admin password from the environment', () => {
    const ds = YAML.parse(fs.readFileSync('grafana/datasources/prometheus.yml', 'utf8')) as {
      datasources: Array<{ url: string }>;
    };
    expect(ds.datasources[0]!.url).to.equal('http://prometheus:9090');
    expect(s.grafana!.environment!.GF_SECURITY_ADMIN_PASSWORD).to.equal('${GRAFANA_ADMIN_PASSWORD:-admin}');
    const provider = YAML.parse(fs.readFileSync('grafana/dashboards/dashboard.yml', 'utf8')) as {
      providers: Array<{ options: { path: string } }>;
    };
    const mounted = s.grafana!.volumes!.find((v) => v.startsWith('./grafana/dashboards:'))!.split(':')[1];
    expect(provider.providers[0]!.options.path).to.equal(mounted);
    expect(fs.existsSync('grafana/dashboards/etcd-dash.json')).to.equal(true);
  });
});

/** The version a tools/<dir>/go.mod pins for a module. */
function pinned(dir: string, module: string): string {
  const m = new RegExp(`${module.replace(/[.]/g, '\\.')} (v[0-9][^\\s]*)`).exec(
    fs.readFileSync(`tools/${dir}/go.mod`, 'utf8'),
  );
  if (!m) throw new Error(`tools/${dir}/go.mod pins no ${module}`);
  return m[1]!;
}

describe('docker-compose-full.yml works with docker-compose 1.29 and docker compose v2, with the images the tests build', () => {
  const raw = YAML.parse(fs.readFileSync('docker-compose-full.yml', 'utf8')) as Record<string, unknown>;
  const s = compose.services;

  it('has only top-level keys docker-compose 1.29 accepts (no `name:`)', () => {
    for (const k of Object.keys(raw))
      expect(
        ['version', 'services', 'volumes', 'networks', 'secrets', 'configs'].includes(k) ||
          k.startsWith('x-'),
        `top-level key ${k}`,
      ).to.equal(true);
  });

  it('names the etcd, Prometheus and Alertmanager versions that scripts/images.sh builds from the pinned Go modules', () => {
    const etcd = pinned('etcd35', 'go.etcd.io/etcd/server/v3');
    for (const e of ['etcd1', 'etcd2', 'etcd3'])
      expect(s[e]!.image).to.equal(`gcr.io/etcd-development/etcd:${etcd}`);
    // Prometheus v3.X.Y is the Go module v0.3XX.Y.
    const prom = pinned('prometheus', 'github.com/prometheus/prometheus').replace(
      /^v0\.3(0?)(\d+)\./,
      'v3.$2.',
    );
    expect(s.prometheus!.image).to.equal(`prom/prometheus:${prom}`);
    expect(s.alertmanager!.image).to.equal(
      `prom/alertmanager:${pinned('alertmanager', 'github.com/prometheus/alertmanager')}`,
    );
    expect(s['etcd-monitor']!.image).to.equal('etcd-monitor:local');
  });
});

describe('Dockerfile', () => {
  const text = fs.readFileSync('Dockerfile', 'utf8');
  it('is multi-stage on a Node LTS image, non-root, with only production dependencies', () => {
    const froms = text.split('\n').filter((l) => /^FROM /.test(l));
    expect(froms).to.have.length(2);
    expect(text).to.match(/ARG NODE_IMAGE=node:(24|26)-/);
    expect(text).to.match(/npm prune --omit=dev/);
    const user = /^USER (\d+):(\d+)$/m.exec(text);
    expect(user, 'numeric non-root USER').to.not.equal(null);
    expect(Number(user![1])).to.be.greaterThan(0);
    expect(text).to.match(/ENTRYPOINT \["node", "\/app\/dist\/cli\/main.js"\]/);
    // `npm run build` compiles the dashboard from web/ with tsconfig.dashboard.json.
    expect(text).to.match(/^COPY web \.\/web$/m);
    expect(text).to.match(/^COPY [^\n]*tsconfig\.dashboard\.json/m);
    expect(
      fs.existsSync('package.json') &&
        JSON.parse(fs.readFileSync('package.json', 'utf8')).bin['etcd-monitor'],
    ).to.equal('dist/cli/main.js');
  });
});
