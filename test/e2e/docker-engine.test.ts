/**
 * scripts/docker-engine.sh, as CI meets it on a machine where no engine answers: in a private mount and
 * network namespace (its own empty /var/run and /var/lib/docker, only loopback), `start` starts a fresh
 * dockerd and waits for it, a second `start` uses the running one, and `stop` stops that daemon and
 * nothing else: the machine's own engine, if any, is untouched. Needs root and unshare(1).
 */
import { expect } from 'chai';
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Run in the namespace; prints one `key=value` line per finding. */
const SCRIPT = `
set -euo pipefail
mount -t tmpfs tmpfs /var/run
mount -t tmpfs tmpfs /var/lib/docker
ip link set lo up 2>/dev/null || true
cd "$1"
if docker info >/dev/null 2>&1; then echo "before=answers"; else echo "before=none"; fi
bash scripts/docker-engine.sh start
echo "pid=$(cat "$DOCKER_ENGINE_STATE_DIR/dockerd.pid")"
echo "images=$(docker info --format '{{.Images}}')"
bash scripts/docker-engine.sh start
bash scripts/docker-engine.sh stop
if docker info >/dev/null 2>&1; then echo "after=answers"; else echo "after=none"; fi
[ -e "$DOCKER_ENGINE_STATE_DIR/dockerd.pid" ] && echo "pidfile=kept" || echo "pidfile=removed"
`;

function usable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root';
  for (const cmd of ['unshare', 'dockerd', 'docker']) {
    try {
      execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'pipe' });
    } catch {
      return `needs ${cmd}`;
    }
  }
  return undefined;
}

function hostEngineAnswers(): boolean {
  try {
    execFileSync('docker', ['info', '--format', '{{.ServerVersion}}'], { stdio: 'pipe', timeout: 20_000 });
    return true;
  } catch {
    return false;
  }
}

/** Pids of the dockerd processes running now. */
function dockerds(): number[] {
  return fs
    .readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return fs.readFileSync(`/proc/${d}/comm`, 'utf8').trim() === 'dockerd';
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('e2e: scripts/docker-engine.sh starts a dockerd when none answers and stops only that one', function () {
  this.timeout(180_000);
  let state = '';

  before(function () {
    const why = usable();
    if (why) {
      if (process.env.CI) throw new Error(`cannot test scripts/docker-engine.sh here: ${why}`);
      console.log(`      skipped: ${why}`);
      this.skip();
    }
    state = fs.mkdtempSync(path.join(os.tmpdir(), 'etcd-monitor-dockerd-'));
  });

  after(() => {
    // A failed run may leave its dockerd: stop that one (by its pid, if it still is a dockerd).
    const pidfile = path.join(state, 'dockerd.pid');
    if (state && fs.existsSync(pidfile)) {
      const pid = Number(fs.readFileSync(pidfile, 'utf8').trim());
      try {
        if (fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'dockerd') process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    if (state) fs.rmSync(state, { recursive: true, force: true });
  });

  it('start → a new engine (empty, in the namespace); start again → reused; stop → gone; the host engine untouched', async () => {
    const hostAnswered = hostEngineAnswers();
    const hostDaemons = dockerds();
    const { stdout, stderr } = await execFileP(
      'unshare',
      ['-m', '-n', '--propagation', 'private', 'bash', '-c', SCRIPT, 'docker-engine-test', ROOT],
      {
        env: { ...process.env, DOCKER_ENGINE_STATE_DIR: state },
        timeout: 150_000,
      },
    ).catch((e: { stdout?: string; stderr?: string; message: string }) => {
      throw new Error(
        `${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}\n${fs.existsSync(path.join(state, 'dockerd.log')) ? fs.readFileSync(path.join(state, 'dockerd.log'), 'utf8').slice(-3000) : ''}`,
      );
    });
    const found = Object.fromEntries(
      stdout
        .split('\n')
        .filter((l) => /^[a-z]+=/.test(l))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    const out = `${stdout}\n${stderr}`;
    expect(found.before, out).to.equal('none');
    expect(out).to.match(/docker-engine: no engine answers; starting dockerd/);
    expect(out).to.match(/docker-engine: dockerd \d+ is up/);
    expect(found.images, 'a fresh engine, not the host one').to.equal('0');
    expect(out).to.match(/docker-engine: using the running engine/);
    expect(out).to.match(new RegExp(`docker-engine: stopping dockerd ${found.pid}`));
    expect(found.after, out).to.equal('none');
    expect(found.pidfile).to.equal('removed');
    expect(fs.existsSync(`/proc/${found.pid}`), `dockerd ${found.pid} is gone`).to.equal(false);
    expect(hostEngineAnswers(), 'the host engine still answers as before').to.equal(hostAnswered);
    for (const p of hostDaemons)
      expect(fs.existsSync(`/proc/${p}`), `the host's dockerd ${p} still runs`).to.equal(true);
  });
});
