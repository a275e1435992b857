/**
 * Write every generated artefact from its one source (CRD schema → manifests and chart; alert rules and
 * dashboards → chart; chart → deploy/manifests). `--check` fails instead of writing when a copy is stale.
 */
import fs from 'node:fs';
import path from 'node:path';
import { generatedFiles } from '../src/crd/generate.js';
import { MANIFEST_FILE, renderManifests } from './render-manifests.js';

const check = process.argv.includes('--check');
let stale = 0;
const files = generatedFiles();
files[MANIFEST_FILE] = await renderManifests();
for (const [file, content] of Object.entries(files)) {
  const p = path.resolve(file);
  const current = fs.existsSync(p) ? fs.readFileSync(p, 'utf8') : undefined;
  if (current === content) continue;
  if (check) {
    process.stderr.write(`out of date: ${file} (run npm run generate)\n`);
    stale++;
  } else {
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, content);
    process.stdout.write(`wrote ${file}\n`);
  }
}
process.exit(stale ? 1 : 0);
