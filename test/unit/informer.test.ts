import { expect } from 'chai';
import type { KubeClient, WatchHandle } from '../../src/controller/kube.js';
import { MonitorInformer } from '../../src/controller/informer.js';
import { silentLogger } from '../../src/log.js';

describe('informer: stopping while its watch is being opened', () => {
  it('closes the watch that opens after stop() instead of leaving it running', async () => {
    let openWatch!: (h: WatchHandle) => void;
    let watchRequested!: () => void;
    const requested = new Promise<void>((r) => (watchRequested = r));
    let closed = 0;
    const unsupported = async (): Promise<never> => {
      throw new Error('not used by the informer');
    };
    const kube: KubeClient = {
      listMonitors: async () => ({ items: [], resourceVersion: '7' }),
      watchMonitors: () => {
        watchRequested();
        return new Promise<WatchHandle>((r) => (openWatch = r));
      },
      patchStatus: unsupported,
      createEvent: unsupported,
      readSecret: unsupported,
      getLease: unsupported,
      writeLease: unsupported,
    };
    const inf = new MonitorInformer(kube, {}, () => undefined, silentLogger());
    inf.start();
    await requested;
    inf.stop();
    openWatch({ stop: () => closed++ });
    await new Promise((r) => setImmediate(r));
    expect(closed).to.equal(1);
    expect(inf.hasSynced).to.equal(true);
  });
});
