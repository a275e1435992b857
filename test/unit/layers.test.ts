/**
 * The arrows between src/'s folders run one way (docs/design.md): etcd → health → monitor →
 * metrics/api/controller → cli, with maintenance/ beside monitor. A new import against the table below
 * (a back-arrow) or a cycle fails here, so it is a decision to change the table, not an accident.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';

const SRC = path.resolve('src');
const ROOT = '(src)'; // files directly in src/ (log.ts)

/** Which folders each folder of src/ may import from (besides itself). */
const ALLOWED: Record<string, readonly string[]> = {
  [ROOT]: [],
  crd: [ROOT],
  etcd: [ROOT, 'crd'],
  health: [ROOT, 'crd', 'etcd'],
  maintenance: [ROOT, 'crd', 'etcd'],
  monitor: [ROOT, 'crd', 'etcd', 'health', 'maintenance'],
  metrics: [ROOT, 'crd', 'etcd', 'health', 'maintenance', 'monitor'],
  api: [ROOT, 'crd', 'etcd', 'health', 'maintenance', 'monitor', 'metrics'],
  controller: [ROOT, 'crd', 'etcd', 'health', 'maintenance', 'monitor'],
  benchmark: [ROOT, 'crd', 'etcd'],
  cli: [ROOT, 'crd', 'etcd', 'health', 'maintenance', 'monitor', 'metrics', 'api', 'controller', 'benchmark'],
};

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.generated.ts') ? [p] : [];
  });
}

/** Relative module specifiers of a file: import/export … from '…', import '…', import('…'). */
function specifiers(text: string): string[] {
  const out: string[] = [];
  const re = /(?:\bfrom\s*|\bimport\s*\(?\s*)['"]([^'"]+)['"]/g;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push(m[1]!);
  return out;
}

function folderOf(file: string): string {
  const rel = path.relative(SRC, file);
  if (rel.startsWith('..')) return `outside src: ${path.relative(process.cwd(), file)}`;
  const parts = rel.split(path.sep);
  return parts.length === 1 ? ROOT : parts[0]!;
}

interface Edge {
  from: string;
  to: string;
  file: string;
  spec: string;
}

function edges(): Edge[] {
  const out: Edge[] = [];
  for (const file of sourceFiles(SRC)) {
    for (const spec of specifiers(fs.readFileSync(file, 'utf8'))) {
      if (!spec.startsWith('.')) continue;
      const to = folderOf(path.resolve(path.dirname(file), spec));
      const from = folderOf(file);
      if (from !== to) out.push({ from, to, file: path.relative(process.cwd(), file), spec });
    }
  }
  return out;
}

describe('layers of src/', () => {
  const all = edges();

  it('finds the imports it checks', () => {
    expect(all.length).to.be.greaterThan(50);
    expect(all.some((e) => e.from === 'cli' && e.to === 'monitor')).to.equal(true);
  });

  it('imports only along the allowed arrows', () => {
    const wrong = all
      .filter((e) => !(ALLOWED[e.from] ?? []).includes(e.to))
      .map((e) => `${e.file}: ${e.from} → ${e.to} ('${e.spec}')`);
    expect(wrong, wrong.join('\n')).to.deep.equal([]);
  });

  it('has no folder in the table that does not exist, and no folder missing from it', () => {
    const folders = new Set([
      ROOT,
      ...fs
        .readdirSync(SRC, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => e.name),
    ]);
    expect([...folders].sort()).to.deep.equal(Object.keys(ALLOWED).sort());
  });

  it('ships no self-measurement harness (profiling and heap snapshots live in bench/)', () => {
    const harness = sourceFiles(SRC)
      .filter((f) => /['"]node:inspector|\bwriteHeapSnapshot\b/.test(fs.readFileSync(f, 'utf8')))
      .map((f) => path.relative(process.cwd(), f));
    expect(harness).to.deep.equal([]);
  });

  it('has no cycle between folders', () => {
    const next = new Map<string, Set<string>>();
    for (const e of all) next.set(e.from, (next.get(e.from) ?? new Set()).add(e.to));
    const cycles: string[] = [];
    const visit = (node: string, trail: string[]): void => {
      if (trail.includes(node)) {
        cycles.push([...trail.slice(trail.indexOf(node)), node].join(' → '));
        return;
      }
      for (const n of next.get(node) ?? []) visit(n, [...trail, node]);
    };
    for (const start of next.keys()) visit(start, []);
    expect(cycles, cycles.join('\n')).to.deep.equal([]);
  });
});
