/**
 * A real kind cluster with no registry: the node image from scripts/kind-node-image.sh, our image from
 * scripts/images.sh, kind/kubectl/helm from scripts/build-tools.sh. Used by test/e2e/kind.test.ts and by
 *
 *   npm run kind:up     cluster `etcd-monitor`, our image loaded, the chart installed (helm install --wait)
 *   npm run kind:down   delete it (and its Docker network)
 *
 * The cluster gets its own Docker network (not kind's shared `kind`), removed with the cluster.
 */
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);
export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(REPO, '.cache/bin');
const SHIM_DIR = path.join(REPO, 'images/kind-node/docker-shim');
export const OUR_IMAGE = 'etcd-monitor:local';

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  input?: string;
  timeoutMs?: number;
}

/** Run a program; on failure the error carries its stderr (last lines). */
export async function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<string> {
  const child = execFileP(cmd, args, {
    env: opts.env ?? process.env,
    timeout: opts.timeoutMs ?? 600_000,
    maxBuffer: 64 << 20,
  });
  if (opts.input !== undefined) child.child.stdin?.end(opts.input);
  try {
    return (await child).stdout;
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    const tail = (err.stderr ?? '').trim().split('\n').slice(-15).join('\n');
    throw new Error(
      `${path.basename(cmd)} ${args.slice(0, 4).join(' ')} failed: ${err.message.split('\n')[0]}${tail ? `\n${tail}` : ''}`,
    );
  }
}

/** Why no Docker engine can be used here, or undefined when one answers. */
export function dockerEngineMissing(): string | undefined {
  try {
    execFileSync('docker', ['info', '--format', '{{.ServerVersion}}'], { stdio: 'pipe', timeout: 20_000 });
    return undefined;
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    return (err.stderr?.toString().trim().split('\n')[0] ?? err.message) || 'docker info failed';
  }
}

/** Capability names by number (linux/capability.h). */
const CAPS = [
  'CHOWN',
  'DAC_OVERRIDE',
  'DAC_READ_SEARCH',
  'FOWNER',
  'FSETID',
  'KILL',
  'SETGID',
  'SETUID',
  'SETPCAP',
  'LINUX_IMMUTABLE',
  'NET_BIND_SERVICE',
  'NET_BROADCAST',
  'NET_ADMIN',
  'NET_RAW',
  'IPC_LOCK',
  'IPC_OWNER',
  'SYS_MODULE',
  'SYS_RAWIO',
  'SYS_CHROOT',
  'SYS_PTRACE',
  'SYS_PACCT',
  'SYS_ADMIN',
  'SYS_BOOT',
  'SYS_NICE',
  'SYS_RESOURCE',
  'SYS_TIME',
  'SYS_TTY_CONFIG',
  'MKNOD',
  'LEASE',
  'AUDIT_WRITE',
  'AUDIT_CONTROL',
  'SETFCAP',
  'MAC_OVERRIDE',
  'MAC_ADMIN',
  'SYSLOG',
  'WAKE_ALARM',
  'BLOCK_SUSPEND',
  'AUDIT_READ',
  'PERFMON',
  'BPF',
  'CHECKPOINT_RESTORE',
];

/** Capabilities the kernel knows but this machine's bounding set lacks (they make `docker run --privileged` fail). */
export function missingCapabilities(status: string, lastCap: number): string[] {
  const m = /^CapBnd:\s*([0-9a-f]+)$/m.exec(status);
  if (!m?.[1]) return [];
  const bnd = BigInt(`0x${m[1]}`);
  const missing: string[] = [];
  for (let i = 0; i <= Math.min(lastCap, CAPS.length - 1); i++) {
    if (((bnd >> BigInt(i)) & 1n) === 0n) missing.push(CAPS[i]!);
  }
  return missing;
}

/**
 * The environment kind runs in. kind starts nodes with `docker run --privileged`; where that fails because
 * the host's capability bounding set is short (this project's CI VMs lack CAP_SYS_RESOURCE), kind gets
 * images/kind-node/docker-shim first on its PATH, which asks for every capability the host has instead.
 */
export async function kindEnv(network: string, nodeImage: string): Promise<NodeJS.ProcessEnv> {
  const env: NodeJS.ProcessEnv = { ...process.env, KIND_EXPERIMENTAL_DOCKER_NETWORK: network };
  const probe = `etcd-monitor-kind-probe-${process.pid}`;
  try {
    await run('docker', ['run', '--name', probe, '--privileged', '--entrypoint', 'true', nodeImage], {
      timeoutMs: 60_000,
    });
    return env;
  } catch (e) {
    const why = String(e);
    if (!why.includes('apply caps')) throw e;
    const missing = missingCapabilities(
      fs.readFileSync('/proc/self/status', 'utf8'),
      Number(fs.readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8')),
    );
    if (missing.length === 0) throw e;
    const realDocker = execFileSync('sh', ['-c', 'command -v docker'], { encoding: 'utf8' }).trim();
    return {
      ...env,
      PATH: `${SHIM_DIR}:${process.env.PATH ?? ''}`,
      ETCD_MONITOR_REAL_DOCKER: realDocker,
      ETCD_MONITOR_MISSING_CAPS: missing.join(' '),
    };
  } finally {
    await run('docker', ['rm', '-f', probe]).catch(() => undefined);
  }
}

/** Build (or reuse, keyed by content) the node image; returns its name. */
export async function nodeImage(): Promise<string> {
  const out = await run('bash', [path.join(REPO, 'scripts/kind-node-image.sh'), '--print'], {
    timeoutMs: 60 * 60_000,
  });
  const name = out.trim().split('\n').pop() ?? '';
  if (!name) throw new Error('scripts/kind-node-image.sh printed no image name');
  return name;
}

/** Build (or reuse) the images the cluster runs from the host's Docker: ours and the test etcd. */
export async function hostImages(which: string[]): Promise<void> {
  const images = path.join(REPO, 'scripts/images.sh');
  if (!fs.existsSync(images))
    throw new Error('scripts/images.sh is missing: it builds etcd-monitor:local from our Dockerfile');
  await run('bash', [images, ...which], { timeoutMs: 60 * 60_000 });
}

export function tool(name: string): string {
  return path.join(BIN, name);
}

export async function buildTools(names: string[]): Promise<void> {
  await run('bash', [path.join(REPO, 'scripts/build-tools.sh'), ...names], { timeoutMs: 90 * 60_000 });
}

export interface KindCluster {
  name: string;
  network: string;
  kubeconfig: string;
  /** Environment for kind (network override, docker shim). */
  kindEnv: NodeJS.ProcessEnv;
  /** Environment for kubectl and helm (KUBECONFIG). */
  env: NodeJS.ProcessEnv;
}

const CLUSTER_CONFIG = `kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
networking:
  ipFamily: ipv4
nodes:
  - role: control-plane
`;

/** Remove, synchronously, what a cluster left (its node containers with their volumes, its network). */
function removeNow(c: Pick<KindCluster, 'name' | 'network'>): void {
  const sh = (args: string[]): string => {
    try {
      return execFileSync('docker', args, {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
        timeout: 60_000,
      });
    } catch {
      return '';
    }
  };
  const ids = sh(['ps', '-aq', '--filter', `label=io.x-k8s.kind.cluster=${c.name}`]).trim();
  if (ids) sh(['rm', '-f', '-v', ...ids.split('\n')]);
  sh(['network', 'rm', c.network]);
}

const onExit = new Map<string, () => void>();

/** Delete clusters `prefix<pid>` whose creating process is gone (a run killed before its cleanup). */
export function sweepStale(prefix: string): void {
  let names: string[] = [];
  try {
    names = execFileSync(
      'docker',
      [
        'ps',
        '-a',
        '--filter',
        'label=io.x-k8s.kind.cluster',
        '--format',
        '{{.Label "io.x-k8s.kind.cluster"}}',
      ],
      { encoding: 'utf8', timeout: 30_000 },
    ).split('\n');
  } catch {
    return;
  }
  for (const name of new Set(names)) {
    const pid = name.startsWith(prefix) ? Number(name.slice(prefix.length)) : NaN;
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) continue;
    try {
      process.kill(pid, 0);
    } catch {
      removeNow({ name, network: `${name}-net` });
    }
  }
}

/** Create a single-node cluster with our node image. On failure nothing it made is left behind. */
export async function createCluster(
  name: string,
  opts: { kubeconfig: string; nodeImage: string; keep?: boolean },
): Promise<KindCluster> {
  const network = `${name}-net`;
  const cluster: KindCluster = {
    name,
    network,
    kubeconfig: opts.kubeconfig,
    kindEnv: await kindEnv(network, opts.nodeImage),
    env: { ...process.env, KUBECONFIG: opts.kubeconfig },
  };
  // Unless kept (kind:up), also removed when this process exits before deleteCluster (an interrupted test run).
  if (!opts.keep) {
    const exitHook = (): void => removeNow(cluster);
    onExit.set(name, exitHook);
    process.once('exit', exitHook);
  }
  const config = path.join(path.dirname(opts.kubeconfig), 'kind-config.yaml');
  fs.writeFileSync(config, CLUSTER_CONFIG);
  try {
    await run(
      tool('kind'),
      [
        'create',
        'cluster',
        '--name',
        name,
        '--image',
        opts.nodeImage,
        '--config',
        config,
        '--kubeconfig',
        opts.kubeconfig,
        '--wait',
        '240s',
        '--retain',
      ],
      {
        env: cluster.kindEnv,
        timeoutMs: 10 * 60_000,
      },
    );
  } catch (e) {
    const logs = await nodeLogs(cluster).catch(() => '');
    await deleteCluster(cluster);
    throw new Error(`${String(e)}${logs ? `\n--- node ${name}-control-plane ---\n${logs}` : ''}`);
  }
  return cluster;
}

/** The tail of what the node's systemd, containerd and kubelet said (for failures). */
export async function nodeLogs(c: KindCluster): Promise<string> {
  const node = `${c.name}-control-plane`;
  const out = await run(
    'docker',
    [
      'exec',
      node,
      'sh',
      '-c',
      'systemctl --failed --no-legend; journalctl --no-pager -n 60 -u kubelet -u containerd',
    ],
    { timeoutMs: 30_000 },
  );
  return out.trim();
}

/** Delete the cluster (its node containers and their volumes) and its Docker network. */
export async function deleteCluster(c: Pick<KindCluster, 'name' | 'network'>): Promise<void> {
  await run(tool('kind'), ['delete', 'cluster', '--name', c.name], { timeoutMs: 120_000 }).catch(
    (e: unknown) => console.error(`kind delete cluster: ${String(e)}`),
  );
  // kind removes the node containers with `docker rm -f -v`; the network is ours.
  removeNow(c);
  const hook = onExit.get(c.name);
  if (hook) process.removeListener('exit', hook);
  onExit.delete(c.name);
}

/** Put host Docker images into the cluster's containerd (kind load docker-image). */
export async function loadImages(c: KindCluster, images: string[]): Promise<void> {
  await run(tool('kind'), ['load', 'docker-image', '--name', c.name, ...images], {
    env: c.kindEnv,
    timeoutMs: 10 * 60_000,
  });
}

/** helm install our chart from deploy/helm with our image, waiting for it to be ready. */
export async function installChart(
  c: KindCluster,
  release: string,
  namespace: string,
  set: string[] = [],
): Promise<void> {
  const [repo, tag] = OUR_IMAGE.split(':') as [string, string];
  const args = [
    'install',
    release,
    path.join(REPO, 'deploy/helm/etcd-monitor'),
    '-n',
    namespace,
    '--create-namespace',
    '--wait',
    '--timeout',
    '5m',
    '--set',
    `image.repository=${repo}`,
    '--set',
    `image.tag=${tag}`,
    '--set',
    'image.pullPolicy=Never',
  ];
  for (const s of set) args.push('--set', s);
  await run(tool('helm'), args, { env: c.env, timeoutMs: 6 * 60_000 });
}

const STATE = path.join(REPO, '.cache/kind');
const NAME = 'etcd-monitor';

async function up(): Promise<void> {
  if (dockerEngineMissing())
    throw new Error(
      `no Docker engine answers (${dockerEngineMissing()}); scripts/docker-engine.sh start starts one`,
    );
  await buildTools(['kind', 'kubectl', 'helm']);
  const image = await nodeImage();
  await hostImages(['etcd-monitor']);
  fs.mkdirSync(STATE, { recursive: true });
  const kubeconfig = path.join(STATE, 'kubeconfig');
  const c = await createCluster(NAME, { kubeconfig, nodeImage: image, keep: true });
  try {
    await loadImages(c, [OUR_IMAGE]);
    await installChart(c, 'etcd-monitor', 'etcd-monitor');
  } catch (e) {
    await deleteCluster(c);
    throw e;
  }
  process.stdout.write(
    `kind cluster ${NAME} is up with the chart installed (namespace etcd-monitor).\n  export KUBECONFIG=${kubeconfig} PATH=${BIN}:$PATH\n  kubectl -n etcd-monitor get pods\n`,
  );
}

async function down(): Promise<void> {
  await buildTools(['kind']);
  await deleteCluster({ name: NAME, network: `${NAME}-net` });
  fs.rmSync(path.join(STATE, 'kubeconfig'), { force: true });
  process.stdout.write(`kind cluster ${NAME} deleted.\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const cmd = process.argv[2];
  const action = cmd === 'up' ? up : cmd === 'down' ? down : undefined;
  if (!action) {
    process.stderr.write('usage: tsx scripts/kind.ts up|down\n');
    process.exit(2);
  }
  action().catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}

export const tmpKubeconfig = (): string =>
  path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'etcd-monitor-kind-')), 'kubeconfig');
