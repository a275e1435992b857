#!/usr/bin/env -S node --max-old-space-size=512
/** The etcd-monitor binary: subcommand dispatch. The only place that wires every part together. */
import { pathToFileURL } from 'node:url';
import { realpathSync } from 'node:fs';
import { UsageError } from './args.js';
import type { Io } from './io.js';
import { MAIN_USAGE } from './usage.js';
import { runMonitor } from './monitorCommand.js';

export type { Io };

const processIo: Io = {
  out: (s) => process.stdout.write(s + '\n'),
  err: (s) => process.stderr.write(s + '\n'),
  env: process.env,
};

/** Returns the exit code; long-running commands resolve only when they stop. */
export async function main(argv: string[], io: Io = processIo): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    (first === undefined ? io.err : io.out)(MAIN_USAGE);
    return first === undefined ? 2 : 0;
  }
  if (first === '--version' || first === 'version') {
    io.out('etcd-monitor 0.1.0');
    return 0;
  }
  try {
    switch (first) {
      case 'monitor':
        return await runMonitor(rest, io);
      // The other subcommands are loaded only when asked for: the operator pulls in
      // @kubernetes/client-node (~75 MiB of RSS) and `snapshot` grpc-js (~20 MiB), which the standalone
      // monitor never needs (test/integration/lazy-operator.test.ts).
      case 'status':
        return await (await import('./statusCommand.js')).runStatus(rest, io);
      case 'benchmark':
        return await (await import('./benchmarkCommand.js')).runBenchmarkCommand(rest, io);
      case 'operator':
        return await (await import('./operatorCommand.js')).runOperator(rest, io);
      case 'snapshot':
        return await (await import('./snapshotCommand.js')).runSnapshot(rest, io);
      case 'check':
        return await (await import('./checkPerfCommand.js')).runCheck(rest, io);
      case 'advise':
        return await (await import('./adviseCommand.js')).runAdvise(rest, io);
      default:
        if (first.startsWith('-')) return await runMonitor(argv, io);
        throw new UsageError(`unknown command "${first}"`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`etcd-monitor: ${e.message}\n\n${MAIN_USAGE}`);
      return 2;
    }
    io.err(`etcd-monitor: ${(e as Error).message}`);
    return 1;
  }
}

function isEntryPoint(): boolean {
  const arg = process.argv[1];
  if (!arg) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(arg)).href;
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`etcd-monitor: ${String(e)}\n`);
      process.exit(1);
    },
  );
}
