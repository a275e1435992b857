/** The test helpers that keep servers from leaking or colliding. */
import { expect } from 'chai';
import net from 'node:net';
import { freePorts } from '../helpers/ports.js';
import { startTogether } from '../helpers/procs.js';

describe('test helpers', () => {
  it('freePorts hands each port out once, below the ephemeral range, even to callers asking at the same time', async () => {
    const batches = await Promise.all([freePorts(20), freePorts(20), freePorts(20)]);
    const all = batches.flat();
    expect(new Set(all).size).to.equal(60);
    for (const p of all) expect(p).to.be.within(10000, 32767);
  });

  it('freePorts skips a port something already listens on', async () => {
    const [port] = await freePorts(1);
    const holder = net.createServer();
    await new Promise<void>((r) => holder.listen(port! + 1, '127.0.0.1', r));
    try {
      const next = await freePorts(1);
      expect(next[0]).not.to.equal(port! + 1);
    } finally {
      holder.close();
    }
  });

  it('startTogether stops what started when another start fails', async () => {
    const stopped: string[] = [];
    const server = (name: string) => ({ stop: async () => void stopped.push(name) });
    const err = await startTogether([
      Promise.resolve(server('a')),
      Promise.reject(new Error('b did not start')),
      new Promise<ReturnType<typeof server>>((r) => setTimeout(() => r(server('c')), 20)),
    ]).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).to.equal('b did not start');
    expect(stopped.sort()).to.deep.equal(['a', 'c']);
    const [x, y] = await startTogether([Promise.resolve(server('x')), Promise.resolve(server('y'))]);
    expect([x, y].length).to.equal(2);
    expect(stopped).to.have.length(2);
  });
});
