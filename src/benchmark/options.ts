/** Benchmark parameters: defaults and validation (pure). A bad value is a BenchmarkOptionError. */
import { DEFAULT_PREFIX_BASE, digitsFor } from './keys.js';

export type BenchmarkType = 'write' | 'read' | 'mixed';
export const BENCHMARK_TYPES: readonly BenchmarkType[] = ['write', 'read', 'mixed'];

/** l = linearizable (quorum) reads, s = serializable (local) reads — etcdctl's --consistency. */
export type Consistency = 'l' | 's';

export interface BenchmarkOptions {
  type: BenchmarkType;
  /** Timed requests in total. */
  ops: number;
  /** Concurrent requests in flight (each client issues one request at a time). */
  clients: number;
  /** Distinct gRPC connections (TCP connections), shared round-robin by the clients. */
  conns: number;
  /** Characters of each key below the run prefix. */
  keySize: number;
  valueSize: number;
  /** Requests per second across all clients; 0 = unlimited. */
  rate: number;
  /** Keys are chosen from this many distinct keys. */
  keySpaceSize: number;
  sequentialKeys: boolean;
  consistency: Consistency;
  /** Share of reads in a mixed run (0..1). */
  readRatio: number;
  /** Deadline of every call. */
  timeoutMs: number;
  /** Keys live under `<prefixBase><run id>/`. */
  prefixBase: string;
  /** Write the key space (untimed) before a run that reads. */
  prepopulate: boolean;
  /** Seed for key choice and the value (reproducible runs); undefined = random. */
  seed?: number;
}

export type BenchmarkInput = Partial<BenchmarkOptions>;

export class BenchmarkOptionError extends Error {}

export const DEFAULTS = {
  type: 'write' as BenchmarkType,
  ops: 10_000,
  clients: 50,
  keySize: 8,
  valueSize: 256,
  rate: 0,
  /** Key space defaults to min(ops, this). */
  maxDefaultKeySpace: 10_000,
  consistency: 'l' as Consistency,
  readRatio: 0.5,
  timeoutMs: 5000,
};

export const LIMITS = {
  ops: 10_000_000,
  clients: 10_000,
  conns: 1000,
  keySize: 4096,
  /** etcd refuses requests above --max-request-bytes (1.5 MiB by default). */
  valueSize: 1024 * 1024,
  keySpaceSize: 100_000_000,
};

function intIn(name: string, v: number, min: number, max: number): number {
  if (!Number.isInteger(v) || v < min || v > max)
    throw new BenchmarkOptionError(`--${name}: expected a whole number from ${min} to ${max}, got ${v}`);
  return v;
}

/**
 * Fill in defaults and check every value. `endpointCount` sets the default number of connections
 * (one per endpoint, so every member takes load).
 */
export function resolveOptions(input: BenchmarkInput, endpointCount: number): BenchmarkOptions {
  const type = input.type ?? DEFAULTS.type;
  if (!BENCHMARK_TYPES.includes(type))
    throw new BenchmarkOptionError(`--type: expected one of ${BENCHMARK_TYPES.join(', ')}, got "${type}"`);
  const ops = intIn('ops', input.ops ?? DEFAULTS.ops, 1, LIMITS.ops);
  const clients = intIn('clients', input.clients ?? Math.min(DEFAULTS.clients, ops), 1, LIMITS.clients);
  const conns = intIn('conns', input.conns ?? Math.max(1, Math.min(endpointCount, clients)), 1, LIMITS.conns);
  if (conns > clients)
    throw new BenchmarkOptionError(
      `--conns (${conns}) must not exceed --clients (${clients}): every connection needs a client`,
    );
  const keySpaceSize = intIn(
    'key-space-size',
    input.keySpaceSize ?? Math.min(ops, DEFAULTS.maxDefaultKeySpace),
    1,
    LIMITS.keySpaceSize,
  );
  const keySize = intIn(
    'key-size',
    input.keySize ?? Math.max(DEFAULTS.keySize, digitsFor(keySpaceSize)),
    1,
    LIMITS.keySize,
  );
  if (keySize < digitsFor(keySpaceSize)) {
    throw new BenchmarkOptionError(
      `--key-size ${keySize} is too small for --key-space-size ${keySpaceSize} (needs ${digitsFor(keySpaceSize)})`,
    );
  }
  const valueSize = intIn('value-size', input.valueSize ?? DEFAULTS.valueSize, 0, LIMITS.valueSize);
  const rate = input.rate ?? DEFAULTS.rate;
  if (!Number.isFinite(rate) || rate < 0)
    throw new BenchmarkOptionError(`--rate: expected a number >= 0 (0 = unlimited), got ${rate}`);
  const consistency = input.consistency ?? DEFAULTS.consistency;
  if (consistency !== 'l' && consistency !== 's')
    throw new BenchmarkOptionError(`--consistency: expected l or s, got "${String(consistency)}"`);
  let readRatio: number;
  if (type === 'mixed') {
    readRatio = input.readRatio ?? DEFAULTS.readRatio;
    if (!Number.isFinite(readRatio) || readRatio < 0 || readRatio > 1)
      throw new BenchmarkOptionError(`--read-ratio: expected a number from 0 to 1, got ${readRatio}`);
  } else {
    if (input.readRatio !== undefined)
      throw new BenchmarkOptionError('--read-ratio only applies to --type mixed');
    readRatio = type === 'read' ? 1 : 0;
  }
  const timeoutMs = input.timeoutMs ?? DEFAULTS.timeoutMs;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
    throw new BenchmarkOptionError(`--timeout must be positive, got ${timeoutMs}`);
  const prefixBase = input.prefixBase ?? DEFAULT_PREFIX_BASE;
  if (!prefixBase.startsWith('/') || prefixBase.length < 2)
    throw new BenchmarkOptionError(
      `--prefix must start with "/" and name something below it, got "${prefixBase}"`,
    );
  if (input.seed !== undefined && !Number.isInteger(input.seed))
    throw new BenchmarkOptionError(`--seed: expected a whole number, got ${input.seed}`);
  return {
    type,
    ops,
    clients,
    conns,
    keySize,
    valueSize,
    rate,
    keySpaceSize,
    sequentialKeys: input.sequentialKeys ?? false,
    consistency,
    readRatio,
    timeoutMs,
    prefixBase,
    prepopulate: input.prepopulate ?? type !== 'write',
    seed: input.seed,
  };
}
