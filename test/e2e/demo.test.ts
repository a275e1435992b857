/**
 * `scripts/demo.sh` (npm run demo) on the guide's ports, stopped the ways a person stops it: SIGINT, SIGTERM
 * or SIGHUP sent to the script, Ctrl-C at a terminal (SIGINT to the whole foreground process group), or a
 * signal sent straight to its node process. Every time the monitor is stopped first (and :8080 is free),
 * then the etcd members, and nothing of the demo is left running.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../helpers/procs.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PORTS = [2379, 22379, 32379, 2380, 22380, 32380, 8080];

async function portTaken(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function children(pid: number): number[] {
  try {
    return fs
      .readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .split(/\s+/)
      .filter((s) => s !== '')
      .map(Number);
  } catch {
    return [];
  }
}

function cmdline(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}

interface Demo {
  script: ChildProcess;
  node: number;
  monitor: number;
  etcd: number[];
  output: () => string;
  /** Whether each process was alive when a line of the demo's own output first appeared. */
  at: Map<string, { monitor: boolean; etcd: boolean[] }>;
}

const MARKS = ['stopping the monitor', 'monitor stopped; stopping etcd', 'etcd stopped'];
const started: ChildProcess[] = [];
const pids = new Set<number>();

async function startDemo(): Promise<Demo> {
  // Its own process group, as a terminal's foreground job is.
  const script = spawn('bash', ['scripts/demo.sh'], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(script);
  let out = '';
  const demo: Demo = { script, node: 0, monitor: 0, etcd: [], output: () => out, at: new Map() };
  const onData = (b: Buffer): void => {
    out += b.toString();
    for (const m of MARKS) {
      if (!demo.at.has(m) && out.includes(m) && demo.monitor) {
        demo.at.set(m, { monitor: alive(demo.monitor), etcd: demo.etcd.map(alive) });
      }
    }
  };
  script.stdout!.on('data', onData);
  script.stderr!.on('data', onData);
  await waitFor(
    'the demo serving :8080 with 3 etcd members',
    async () => {
      if (script.exitCode !== null) throw new Error(`demo.sh exited ${script.exitCode}:\n${out}`);
      const res = await fetch('http://localhost:8080/api/v1/cluster/status', {
        signal: AbortSignal.timeout(2000),
      });
      if (!res.ok) return false;
      return ((await res.json()) as { healthyMembers?: number }).healthyMembers === 3;
    },
    180_000,
    500,
  );
  // demo.sh runs node as its child (or is that node itself, had it exec'd it).
  const [node] = [script.pid!, ...children(script.pid!)].filter((p) =>
    cmdline(p).includes('scripts/demo.ts'),
  );
  expect(node, `the node process of demo.sh (${children(script.pid!).map(cmdline).join('; ')})`).to.be.a(
    'number',
  );
  demo.node = node!;
  for (const p of children(node!)) {
    const c = cmdline(p);
    pids.add(p);
    if (c.includes('dist/cli/main.js')) demo.monitor = p;
    else if (/\betcd\b/.test(c.split(' ')[0]!) || c.includes('--initial-cluster=')) demo.etcd.push(p);
  }
  pids.add(node!);
  expect(demo.monitor, 'the monitor process').to.be.greaterThan(0);
  expect(demo.etcd, 'the etcd members').to.have.length(3);
  return demo;
}

async function stopped(d: Demo): Promise<number | null> {
  await waitFor(
    'demo.sh to exit',
    async () => d.script.exitCode !== null || d.script.signalCode !== null,
    30_000,
    100,
  );
  return d.script.exitCode;
}

describe('e2e: scripts/demo.sh stops the monitor first, then etcd, whatever signal arrives and whoever sends it', function () {
  this.timeout(5 * 60_000);

  before(async function () {
    for (const p of PORTS)
      if (await portTaken(p)) throw new Error(`port ${p} is taken; the demo needs the guide's ports`);
    if (!fs.existsSync(path.join(ROOT, 'dist/cli/main.js')))
      execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
  });

  afterEach(async () => {
    // Whatever a failed case left: the script's process group and every process of the demo.
    for (const s of started.splice(0)) {
      try {
        if (s.exitCode === null) process.kill(-s.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    for (const p of pids) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    pids.clear();
    await waitFor(
      'the guide ports free',
      async () => !(await Promise.all(PORTS.map(portTaken))).some(Boolean),
      15_000,
      200,
    );
  });

  const cases: Array<[string, NodeJS.Signals, 'script' | 'group' | 'node']> = [
    ['kill -INT of the demo.sh process', 'SIGINT', 'script'],
    ['kill -TERM of the demo.sh process', 'SIGTERM', 'script'],
    ['kill -HUP of the demo.sh process (terminal closed)', 'SIGHUP', 'script'],
    ['Ctrl-C at a terminal (SIGINT to the whole process group)', 'SIGINT', 'group'],
    ['kill -TERM of its node process', 'SIGTERM', 'node'],
  ];
  for (const [what, sig, target] of cases) {
    it(what, async () => {
      const d = await startDemo();
      if (target === 'script') process.kill(d.script.pid!, sig);
      else if (target === 'group') process.kill(-d.script.pid!, sig);
      else process.kill(d.node, sig);
      const code = await stopped(d);
      const out = d.output();
      expect(code, out).to.be.oneOf([0, 128 + 2, 128 + 15, 128 + 1]);
      for (const p of [d.node, d.monitor, ...d.etcd])
        expect(alive(p), `${p} ${cmdline(p)} still running`).to.equal(false);
      for (const p of PORTS) expect(await portTaken(p), `port ${p} after the demo stopped`).to.equal(false);
      // The order, seen from outside: etcd was up when the monitor was told to stop (the monitor itself may
      // already be gone by the time the line is read: it stops fast); the monitor was gone when etcd was told to stop.
      const first = d.at.get('stopping the monitor');
      const second = d.at.get('monitor stopped; stopping etcd');
      expect(first?.etcd, out).to.deep.equal([true, true, true]);
      expect(second?.monitor, out).to.equal(false);
      expect(out).to.contain('demo: etcd stopped');
    });
  }
});
