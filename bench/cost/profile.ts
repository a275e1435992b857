/** Where the cost benchmark's CPU goes: the categories of its profile (bench/lib/profile.ts). */
import type { CpuProfileNode } from '../lib/profile.js';

export function costProfileCategory(n: CpuProfileNode): string {
  const { url, functionName: f } = n.callFrame;
  if (f === '(idle)') return 'idle';
  if (f === '(garbage collector)') return 'garbage collection';
  if (f === '(program)') return 'V8/native (program)';
  if (/protobufjs|\/long\//.test(url)) return 'protobuf encode/decode';
  if (/@grpc\/grpc-js/.test(url)) return 'grpc-js';
  if (/prom-client/.test(url)) return 'prom-client';
  if (/src\/etcd\/(promtext|memberMetrics|memberSnapshot)/.test(url))
    return 'etcd-monitor: member /metrics parsing';
  if (
    /src\/etcd\/scrape|node:_http|node:http|node:internal\/http|node:net|node:internal\/stream/.test(url) &&
    !/http2/.test(url)
  )
    return 'HTTP client (member /metrics fetch) + streams';
  if (/node:internal\/http2|node:http2/.test(url)) return 'node http2';
  if (/src\/health\//.test(url)) return 'etcd-monitor: evaluate';
  if (/src\/|\/dist\//.test(url)) return 'etcd-monitor: other';
  if (/node:/.test(url) || f === 'runMicrotasks') return 'node core (timers, events, promises)';
  return 'other';
}
