/** Go-style durations as Kubernetes users write them: "15s", "500ms", "1m30s", "1h". */

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
export const DURATION_PATTERN = '^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$';
const WHOLE = new RegExp(DURATION_PATTERN);

export class DurationError extends Error {}

export function parseDuration(text: string): number {
  const s = text.trim();
  if (!WHOLE.test(s)) throw new DurationError(`bad duration "${text}" (examples: 500ms, 15s, 1m30s)`);
  let total = 0;
  for (const m of s.matchAll(/([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)/g)) total += Number(m[1]) * UNIT_MS[m[2]!]!;
  return total;
}
