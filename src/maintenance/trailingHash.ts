/** etcd's snapshot trailer: the SHA-256 of the database, appended as the stream's last 32 bytes. */
import { createHash } from 'node:crypto';

export const HASH_BYTES = 32;

export interface HashProblem {
  reason: 'Truncated' | 'HashMismatch';
  message: string;
}

/**
 * The SHA-256 of everything but the newest 32 bytes, which must equal them. Chunks are hashed as they
 * are (no copies): the newest ones are held back only until 32 bytes have arrived after them, so the
 * bytes hashed are the very buffers handed on to be written.
 */
export class TrailingHash {
  private readonly hash = createHash('sha256');
  private held: Buffer[] = [];
  private heldBytes = 0;
  bytes = 0;
  digest = '';

  update(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.bytes += chunk.length;
    this.held.push(chunk);
    this.heldBytes += chunk.length;
    while (this.heldBytes - this.held[0]!.length >= HASH_BYTES) {
      const first = this.held.shift()!;
      this.hash.update(first);
      this.heldBytes -= first.length;
    }
  }

  /** At the end: what is wrong (undefined when the stream ended with the SHA-256 of what came before). */
  verify(): HashProblem | undefined {
    if (this.heldBytes < HASH_BYTES) {
      return {
        reason: 'Truncated',
        message: `snapshot stream ended after ${this.bytes} bytes, before etcd's 32-byte hash`,
      };
    }
    const last = this.held.length === 1 ? this.held[0]! : Buffer.concat(this.held, this.heldBytes);
    this.held = [];
    this.hash.update(last.subarray(0, last.length - HASH_BYTES));
    const tail = last.subarray(last.length - HASH_BYTES);
    const got = this.hash.digest();
    this.digest = got.toString('hex');
    if (got.equals(tail)) return undefined;
    return {
      reason: 'HashMismatch',
      message: `snapshot hash mismatch: SHA-256 of the ${this.bytes - HASH_BYTES} database bytes is ${this.digest}, etcd sent ${tail.toString('hex')}`,
    };
  }
}
