/**
 * Keys, values and the operation plan of a benchmark run. Pure: randomness comes in as a function.
 *
 * Every key is `<prefix><index>`, the index zero-padded to `keySize` characters, so each key below
 * the prefix is exactly keySize bytes and the whole run can be deleted with one range delete.
 */

/** A source of uniform numbers in [0, 1) (Math.random, or a seeded generator in tests). */
export type Rng = () => number;

/** Characters needed to write the largest index of a key space of `size` keys. */
export function digitsFor(size: number): number {
  return String(Math.max(0, size - 1)).length;
}

/** The key of one index: prefix + zero-padded decimal index, keySize characters below the prefix. */
export function formatKey(prefix: string, index: number, keySize: number): string {
  const s = String(index);
  if (s.length > keySize) throw new RangeError(`key index ${index} does not fit in ${keySize} characters`);
  return prefix + s.padStart(keySize, '0');
}

/**
 * Which key index operation number `op` uses: sequential keys walk the space in order (wrapping);
 * random keys are drawn uniformly from it.
 */
export function keyIndex(op: number, keySpaceSize: number, sequential: boolean, rng: Rng): number {
  if (sequential) return op % keySpaceSize;
  return Math.min(keySpaceSize - 1, Math.floor(rng() * keySpaceSize));
}

/**
 * Whether operation number `op` of a mixed run is a read. Deterministic and evenly interleaved:
 * after n operations exactly floor(n * readRatio) of them were reads.
 */
export function isRead(op: number, readRatio: number): boolean {
  return Math.floor((op + 1) * readRatio) > Math.floor(op * readRatio);
}

/** Number of reads among the first `ops` operations of a mixed run (matches isRead). */
export function readCount(ops: number, readRatio: number): number {
  return Math.floor(ops * readRatio);
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** A printable random string (so `etcdctl get` output stays readable). */
export function randomText(length: number, rng: Rng): string {
  let s = '';
  for (let i = 0; i < length; i++) s += ALPHABET[Math.floor(rng() * ALPHABET.length)]!;
  return s;
}

/** The value every put writes (generated once per run, as etcd's benchmark does). */
export function makeValue(size: number, rng: Rng): Buffer {
  return Buffer.from(randomText(size, rng), 'latin1');
}

export const DEFAULT_PREFIX_BASE = '/etcd-monitor-bench/';

/** The prefix of one run: `<base><run id>/`. A fresh run id means we never touch anyone else's keys. */
export function runPrefix(base: string, rng: Rng): string {
  const b = base.endsWith('/') ? base : base + '/';
  return `${b}${randomText(12, rng)}/`;
}

/** A small deterministic generator (mulberry32) for reproducible tests and --seed. */
export function seededRng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
