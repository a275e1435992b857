/**
 * The probe's client for one member: the calls of a probe round (the health read, Status, the member
 * and alarm lists, the opt-in write probe) over the hand-framed HTTP/2 channel (wire/channel.ts)
 * instead of grpc-js — ~30 µs of CPU per call instead of ~400, which is most of a round's cost when
 * one process probes a thousand clusters. Same answers, errors and timings as grpc.ts's MemberClient
 * (maintenance — snapshots, defragmentation — stays there). A connection that stops answering is
 * dropped and dialled again (keepalive ping on a timed-out call), as grpc-js's keepalive would.
 */
import { EtcdCallError } from './callError.js';
import type { Endpoint } from './endpoints.js';
import type {
  AlarmEntry,
  CallTiming,
  ConnectionOptions,
  MemberListEntry,
  MemberStatusResponse,
} from './grpc.js';
import { prefixEnd } from './keyRange.js';
import type { StallMeter } from './loopLag.js';
import { WireChannel, method, type TimingSink } from './wire/channel.js';
import {
  EMPTY_REQUEST,
  HEALTH_READ_REQUEST,
  decodeAlarms,
  decodeDeleted,
  decodeMemberList,
  decodeStatus,
} from './wire/messages.js';
import { encodeMessage } from './wire/proto.js';

/** How long a timed-out connection has to answer a PING before it is dropped (grpc-js keepalive_timeout). */
const KEEPALIVE_TIMEOUT_MS = 5_000;

export class ProbeClient {
  private readonly ch: WireChannel;
  private readonly range_ = method('KV', 'Range');
  private readonly put_ = method('KV', 'Put');
  private readonly deleteRange_ = method('KV', 'DeleteRange');
  private readonly status_ = method('Maintenance', 'Status');
  private readonly alarm_ = method('Maintenance', 'Alarm');
  private readonly memberList_ = method('Cluster', 'MemberList');

  constructor(
    readonly endpoint: Endpoint,
    options: ConnectionOptions = {},
  ) {
    this.ch = new WireChannel(endpoint, options, { keepaliveTimeoutMs: KEEPALIVE_TIMEOUT_MS });
  }

  /** Whether a connection is up: a call issued now needs no set-up. */
  connected(): boolean {
    return this.ch.connected();
  }

  /** Connect now if not connected (see WireChannel.connect). */
  connect(timeoutMs: number): Promise<void> {
    return this.ch.connect(timeoutMs);
  }

  /**
   * The check `etcdctl endpoint health` makes: a linearizable range on a key that need not exist.
   * Permission denied still proves the member served a quorum read, so it counts as healthy.
   * Resolves to the timing of the range RPC itself (see CallTiming).
   */
  async healthRead(timeoutMs: number, stall?: StallMeter): Promise<CallTiming> {
    const timing: TimingSink = { stall };
    try {
      await this.ch.call(this.range_, HEALTH_READ_REQUEST, timeoutMs, timing);
    } catch (e) {
      if (!(e instanceof EtcdCallError && /permission denied/i.test(e.details))) throw e;
    }
    return timing.out ?? { ms: 0, setup: true };
  }

  async status(timeoutMs: number): Promise<MemberStatusResponse> {
    return decodeStatus(await this.ch.call(this.status_, EMPTY_REQUEST, timeoutMs));
  }

  async alarms(timeoutMs: number): Promise<AlarmEntry[]> {
    return decodeAlarms(await this.ch.call(this.alarm_, EMPTY_REQUEST, timeoutMs));
  }

  async memberList(timeoutMs: number): Promise<MemberListEntry[]> {
    return decodeMemberList(await this.ch.call(this.memberList_, EMPTY_REQUEST, timeoutMs));
  }

  /** A put that resolves to the timing of its own RPC (see CallTiming): the write probe. */
  async timedPut(key: Buffer, value: Buffer, timeoutMs: number, stall?: StallMeter): Promise<CallTiming> {
    const timing: TimingSink = { stall };
    await this.ch.call(this.put_, encodeMessage([key, value]), timeoutMs, timing);
    return timing.out ?? { ms: 0, setup: true };
  }

  /** Delete every key with the given prefix; returns how many were deleted. */
  async deletePrefix(prefix: Buffer, timeoutMs: number): Promise<number> {
    const body = encodeMessage([prefix, prefixEnd(prefix)]);
    return decodeDeleted(await this.ch.call(this.deleteRange_, body, timeoutMs));
  }

  close(): void {
    this.ch.close();
  }
}
