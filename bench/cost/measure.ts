/**
 * Cost parts 2 + 3, the parent side: what one scale run is asked and answers, and measureScale(), which
 * runs it (runScale in scale.ts) in a fresh child process (worker.ts) so its RSS is its own.
 */
import { fork } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Quantiles } from './quantiles.js';
import type { ProfileSummary } from '../lib/profile.js';

export interface ScaleOptions {
  /** How many clusters to monitor. */
  clusters: number;
  /** Client URLs of the real etcd clusters the monitored clusters point at, round-robin. */
  targets: string[][];
  intervalMs: number;
  timeoutMs: number;
  /** Scrape each member's /metrics (the EtcdMonitor default). */
  memberMetrics: boolean;
  /** The members' /metrics URLs, parallel to `targets` (default <endpoint>/metrics): e.g. a MetricsReplay. */
  metricsUrls?: string[][];
  /** Ask for gzip /metrics (the default, true); false measures the uncompressed scrape. */
  metricsGzip?: boolean;
  /** Ask for the protobuf exposition (the default, true); false measures the text scrape. */
  metricsProtobuf?: boolean;
  /** Extra settling time after every cluster has completed its first round. */
  settleMs: number;
  /** The measured window. */
  windowMs: number;
  /** Fill the dashboard history to its capacity first, as after capacity × interval of running. */
  fillHistory: boolean;
  /** How many times to time the /metrics and /api/v1/clusters renders. */
  renders: number;
  /** Write a CPU profile of the window here (and summarise it). */
  profilePath?: string;
  /** Write a heap snapshot after the window here (needs the worker's --expose-gc). */
  heapSnapshotPath?: string;
  /** Extra node flags for the worker (measureScale), e.g. ['--max-old-space-size=192']. */
  nodeFlags?: string[];
}

export interface ScaleResult {
  clusters: number;
  members: number;
  intervalMs: number;
  timeoutMs: number;
  memberMetrics: boolean;
  /** Where the members' /metrics came from, and whether gzip was asked for (with member /metrics). */
  metricsSource?: 'etcd' | 'replay';
  metricsGzip?: boolean;
  /** Whether the protobuf exposition was asked for (false: the text one). */
  metricsProtobuf?: boolean;
  /** Node flags the worker ran with besides --expose-gc (e.g. a heap limit). */
  nodeFlags: string[];
  historyPointsPerCluster: number;
  windowSeconds: number;
  /** CPU of the whole process (all threads) over the window, in cores (1 = one CPU busy all the time). */
  cpu: { cores: number; userCores: number; systemCores: number; msPerClusterRound: number };
  /** Share of the window the event loop was busy. */
  eventLoopUtilization: number;
  /**
   * The process could not keep up (event loop busy > 95% of the window, fewer than 90% of the expected
   * rounds, or more than 5% of rounds with errors): its figures are those of an overloaded process
   * (work queued up), not a steady state.
   */
  saturated: boolean;
  /** perf_hooks.monitorEventLoopDelay over the window, ms. */
  eventLoopDelayMs: { p50: number; p99: number; max: number };
  memory: {
    /** RSS once the engine, exporter and API server exist, before any cluster. */
    baselineRssMiB: number;
    /** RSS after every cluster's first round, before the history was filled. */
    afterFirstRoundsRssMiB: number;
    rssMiB: { end: number; max: number };
    heapUsedMiB: number;
    /** V8 heap reserved (used + free space it keeps), part of the RSS. */
    heapTotalMiB: number;
    /** Heap still in use after a full garbage collection (live data), when the worker can force one. */
    heapLiveMiB?: number;
    externalMiB: number;
  };
  rounds: {
    count: number;
    expected: number;
    durationMs: Quantiles | undefined;
    withErrors: number;
    errorSamples: string[];
  };
  phases: Record<string, number>;
  render: {
    metrics: { ms: Quantiles; bytes: number; lines: number };
    /** Through the API server; `failed` counts answers other than 200 (an overloaded server times requests out). */
    metricsHttp: { ms: Quantiles; bytes: number; failed: number };
    clustersJson: { ms: Quantiles; bytes: number };
    clustersJsonHttp: { ms: Quantiles; bytes: number; failed: number };
  };
  profile?: { file: string; summary: ProfileSummary };
}

export interface ScaleHooks {
  /** Called when the measured window starts and ends (the parent samples the etcd members' CPU). */
  onWindow?(phase: 'start' | 'end'): void | Promise<void>;
  log?(msg: string): void;
}

/**
 * Run runScale() in a fresh child process so the RSS is that N's alone. The worker is
 * bench/cost/worker (run through tsx when this file is TypeScript), or `worker`: a compiled
 * worker.js run by plain node, as production runs (tsx's loader alone adds tens of MiB of RSS).
 */
export function measureScale(o: ScaleOptions, hooks: ScaleHooks = {}, worker?: string): Promise<ScaleResult> {
  const self = fileURLToPath(import.meta.url);
  const script = worker ?? path.join(path.dirname(self), `worker${path.extname(self)}`);
  // --expose-gc only to measure the live heap after the window (runScale calls gc() once, at the end).
  const execArgv = [
    '--expose-gc',
    ...(o.nodeFlags ?? []),
    ...(script.endsWith('.js')
      ? []
      : process.execArgv.some((a) => a.includes('tsx'))
        ? process.execArgv
        : [...process.execArgv, '--import', 'tsx']),
  ];
  return new Promise((resolve, reject) => {
    const child = fork(script, [], {
      execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
    });
    let result: ScaleResult | undefined;
    let failure: Error | undefined;
    child.on('message', (msg: WorkerMessage) => {
      if (msg.type === 'window') {
        void Promise.resolve(hooks.onWindow?.(msg.phase)).finally(() => child.send({ type: 'window-ack' }));
      } else if (msg.type === 'log') hooks.log?.(msg.text);
      else if (msg.type === 'result') result = msg.result;
      else if (msg.type === 'error') failure = new Error(msg.message);
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (result) resolve(result);
      else reject(failure ?? new Error(`cost worker exited (${signal ?? code}) without a result`));
    });
    child.send({ type: 'run', options: o });
  });
}

export type WorkerMessage =
  | { type: 'window'; phase: 'start' | 'end' }
  | { type: 'log'; text: string }
  | { type: 'result'; result: ScaleResult }
  | { type: 'error'; message: string };
