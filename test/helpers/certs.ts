/** Throw-away PKI for TLS tests, made with the openssl CLI. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Pki {
  dir: string;
  caFile: string;
  caKeyFile: string;
  serverCertFile: string;
  serverKeyFile: string;
  clientCertFile: string;
  clientKeyFile: string;
  /** A second, unrelated CA: verifying the members with it must fail. */
  otherCaFile: string;
  cleanup(): void;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function makeCa(dir: string, name: string): void {
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.crt`,
    ],
    dir,
  );
}

function signLeaf(dir: string, ca: string, name: string, cn: string, ext: string): void {
  fs.writeFileSync(path.join(dir, `${name}.ext`), ext);
  openssl(
    [
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      `/CN=${cn}`,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
    ],
    dir,
  );
  openssl(
    [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${ca}.crt`,
      '-CAkey',
      `${ca}.key`,
      '-CAcreateserial',
      '-days',
      '2',
      '-out',
      `${name}.crt`,
      '-extfile',
      `${name}.ext`,
    ],
    dir,
  );
}

export function makePki(): Pki {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'etcd-monitor-pki-'));
  makeCa(dir, 'ca');
  makeCa(dir, 'other-ca');
  signLeaf(
    dir,
    'ca',
    'server',
    'etcd-server',
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n',
  );
  signLeaf(dir, 'ca', 'client', 'etcd-monitor', 'extendedKeyUsage=clientAuth\n');
  const f = (n: string): string => path.join(dir, n);
  return {
    dir,
    caFile: f('ca.crt'),
    caKeyFile: f('ca.key'),
    serverCertFile: f('server.crt'),
    serverKeyFile: f('server.key'),
    clientCertFile: f('client.crt'),
    clientKeyFile: f('client.key'),
    otherCaFile: f('other-ca.crt'),
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
