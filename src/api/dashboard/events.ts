/**
 * `GET /events`: Server-Sent Events for the live dashboard.
 *
 * On connect: `retry: 2000`, then one `hello` event (every cluster's summary, the selected cluster's
 * full status and its whole history). Then one `round` event per probe round of any cluster (its
 * summary and the new history point; the selected cluster's rounds also carry the full status),
 * `removed` when a cluster stops being monitored, and a `: heartbeat` comment every 15s so proxies
 * keep the connection open. Each event is serialised once and written to every client.
 */
import type http from 'node:http';
import type { ClusterMonitor, RoundResult } from '../../monitor/clusterMonitor.js';
import type { HistoryPoint, HistoryStore } from './history.js';
import type { MonitorRegistry } from '../../monitor/registry.js';
import { clusterSummary } from '../views.js';
import type { ClusterSummary, HelloEvent, RemovedEvent, RoundEvent } from './wire.js';

export const DEFAULT_HEARTBEAT_MS = 15_000;
/** How long the browser waits before reconnecting after the stream drops (e.g. the monitor restarts). */
export const RETRY_MS = 2000;
/** A client that stops reading is dropped (it reconnects and gets a fresh snapshot) rather than buffered without bound. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

interface Client {
  res: http.ServerResponse;
  /** The cluster whose full status and history this client gets; null until one exists. */
  selected: string | null;
  /** Chosen with ?cluster= (kept even when that cluster goes away) rather than by default. */
  explicit: boolean;
}

/** views.clusterSummary, typed for the wire (the same fields as `GET /api/v1/clusters`). */
function summaryOf(m: ClusterMonitor): ClusterSummary {
  return clusterSummary(m) as unknown as ClusterSummary;
}

export function sseFrame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

export class EventHub {
  private readonly clients = new Set<Client>();
  private readonly timer: NodeJS.Timeout;
  private readonly onPoint = (r: RoundResult, p: HistoryPoint): void => this.broadcastRound(r, p);
  private readonly onRemoved = (name: string): void => this.broadcastRemoved(name);

  constructor(
    private readonly registry: MonitorRegistry,
    private readonly history: HistoryStore,
    private readonly heartbeatMs = DEFAULT_HEARTBEAT_MS,
  ) {
    history.on('point', this.onPoint);
    history.on('removed', this.onRemoved);
    this.timer = setInterval(() => this.heartbeat(), heartbeatMs);
    this.timer.unref();
  }

  get size(): number {
    return this.clients.size;
  }

  /** Start streaming to a request that is already authorised; `selected` comes from ?cluster= when given. */
  open(req: http.IncomingMessage, res: http.ServerResponse, selected: ClusterMonitor | undefined): void {
    const chosen = selected ?? this.registry.list()[0];
    const client: Client = { res, selected: chosen?.name ?? null, explicit: selected !== undefined };
    req.socket.setTimeout(0);
    req.socket.setNoDelay(true);
    req.socket.setKeepAlive(true, 30_000);
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    this.clients.add(client);
    res.on('close', () => this.clients.delete(client));
    this.write(client, `retry: ${RETRY_MS}\n\n` + sseFrame('hello', this.hello(chosen)));
  }

  private hello(selected: ClusterMonitor | undefined): HelloEvent {
    return {
      serverTime: new Date().toISOString(),
      heartbeatMs: this.heartbeatMs,
      historyCapacity: this.history.capacity,
      clusters: this.registry
        .list()
        .map((m) => ({ name: m.name, intervalMs: m.config.intervalMs, summary: summaryOf(m) })),
      selected: selected?.name ?? null,
      status: selected?.status ? { cluster: selected.name, ...selected.status } : null,
      points: selected ? this.history.points(selected.name) : [],
    };
  }

  private broadcastRound(r: RoundResult, point: HistoryPoint): void {
    if (this.clients.size === 0) return;
    const m = this.registry.get(r.cluster);
    if (!m) return;
    const base: RoundEvent = {
      cluster: r.cluster,
      intervalMs: m.config.intervalMs,
      probeRoundMs: Math.round(r.durationMs),
      summary: summaryOf(m),
      point,
    };
    let lite: string | undefined;
    let full: string | undefined;
    for (const c of this.clients) {
      if (c.selected === null && !c.explicit) c.selected = r.cluster;
      if (c.selected === r.cluster) {
        full ??= sseFrame('round', {
          ...base,
          status: { cluster: r.cluster, ...r.evaluation.status },
        } satisfies RoundEvent);
        this.write(c, full);
      } else {
        lite ??= sseFrame('round', base);
        this.write(c, lite);
      }
    }
  }

  private broadcastRemoved(name: string): void {
    const frame = sseFrame('removed', { cluster: name } satisfies RemovedEvent);
    for (const c of this.clients) {
      if (c.selected === name && !c.explicit) c.selected = null;
      this.write(c, frame);
    }
  }

  private heartbeat(): void {
    const frame = `: heartbeat ${new Date().toISOString()}\n\n`;
    for (const c of this.clients) this.write(c, frame);
  }

  private write(c: Client, chunk: string): void {
    const res = c.res;
    if (res.destroyed || res.writableEnded) {
      this.clients.delete(c);
      return;
    }
    if (res.writableLength > MAX_BUFFERED_BYTES) {
      this.clients.delete(c);
      res.destroy();
      return;
    }
    res.write(chunk);
  }

  /** Stop listening and end every stream (the server closing also destroys them). */
  close(): void {
    clearInterval(this.timer);
    this.history.off('point', this.onPoint);
    this.history.off('removed', this.onRemoved);
    for (const c of this.clients) c.res.end();
    this.clients.clear();
  }
}
