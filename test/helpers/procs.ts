/** Child processes started by tests: every one is killed when the test process exits, even on failure. */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import fs from 'node:fs';

const live = new Set<ChildProcess>();

function killAll(): void {
  for (const p of live) {
    try {
      if (p.pid) process.kill(p.pid, 'SIGCONT');
      p.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
  live.clear();
}

process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    killAll();
    process.exit(130);
  });
}

export function startProcess(
  cmd: string,
  args: string[],
  opts: SpawnOptions & { logFile?: string } = {},
): ChildProcess {
  const p = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(p);
  if (opts.logFile) {
    const out = fs.createWriteStream(opts.logFile, { flags: 'a' });
    p.stdout?.pipe(out);
    p.stderr?.pipe(out);
  } else {
    p.stdout?.resume();
    p.stderr?.resume();
  }
  p.once('exit', () => live.delete(p));
  return p;
}

/** Stop a process: SIGTERM, then SIGKILL after `graceMs`. Resolves when it has exited. */
export async function stopProcess(p: ChildProcess, graceMs = 3000): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
  try {
    if (p.pid) process.kill(p.pid, 'SIGCONT');
  } catch {
    /* gone */
  }
  p.kill('SIGTERM');
  const timer = setTimeout(() => p.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs: number,
  everyMs = 100,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      lastErr = e;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(
    `timed out after ${timeoutMs}ms waiting for ${what}${lastErr ? `: ${String(lastErr)}` : ''}`,
  );
}

/**
 * Start servers side by side. When one fails to start, the others that did are stopped before the error is
 * thrown: a test whose before() fails never gets to stop what it has not been handed.
 */
export async function startTogether<T extends readonly { stop(): Promise<unknown> }[]>(starts: {
  [K in keyof T]: Promise<T[K]>;
}): Promise<T> {
  const settled = await Promise.allSettled(starts as readonly Promise<T[number]>[]);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (!failed) return settled.map((s) => (s as PromiseFulfilledResult<T[number]>).value) as unknown as T;
  await Promise.all(
    settled.map((s) => (s.status === 'fulfilled' ? s.value.stop().catch(() => undefined) : undefined)),
  );
  throw failed.reason;
}
