/**
 * List + watch of EtcdMonitors with a local cache: relist on 410 Gone, restart with backoff on any
 * other error or a closed stream, and a watchdog that restarts a watch that went silent.
 */
import type { Logger } from '../log.js';
import { WatchExpiredError, type EtcdMonitorObject, type KubeClient, type WatchHandle } from './kube.js';

export interface InformerOptions {
  namespace?: string;
  labelSelector?: string;
  /** Restart a watch that delivered nothing (not even a bookmark) for this long. */
  watchdogMs?: number;
  maxBackoffMs?: number;
}

export type InformerEvent = 'upsert' | 'delete';

export class MonitorInformer {
  readonly cache = new Map<string, EtcdMonitorObject>();
  private resourceVersion = '';
  private handle: WatchHandle | undefined;
  private stopped = false;
  private synced = false;
  private backoffMs = 0;
  private lastEventAt = 0;
  private watchdog: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly kube: KubeClient,
    private readonly opts: InformerOptions,
    private readonly onChange: (event: InformerEvent, key: string, obj: EtcdMonitorObject) => void,
    private readonly log: Logger,
    private readonly onRestart: (reason: string) => void = () => undefined,
  ) {}

  static key(o: EtcdMonitorObject): string {
    return `${o.metadata.namespace}/${o.metadata.name}`;
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  start(): void {
    this.stopped = false;
    void this.relist();
    const every = Math.max(1000, Math.floor((this.opts.watchdogMs ?? 120_000) / 4));
    this.watchdog = setInterval(() => {
      if (this.handle && Date.now() - this.lastEventAt > (this.opts.watchdogMs ?? 120_000)) {
        this.log.warn('watch silent too long, restarting it');
        this.restart('watchdog');
      }
    }, every);
    this.watchdog.unref?.();
  }

  stop(): void {
    this.stopped = true;
    if (this.watchdog) clearInterval(this.watchdog);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.handle?.stop();
    this.handle = undefined;
  }

  private restart(reason: string, relist = false): void {
    if (this.stopped) return;
    this.onRestart(reason);
    this.handle?.stop();
    this.handle = undefined;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.opts.maxBackoffMs ?? 30_000, Math.max(200, this.backoffMs * 2));
    this.retryTimer = setTimeout(() => void (relist ? this.relist() : this.watch()), delay);
  }

  private async relist(): Promise<void> {
    if (this.stopped) return;
    try {
      const { items, resourceVersion } = await this.kube.listMonitors(
        this.opts.namespace,
        this.opts.labelSelector,
      );
      const seen = new Set<string>();
      for (const o of items) {
        o.apiVersion ??= 'etcdmonitor.dev/v1alpha1';
        o.kind ??= 'EtcdMonitor';
        const k = MonitorInformer.key(o);
        seen.add(k);
        this.cache.set(k, o);
        this.onChange('upsert', k, o);
      }
      for (const [k, o] of [...this.cache]) {
        if (!seen.has(k)) {
          this.cache.delete(k);
          this.onChange('delete', k, o);
        }
      }
      this.resourceVersion = resourceVersion;
      this.synced = true;
      await this.watch();
    } catch (e) {
      this.log.warn('listing EtcdMonitors failed; retrying', { error: String(e), backoffMs: this.backoffMs });
      this.restart('list-error', true);
    }
  }

  private async watch(): Promise<void> {
    if (this.stopped) return;
    this.lastEventAt = Date.now();
    try {
      const handle = await this.kube.watchMonitors(
        this.opts.namespace,
        this.opts.labelSelector,
        this.resourceVersion,
        (type, obj) => {
          this.lastEventAt = Date.now();
          this.backoffMs = 0;
          if (obj.metadata?.resourceVersion) this.resourceVersion = obj.metadata.resourceVersion;
          if (type === 'BOOKMARK') return;
          const k = MonitorInformer.key(obj);
          if (type === 'DELETED') {
            this.cache.delete(k);
            this.onChange('delete', k, obj);
          } else {
            this.cache.set(k, obj);
            this.onChange('upsert', k, obj);
          }
        },
        (err) => {
          if (this.stopped) return;
          if (err instanceof WatchExpiredError) {
            this.log.info('watch expired (410 Gone); relisting');
            this.restart('expired', true);
          } else if (err) {
            this.log.warn('watch failed; restarting with backoff', { error: String(err) });
            this.restart('error', true);
          } else {
            // The server closed the stream (timeoutSeconds): resume from the last resourceVersion.
            this.restart('closed');
          }
        },
      );
      // Stopped while the watch was being opened: close it rather than leave it running.
      if (this.stopped) handle.stop();
      else this.handle = handle;
    } catch (e) {
      this.log.warn('starting the watch failed; retrying', { error: String(e) });
      this.restart('watch-error', true);
    }
  }
}
