/**
 * Ctrl-C / SIGTERM for commands that must clean up after themselves (benchmark, check perf): the first
 * signal (or the caller's abort) aborts `run`'s signal and prints `notice`; a second signal exits at once.
 */
import type { Io } from './io.js';

export async function withInterrupt<T>(
  io: Io,
  notice: string,
  outer: AbortSignal | undefined,
  run: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const ac = new AbortController();
  let interrupts = 0;
  const onSignal = (): void => {
    if (++interrupts > 1) process.exit(130);
    io.err(notice);
    ac.abort();
  };
  const onOuter = (): void => ac.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  outer?.addEventListener('abort', onOuter, { once: true });
  try {
    return await run(ac.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    outer?.removeEventListener('abort', onOuter);
  }
}
