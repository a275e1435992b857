/** The set of monitored clusters: the single source the API, the metrics and the status writer read. */
import { EventEmitter } from 'node:events';
import type { ClusterMonitor, RoundResult } from './clusterMonitor.js';

export interface RegistryEvents {
  round: [RoundResult];
  removed: [string];
}

export class MonitorRegistry extends EventEmitter<RegistryEvents> {
  private readonly monitors = new Map<string, ClusterMonitor>();
  private readonly forwarders = new Map<string, (r: RoundResult) => void>();

  add(m: ClusterMonitor): void {
    if (this.monitors.has(m.name)) throw new Error(`cluster ${m.name} is already monitored`);
    const fn = (r: RoundResult): void => {
      this.emit('round', r);
    };
    m.on('round', fn);
    this.monitors.set(m.name, m);
    this.forwarders.set(m.name, fn);
  }

  get(name: string): ClusterMonitor | undefined {
    return this.monitors.get(name);
  }

  list(): ClusterMonitor[] {
    return [...this.monitors.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  get size(): number {
    return this.monitors.size;
  }

  async remove(name: string): Promise<void> {
    const m = this.monitors.get(name);
    if (!m) return;
    const fn = this.forwarders.get(name);
    if (fn) m.off('round', fn);
    this.monitors.delete(name);
    this.forwarders.delete(name);
    await m.stop();
    this.emit('removed', name);
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.monitors.keys()].map((n) => this.remove(n)));
  }
}
