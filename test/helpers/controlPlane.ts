/**
 * A real Kubernetes control plane on loopback, envtest-style: etcd + kube-apiserver built from Go
 * modules (scripts/build-tools.sh), certificates made here, RBAC on, an admin kubeconfig.
 */
import { execFile, execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePorts } from './ports.js';
import { startProcess, stopProcess, waitFor } from './procs.js';

const execFileP = promisify(execFile);
const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
export const TOOLS_BIN = path.join(REPO, '.cache/bin');

export function toolPath(name: string): string {
  return path.join(TOOLS_BIN, name);
}

/** Build the pinned tools if any is missing (cached under ~/.cache/etcd-monitor; fast when warm). */
export function ensureTools(names: string[]): void {
  if (names.every((n) => fs.existsSync(toolPath(n)))) return;
  execFileSync('bash', [path.join(REPO, 'scripts/build-tools.sh'), ...names], { stdio: 'inherit' });
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ControlPlane {
  dir: string;
  kubeconfig: string;
  server: string;
  kubectl(args: string[], opts?: { input?: string }): Promise<KubectlResult>;
  helm(args: string[]): Promise<KubectlResult>;
  restartApiServer(opts?: { whileDown?: () => Promise<void> }): Promise<void>;
  stop(): Promise<void>;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function makeCerts(dir: string): void {
  openssl(dir, [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '3',
    '-subj',
    '/CN=test-ca',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
  ]);
  const leaf = (name: string, subj: string, ext: string): void => {
    fs.writeFileSync(path.join(dir, `${name}.ext`), ext);
    openssl(dir, [
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      subj,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
    ]);
    openssl(dir, [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '3',
      '-out',
      `${name}.crt`,
      '-extfile',
      `${name}.ext`,
    ]);
  };
  leaf(
    'apiserver',
    '/CN=kube-apiserver',
    'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\n',
  );
  leaf('admin', '/O=system:masters/CN=admin', 'extendedKeyUsage=clientAuth\n');
  openssl(dir, ['genrsa', '-out', 'sa.key', '2048']);
  openssl(dir, ['rsa', '-in', 'sa.key', '-pubout', '-out', 'sa.pub']);
}

function kubeconfigYaml(server: string, dir: string): string {
  const b64 = (f: string): string => fs.readFileSync(path.join(dir, f)).toString('base64');
  return `apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: ${server}
    certificate-authority-data: ${b64('ca.crt')}
users:
- name: admin
  user:
    client-certificate-data: ${b64('admin.crt')}
    client-key-data: ${b64('admin.key')}
contexts:
- name: test
  context: { cluster: test, user: admin, namespace: default }
current-context: test
`;
}

function readyz(server: string, dir: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = https.get(
      `${server}/readyz`,
      {
        ca: fs.readFileSync(path.join(dir, 'ca.crt')),
        cert: fs.readFileSync(path.join(dir, 'admin.crt')),
        key: fs.readFileSync(path.join(dir, 'admin.key')),
        timeout: 2000,
      },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
  });
}

export async function startControlPlane(opts: { dir?: string } = {}): Promise<ControlPlane> {
  ensureTools(['kube-apiserver', 'kubectl', 'helm', 'etcd-3.5']);
  const dir = opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'etcd-monitor-kube-'));
  fs.mkdirSync(dir, { recursive: true });
  makeCerts(dir);
  const [etcdClient, etcdPeer, apiPort] = await freePorts(3);
  const procs: { etcd?: ChildProcess; api?: ChildProcess } = {};
  const server = `https://127.0.0.1:${apiPort}`;
  const kubeconfig = path.join(dir, 'kubeconfig');
  fs.writeFileSync(kubeconfig, kubeconfigYaml(server, dir), { mode: 0o600 });

  const startEtcd = (): void => {
    procs.etcd = startProcess(
      toolPath('etcd-3.5'),
      [
        '--name=kube-etcd',
        `--data-dir=${path.join(dir, 'etcd')}`,
        `--listen-client-urls=http://127.0.0.1:${etcdClient}`,
        `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
        `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
        `--initial-cluster=kube-etcd=http://127.0.0.1:${etcdPeer}`,
        '--unsafe-no-fsync',
        '--log-level=warn',
      ],
      { logFile: path.join(dir, 'etcd.log') },
    );
  };
  const startApi = (): void => {
    procs.api = startProcess(
      toolPath('kube-apiserver'),
      [
        `--etcd-servers=http://127.0.0.1:${etcdClient}`,
        `--secure-port=${apiPort}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--cert-dir=${dir}`,
        `--tls-cert-file=${path.join(dir, 'apiserver.crt')}`,
        `--tls-private-key-file=${path.join(dir, 'apiserver.key')}`,
        `--client-ca-file=${path.join(dir, 'ca.crt')}`,
        '--authorization-mode=RBAC',
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--service-account-key-file=${path.join(dir, 'sa.pub')}`,
        `--service-account-signing-key-file=${path.join(dir, 'sa.key')}`,
        '--service-cluster-ip-range=10.0.0.0/24',
        '--disable-admission-plugins=ServiceAccount',
        '--allow-privileged=true',
        '--profiling=false',
        '--v=1',
      ],
      { logFile: path.join(dir, 'kube-apiserver.log') },
    );
  };
  const waitReady = async (): Promise<void> => {
    await waitFor('kube-apiserver /readyz', async () => readyz(server, dir), 90_000, 300);
  };
  const stop = async (): Promise<void> => {
    if (procs.api) await stopProcess(procs.api, 5000);
    if (procs.etcd) await stopProcess(procs.etcd, 5000);
    if (!opts.dir) fs.rmSync(dir, { recursive: true, force: true });
  };
  const run = async (bin: string, args: string[], input?: string): Promise<KubectlResult> => {
    try {
      const p = execFileP(bin, args, {
        env: {
          ...process.env,
          KUBECONFIG: kubeconfig,
          HELM_CACHE_HOME: path.join(dir, 'helm-cache'),
          HELM_CONFIG_HOME: path.join(dir, 'helm-config'),
          HELM_DATA_HOME: path.join(dir, 'helm-data'),
        },
        timeout: 120_000,
        maxBuffer: 64 * 1024 * 1024,
      });
      if (input !== undefined) {
        p.child.stdin?.end(input);
      }
      const { stdout, stderr } = await p;
      return { code: 0, stdout, stderr };
    } catch (e) {
      const x = e as { code?: number; stdout?: string; stderr?: string };
      return {
        code: typeof x.code === 'number' ? x.code : 1,
        stdout: x.stdout ?? '',
        stderr: x.stderr ?? String(e),
      };
    }
  };
  try {
    startEtcd();
    startApi();
    await waitReady();
  } catch (e) {
    const log = fs.existsSync(path.join(dir, 'kube-apiserver.log'))
      ? fs.readFileSync(path.join(dir, 'kube-apiserver.log'), 'utf8').split('\n').slice(-30).join('\n')
      : '';
    await stop();
    throw new Error(`control plane did not start: ${(e as Error).message}\n${log}`);
  }
  return {
    dir,
    kubeconfig,
    server,
    kubectl: (args, o) => run(toolPath('kubectl'), args, o?.input),
    helm: (args) => run(toolPath('helm'), args),
    async restartApiServer(o = {}) {
      if (procs.api) await stopProcess(procs.api, 5000);
      await o.whileDown?.();
      startApi();
      await waitReady();
    },
    stop,
  };
}
