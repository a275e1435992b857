/**
 * The benchmark's KV client for one member: Put, Range and DeleteRange as gRPC unary calls over the
 * hand-framed HTTP/2 channel (../etcd/wire/channel.ts), with the protobuf messages encoded and read by
 * hand (only the fields used). Same contract as MemberClient's calls: every call has a deadline and is
 * issued once; failures are EtcdCallErrors with the gRPC code name.
 */
import { EtcdCallError } from '../etcd/callError.js';
import type { Endpoint } from '../etcd/endpoints.js';
import type { ConnectionOptions } from '../etcd/grpc.js';
import { WireChannel, method } from '../etcd/wire/channel.js';
import { encodeMessage, readField } from '../etcd/wire/proto.js';

export class KvChannel {
  private readonly ch: WireChannel;
  private readonly put_ = method('KV', 'Put');
  private readonly range_ = method('KV', 'Range');
  private readonly deleteRange_ = method('KV', 'DeleteRange');

  constructor(endpoint: Endpoint, options: ConnectionOptions = {}) {
    this.ch = new WireChannel(endpoint, options);
  }

  /** Whether a connection is up (the member's SETTINGS arrived). */
  connected(): boolean {
    return this.ch.connected();
  }

  put(key: Buffer, value: Buffer, timeoutMs: number): Promise<unknown> {
    return this.ch.call(this.put_, encodeMessage([key, value]), timeoutMs);
  }

  /** A range of one key; resolves to its value (undefined when there is no such key). */
  async get(key: Buffer, timeoutMs: number, serializable = false): Promise<Buffer | undefined> {
    const r = await this.ch.call(
      this.range_,
      encodeMessage([key, undefined, 0, 0, 0, 0, serializable]),
      timeoutMs,
    );
    const kv = readField(r, 2);
    return typeof kv === 'object' ? (readField(kv, 5) as Buffer | undefined) : undefined;
  }

  /** How many keys a range returns (`limit`, keys only). */
  async count(key: Buffer, rangeEnd: Buffer | undefined, limit: number, timeoutMs: number): Promise<number> {
    const r = await this.ch.call(
      this.range_,
      encodeMessage([key, rangeEnd, limit, 0, 0, 0, false, true]),
      timeoutMs,
    );
    return readField(r, 2, true) as number;
  }

  /** The check `etcdctl endpoint health` makes (MemberClient.healthRead): permission denied counts as healthy. */
  async healthRead(timeoutMs: number): Promise<void> {
    try {
      await this.count(Buffer.from('health'), undefined, 1, timeoutMs);
    } catch (e) {
      if (!(e instanceof EtcdCallError && /permission denied/i.test(e.details))) throw e;
    }
  }

  async deleteRange(
    key: Buffer,
    rangeEnd: Buffer,
    timeoutMs: number,
  ): Promise<{ deleted: number; revision: number }> {
    const r = await this.ch.call(this.deleteRange_, encodeMessage([key, rangeEnd]), timeoutMs);
    const header = readField(r, 1);
    return {
      deleted: Number(readField(r, 2) ?? 0),
      revision: typeof header === 'object' ? Number(readField(header, 3) ?? 0) : 0,
    };
  }

  close(): void {
    this.ch.close();
  }
}
