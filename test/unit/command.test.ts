/** What every subcommand shares (src/cli/command.ts): --help, usage errors, the HTTP API's address. */
import { expect } from 'chai';
import { UsageError } from '../../src/cli/args.js';
import { runCommand, startServing } from '../../src/cli/command.js';
import type { Io } from '../../src/cli/io.js';
import { silentLogger } from '../../src/log.js';
import { MetricsExporter } from '../../src/metrics/exporter.js';
import { MonitorRegistry } from '../../src/monitor/registry.js';

function captureIo(): Io & { outs: string[]; errs: string[] } {
  const outs: string[] = [];
  const errs: string[] = [];
  return { outs, errs, out: (s) => void outs.push(s), err: (s) => void errs.push(s), env: {} };
}

const CMD = {
  name: 'etcd-monitor thing',
  usage: 'Usage: etcd-monitor thing [--n=N]',
  flags: { n: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
} as const;

describe('runCommand', () => {
  it('prints the usage on --help and -h (exit 0) without running the command', async () => {
    for (const flag of ['--help', '-h']) {
      const io = captureIo();
      let ran = false;
      expect(await runCommand([flag], io, CMD, () => ((ran = true), 0))).to.equal(0);
      expect(ran).to.equal(false);
      expect(io.outs).to.deep.equal([CMD.usage]);
    }
  });

  it('passes the flags and returns what the command returns', async () => {
    const io = captureIo();
    expect(await runCommand(['--n=3'], io, CMD, async (v) => Number(v.n))).to.equal(3);
  });

  it('answers an unknown flag, a stray argument and a UsageError from the command with the usage (exit 2)', async () => {
    for (const [argv, body, why] of [
      [['--nope'], () => 0, "Unknown option '--nope'"],
      [['extra'], () => 0, 'unexpected argument "extra"'],
      [[], () => Promise.reject(new UsageError('--n is required')), '--n is required'],
    ] as const) {
      const io = captureIo();
      expect(await runCommand([...argv], io, CMD, body)).to.equal(2);
      expect(io.errs).to.have.length(1);
      expect(io.errs[0]).to.contain(`etcd-monitor thing: `).and.contain(why).and.contain(`\n\n${CMD.usage}`);
    }
  });

  it('allows as many positional arguments as the command says', async () => {
    const io = captureIo();
    expect(
      await runCommand(['file.db', '--n=1'], io, { ...CMD, positionals: 1 }, (_v, [file]) =>
        file === 'file.db' ? 0 : 1,
      ),
    ).to.equal(0);
    expect(await runCommand(['a', 'b'], io, { ...CMD, positionals: 1 }, () => 0)).to.equal(2);
  });

  it('lets other errors through (main() reports them, exit 1)', async () => {
    let thrown: unknown;
    await runCommand([], captureIo(), CMD, () => Promise.reject(new Error('boom'))).catch(
      (e: unknown) => (thrown = e),
    );
    expect((thrown as Error).message).to.equal('boom');
  });
});

describe('startServing', () => {
  for (const [host, listen, url] of [
    ['127.0.0.1', /^http:\/\/127\.0\.0\.1:\d+$/, /^http:\/\/127\.0\.0\.1:\d+$/],
    ['::1', /^http:\/\/\[::1\]:\d+$/, /^http:\/\/\[::1\]:\d+$/],
  ] as const) {
    it(`names its address with the host in URL form (${host})`, async function () {
      const registry = new MonitorRegistry();
      let serving;
      try {
        serving = await startServing(
          registry,
          new MetricsExporter(registry),
          { host, port: 0, ready: () => true },
          silentLogger(),
        );
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EADDRNOTAVAIL' && host === '::1') this.skip();
        throw e;
      }
      try {
        expect(serving.listenUrl).to.match(listen);
        expect(serving.url).to.match(url);
        const res = await fetch(`${serving.url}/health`);
        expect(res.status).to.equal(200);
      } finally {
        serving.dashboard.close();
        await serving.api.close();
      }
    });
  }
});
