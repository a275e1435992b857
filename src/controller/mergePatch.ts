/** RFC 7386 JSON merge patch between two plain JSON values (pure): apply(prev, diff(prev, next)) = next. */

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The merge patch that turns `prev` into `next`; undefined when they are equal. */
export function mergePatch(prev: unknown, next: unknown): Json | undefined {
  if (!isObject(prev) || !isObject(next)) {
    return JSON.stringify(prev) === JSON.stringify(next) ? undefined : (next as Json);
  }
  const out: Record<string, Json> = {};
  for (const k of Object.keys(prev)) {
    if (!(k in next) || next[k] === undefined) out[k] = null;
  }
  for (const [k, v] of Object.entries(next)) {
    if (v === undefined) continue;
    const d = k in prev ? mergePatch(prev[k], v) : (v as Json);
    if (d !== undefined) out[k] = d;
  }
  return Object.keys(out).length ? out : undefined;
}

/** Apply a merge patch (used by tests and to keep the operator's copy of what it wrote). */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = applyMergePatch(out[k], v);
  }
  return out;
}
