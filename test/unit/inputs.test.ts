import { expect } from 'chai';
import { connectionConfig, parseFlags, UsageError } from '../../src/cli/args.js';
import { MONITOR_FLAGS, monitorConfig, standaloneConfig } from '../../src/cli/monitorCommand.js';
import { parseDuration } from '../../src/crd/duration.js';
import { EndpointError, parseEndpoint, parseEndpoints } from '../../src/etcd/endpoints.js';
import { humanBytes, humanMs } from '../../src/health/format.js';

describe('endpoints', () => {
  it('accepts host:port and http(s) URLs', () => {
    expect(parseEndpoint('localhost:2379').url).to.equal('http://localhost:2379');
    expect(parseEndpoint('localhost:2379', 'https').url).to.equal('https://localhost:2379');
    expect(parseEndpoint('https://etcd-0.etcd:2379/').authority).to.equal('etcd-0.etcd:2379');
    expect(parseEndpoint('[::1]:2379').host).to.equal('[::1]');
  });
  for (const bad of ['', 'localhost', 'ftp://x:1', 'http://x:99999', 'http://x:1/path', 'x:abc']) {
    it(`rejects "${bad}"`, () => expect(() => parseEndpoint(bad)).to.throw(EndpointError));
  }
  it('rejects duplicates and empty lists', () => {
    expect(() => parseEndpoints('a:1,http://a:1')).to.throw(/duplicate/);
    expect(() => parseEndpoints(' , ')).to.throw(/no endpoints/);
  });
});

describe('durations and formatting', () => {
  it('parses Go-style durations', () => {
    expect(parseDuration('15s')).to.equal(15000);
    expect(parseDuration('1m30s')).to.equal(90000);
    expect(parseDuration('250ms')).to.equal(250);
    expect(() => parseDuration('15')).to.throw(/bad duration/);
    expect(() => parseDuration('1d')).to.throw(/bad duration/);
  });
  it('formats bytes and milliseconds', () => {
    expect(humanBytes(2342912)).to.equal('2.2MiB');
    expect(humanBytes(undefined)).to.equal('-');
    expect(humanMs(6.14)).to.equal('6.1ms');
    expect(humanMs(1500)).to.equal('1.50s');
  });
});

describe('command-line flags', () => {
  it('takes the guide flags', () => {
    const v = parseFlags(
      [
        '--endpoints=localhost:2379,localhost:22379,localhost:32379',
        '--health-check-interval=30',
        '--api-port=9000',
      ],
      MONITOR_FLAGS,
    );
    const c = connectionConfig(v, {});
    expect(c.endpoints).to.have.length(3);
    const s = standaloneConfig(v, {});
    expect(s.interval).to.equal(30000);
    expect(s.apiPort).to.equal(9000);
  });
  it('rejects unknown flags, bad values and half TLS pairs as usage errors', () => {
    expect(() => parseFlags(['--nope'], MONITOR_FLAGS)).to.throw(UsageError);
    expect(() => standaloneConfig(parseFlags(['--api-port=http'], MONITOR_FLAGS), {})).to.throw(
      UsageError,
      /api-port/,
    );
    expect(() => standaloneConfig(parseFlags(['--interval=fast'], MONITOR_FLAGS), {})).to.throw(
      UsageError,
      /interval/,
    );
    expect(() =>
      connectionConfig(parseFlags(['--endpoints=a:1', '--cert=/etc/hostname'], MONITOR_FLAGS), {}),
    ).to.throw(UsageError, /--cert and --key/);
    expect(() => connectionConfig(parseFlags([], MONITOR_FLAGS), {})).to.throw(
      UsageError,
      /--endpoints is required/,
    );
  });
  it('derives the default --timeout from the interval: min(5s, interval/2), so --interval=1s alone works', () => {
    const of = (args: string[]): number =>
      monitorConfig(parseFlags(['--endpoints=a:1', ...args], MONITOR_FLAGS), {}).conn.timeoutMs;
    expect(of(['--interval=1s'])).to.equal(500);
    expect(of(['--interval=3s'])).to.equal(1500);
    expect(of(['--interval=10s'])).to.equal(5000);
    expect(of([])).to.equal(5000);
    expect(of(['--interval=1s', '--timeout=200ms'])).to.equal(200);
    expect(() => of(['--interval=2s', '--timeout=2s'])).to.throw(
      UsageError,
      /must be shorter than --interval/,
    );
  });
  it('reads credentials from the environment and etcdctl-style user:password', () => {
    const c = connectionConfig(parseFlags(['--endpoints=a:1', '--user=root:s3cret'], MONITOR_FLAGS), {});
    expect(c.conn.auth).to.deep.equal({ username: 'root', password: 's3cret' });
    const e = connectionConfig(parseFlags(['--endpoints=a:1'], MONITOR_FLAGS), {
      ETCD_MONITOR_USER: 'u',
      ETCD_MONITOR_PASSWORD: 'p',
    });
    expect(e.conn.auth).to.deep.equal({ username: 'u', password: 'p' });
  });
});
