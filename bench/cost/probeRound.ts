/**
 * Cost part 1: one probe round of a 3-member cluster (the real EtcdProber, with and without the members'
 * own /metrics) against the cheapest possible round (Maintenance.Status on every member concurrently,
 * with grpc-js and with the probe's own client) and against the same RPCs issued directly, so our own
 * overhead shows.
 */
import { performance } from 'node:perf_hooks';
import { parseEndpoints } from '../../src/etcd/endpoints.js';
import { MemberClient } from '../../src/etcd/grpc.js';
import { probeErrors } from '../../src/etcd/observation.js';
import { EtcdProber } from '../../src/etcd/probe.js';
import { ProbeClient } from '../../src/etcd/wireClient.js';
import { cpuMs, quantiles, r3, type Quantiles } from './quantiles.js';

export interface ProbeRoundOptions {
  /** One cluster's client URLs. */
  endpoints: string[];
  rounds: number;
  warmupRounds?: number;
  timeoutMs?: number;
}

export interface ProbeVariantResult {
  what: string;
  latencyMs: Quantiles;
  /** This process's CPU (user + system) per round. */
  cpuMsPerRound: number;
  failedRounds: number;
}

export interface ProbeRoundResult {
  members: number;
  rounds: number;
  /** Maintenance.Status on every member concurrently (grpc-js): the cheapest round trip there is. */
  rawStatus: ProbeVariantResult;
  /** The same over the probe's own client (ProbeClient, hand-framed HTTP/2): same transport as the probe. */
  rawStatusWire: ProbeVariantResult;
  /** The RPCs a probe round makes (Status, health Range per member; Alarm, MemberList from one), issued directly. */
  rawSameRpcs: ProbeVariantResult;
  /** The same RPCs over the probe's own client: what the round costs without EtcdProber's own work. */
  rawSameRpcsWire: ProbeVariantResult;
  /** EtcdProber.probe() without the members' /metrics. */
  probe: ProbeVariantResult;
  /** EtcdProber.probe() with each member's /metrics scraped and parsed (the default). */
  probeWithMetrics: ProbeVariantResult;
  /** Differences of p50/p99 latency and of CPU per round (ms). */
  overhead: {
    probeVsRawStatus: { p50Ms: number; p99Ms: number; cpuMsPerRound: number };
    probeVsRawStatusWire: { p50Ms: number; p99Ms: number; cpuMsPerRound: number };
    probeVsRawSameRpcs: { p50Ms: number; p99Ms: number; cpuMsPerRound: number };
    probeVsRawSameRpcsWire: { p50Ms: number; p99Ms: number; cpuMsPerRound: number };
    metricsScrape: { p50Ms: number; p99Ms: number; cpuMsPerRound: number };
  };
}

type RoundFn = () => Promise<boolean>;

/**
 * Alternate the variants round by round (rotating which goes first) so load drift on a shared
 * machine hits them alike. Each variant has its own connections, opened and warmed before timing.
 */
export async function measureProbeRound(o: ProbeRoundOptions): Promise<ProbeRoundResult> {
  const t = o.timeoutMs ?? 2000;
  const eps = parseEndpoints(o.endpoints);
  const rawClients = eps.map((e) => new MemberClient(e));
  const sameClients = eps.map((e) => new MemberClient(e));
  const wireClients = eps.map((e) => new ProbeClient(e));
  const prober = new EtcdProber(eps, {}, { timeoutMs: t, metrics: false });
  const proberM = new EtcdProber(eps, {}, { timeoutMs: t, metrics: true });
  const ok = (obs: Awaited<ReturnType<EtcdProber['probe']>>, metrics: boolean): boolean =>
    probeErrors(obs).length === 0 && (!metrics || obs.members.every((m) => m.metrics));
  const variants: Array<{
    key: keyof Omit<ProbeRoundResult, 'members' | 'rounds' | 'overhead'>;
    what: string;
    run: RoundFn;
  }> = [
    {
      key: 'rawStatus',
      what: 'Maintenance.Status to every member concurrently (MemberClient)',
      run: async () => {
        await Promise.all(rawClients.map((c) => c.status(t)));
        return true;
      },
    },
    {
      key: 'rawStatusWire',
      what: "Maintenance.Status to every member concurrently over the probe's own client (ProbeClient)",
      run: async () => {
        await Promise.all(wireClients.map((c) => c.status(t)));
        return true;
      },
    },
    {
      key: 'rawSameRpcs',
      what: 'the RPCs of a probe round issued directly: Status and health Range per member, Alarm and MemberList from one',
      run: async () => {
        await Promise.all([
          ...sameClients.flatMap((c) => [c.status(t), c.healthRead(t)]),
          sameClients[0]!.alarms(t),
          sameClients[0]!.memberList(t),
        ]);
        return true;
      },
    },
    {
      key: 'rawSameRpcsWire',
      what: "the RPCs of a probe round issued directly over the probe's own client (ProbeClient)",
      run: async () => {
        await Promise.all([
          ...wireClients.flatMap((c) => [c.status(t), c.healthRead(t)]),
          wireClients[0]!.alarms(t),
          wireClients[0]!.memberList(t),
        ]);
        return true;
      },
    },
    {
      key: 'probe',
      what: 'EtcdProber.probe() without member /metrics',
      run: async () => ok(await prober.probe(Date.now()), false),
    },
    {
      key: 'probeWithMetrics',
      what: "EtcdProber.probe() with each member's /metrics scraped and parsed",
      run: async () => ok(await proberM.probe(Date.now()), true),
    },
  ];
  const lat = variants.map(() => [] as number[]);
  const cpu = variants.map(() => 0);
  const failed = variants.map(() => 0);
  try {
    for (let i = 0; i < (o.warmupRounds ?? 20); i++)
      for (const v of variants) await v.run().catch(() => false);
    for (let i = 0; i < o.rounds; i++) {
      for (let j = 0; j < variants.length; j++) {
        const k = (i + j) % variants.length;
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        const good = await variants[k]!.run().catch(() => false);
        lat[k]!.push(performance.now() - t0);
        cpu[k]! += cpuMs(c0);
        if (!good) failed[k]!++;
      }
    }
  } finally {
    for (const c of [...rawClients, ...sameClients, ...wireClients]) c.close();
    prober.close();
    proberM.close();
  }
  const res = {} as Record<string, ProbeVariantResult>;
  variants.forEach((v, k) => {
    res[v.key] = {
      what: v.what,
      latencyMs: quantiles(lat[k]!)!,
      cpuMsPerRound: r3(cpu[k]! / o.rounds),
      failedRounds: failed[k]!,
    };
  });
  const d = (
    a: ProbeVariantResult,
    b: ProbeVariantResult,
  ): { p50Ms: number; p99Ms: number; cpuMsPerRound: number } => ({
    p50Ms: r3(a.latencyMs.p50 - b.latencyMs.p50),
    p99Ms: r3(a.latencyMs.p99 - b.latencyMs.p99),
    cpuMsPerRound: r3(a.cpuMsPerRound - b.cpuMsPerRound),
  });
  return {
    members: eps.length,
    rounds: o.rounds,
    rawStatus: res.rawStatus!,
    rawStatusWire: res.rawStatusWire!,
    rawSameRpcs: res.rawSameRpcs!,
    rawSameRpcsWire: res.rawSameRpcsWire!,
    probe: res.probe!,
    probeWithMetrics: res.probeWithMetrics!,
    overhead: {
      probeVsRawStatus: d(res.probe!, res.rawStatus!),
      probeVsRawStatusWire: d(res.probe!, res.rawStatusWire!),
      probeVsRawSameRpcs: d(res.probe!, res.rawSameRpcs!),
      probeVsRawSameRpcsWire: d(res.probe!, res.rawSameRpcsWire!),
      metricsScrape: d(res.probeWithMetrics!, res.probe!),
    },
  };
}
