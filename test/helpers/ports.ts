/**
 * Loopback ports for the servers tests start.
 *
 * Asking the kernel for port 0 and closing it races: the same ephemeral port can be handed to the next caller
 * (a control plane's etcd starting beside a test cluster took a member's peer port that way), or taken as the
 * local port of an outgoing connection before the server binds it. So ports come from below the kernel's
 * ephemeral range, which neither bind(0) nor outgoing connections use; each is handed out once per process and
 * only after a bind on it succeeded.
 */
import fs from 'node:fs';
import net from 'node:net';

const handedOut = new Set<number>();

function range(): { low: number; high: number } {
  let ephemeralLow = 32768;
  try {
    const first = Number(
      fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0],
    );
    if (Number.isInteger(first) && first > 12000) ephemeralLow = first;
  } catch {
    /* not Linux: the IANA ephemeral range starts at 49152, 32768 is below it too */
  }
  return { low: 10000, high: ephemeralLow - 1 };
}

const { low, high } = range();
let next = low + Math.floor(Math.random() * (high - low + 1));

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.unref();
    s.once('error', () => resolve(false));
    s.listen({ port, host: '127.0.0.1', exclusive: true }, () => s.close(() => resolve(true)));
  });
}

export async function freePort(): Promise<number> {
  for (let tried = 0; tried <= high - low; tried++) {
    const port = next;
    next = next >= high ? low : next + 1;
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    if (await bindable(port)) return port;
  }
  throw new Error(`no free loopback port left in ${low}-${high}`);
}

export async function freePorts(n: number): Promise<number[]> {
  const out: number[] = [];
  while (out.length < n) out.push(await freePort());
  return out;
}
