/** CPU profiles (node:inspector) summarised: share of sampled time by category, and the hottest functions. */

export interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

export interface CpuProfile {
  nodes: CpuProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  /** Share of sampled time by category, percent. */
  categories: Record<string, number>;
  /** The functions with the most self time (percent of all samples, idle included). */
  topFunctions: Array<{ fn: string; percent: number }>;
}

export function summariseProfile(p: CpuProfile, category: (n: CpuProfileNode) => string): ProfileSummary {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const cats = new Map<string, number>();
  const fns = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i] ?? 0;
    const n = byId.get(p.samples[i]!);
    if (!n) continue;
    total += dt;
    const c = category(n);
    cats.set(c, (cats.get(c) ?? 0) + dt);
    const { functionName, url, lineNumber } = n.callFrame;
    const key = `${functionName || '(anonymous)'} ${url.replace(/^.*\/(node_modules|src)\//, '$1/')}:${lineNumber + 1}`;
    fns.set(key, (fns.get(key) ?? 0) + dt);
  }
  const pct = (v: number): number => Math.round((1000 * v) / Math.max(1, total)) / 10;
  return {
    categories: Object.fromEntries([...cats].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, pct(v)])),
    topFunctions: [...fns]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 15)
      .map(([fn, v]) => ({ fn, percent: pct(v) })),
  };
}
