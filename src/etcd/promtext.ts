/** A parser for the Prometheus text exposition format (version 0.0.4), as etcd members serve it. */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export class PromTextError extends Error {}

export function parseValue(s: string): number {
  switch (s) {
    case '+Inf':
    case 'Inf':
      return Infinity;
    case '-Inf':
      return -Infinity;
    case 'NaN':
      return NaN;
    default: {
      const v = Number(s);
      if (s === '' || Number.isNaN(v)) throw new PromTextError(`bad sample value "${s}"`);
      return v;
    }
  }
}

/** Parse `{a="b",c="d"}` starting at text[i] === '{'; returns labels and the index after '}'. */
export function parseLabels(text: string, start: number): [Record<string, string>, number] {
  const labels: Record<string, string> = {};
  let i = start + 1;
  for (;;) {
    while (text[i] === ' ' || text[i] === ',') i++;
    if (text[i] === '}') return [labels, i + 1];
    const eq = text.indexOf('=', i);
    if (eq < 0) throw new PromTextError('unterminated label set');
    const name = text.slice(i, eq).trim();
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name)) throw new PromTextError(`bad label name "${name}"`);
    i = eq + 1;
    if (text[i] !== '"') throw new PromTextError(`label ${name}: value must be quoted`);
    i++;
    let value = '';
    for (;;) {
      const c = text[i];
      if (c === undefined) throw new PromTextError(`label ${name}: unterminated value`);
      if (c === '\\') {
        const n = text[i + 1];
        value += n === 'n' ? '\n' : (n ?? '');
        i += 2;
      } else if (c === '"') {
        i++;
        break;
      } else {
        value += c;
        i++;
      }
    }
    labels[name] = value;
  }
}

/** Parse a whole exposition. Comment and blank lines are skipped; a malformed line throws. */
export function parsePromText(text: string): Sample[] {
  const out: Sample[] = [];
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    try {
      let i = 0;
      while (i < line.length && line[i] !== '{' && line[i] !== ' ' && line[i] !== '\t') i++;
      const name = line.slice(0, i);
      if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name)) throw new PromTextError(`bad metric name "${name}"`);
      let labels: Record<string, string> = {};
      if (line[i] === '{') [labels, i] = parseLabels(line, i);
      const rest = line.slice(i).trim().split(/\s+/);
      out.push({ name, labels, value: parseValue(rest[0] ?? '') });
    } catch (e) {
      throw new PromTextError(`line ${n + 1}: ${(e as Error).message}`);
    }
  }
  return out;
}
