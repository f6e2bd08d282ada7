/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time per
 * function (a native one, e.g. a syscall binding, named with its nearest
 * caller in our code or a package) and per owner (our dist/ file or the
 * package that caused the time), largest first. Used by `npm run bench --
 * --profile`, and runnable alone:
 *
 *   node scripts/bench/cpuprofile.mjs <file.cpuprofile> [top=25]
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Shortens a script URL to something readable: node_modules/<pkg>/…, dist/…, node:… */
function shortUrl(url) {
  if (!url) return '(native)';
  const file = url.startsWith('file://') ? fileURLToPath(url) : url;
  const nm = file.lastIndexOf('node_modules/');
  if (nm >= 0) return file.slice(nm);
  const dist = file.lastIndexOf('/dist/');
  if (dist >= 0) return file.slice(dist + 1);
  return file;
}

/**
 * @param {string} file  a .cpuprofile
 * @returns {{ totalMs: number, functions: {name: string, where: string, ms: number}[], files: {where: string, ms: number}[] }}
 */
export function summarise(file) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parentOf = new Map();
  for (const n of profile.nodes) for (const child of n.children ?? []) parentOf.set(child, n);
  /** The nearest frame (this one or a caller) in our code or a package: who a native or node: internal cost is for. */
  const ownerFrame = (node, includeSelf) => {
    for (let p = includeSelf ? node : parentOf.get(node.id); p; p = parentOf.get(p.id)) {
      const cf = p.callFrame;
      if (cf.url && !cf.url.startsWith('node:')) return cf;
    }
    return undefined;
  };
  const selfUs = new Map();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const functions = new Map();
  const files = new Map();
  let totalUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    const cf = node.callFrame;
    const name = cf.functionName || '(anonymous)';
    const caller = cf.url ? undefined : ownerFrame(node, false);
    const via = caller && `${caller.functionName || '(anonymous)'} ${shortUrl(caller.url)}:${caller.lineNumber + 1}`;
    const where = cf.url ? `${shortUrl(cf.url)}:${cf.lineNumber + 1}` : via ? `(native, via ${via})` : '(native)';
    const key = `${name} ${where}`;
    const f = functions.get(key) ?? { name, where, ms: 0 };
    f.ms += us / 1000;
    functions.set(key, f);
    const owner = ownerFrame(node, true);
    const fileKey = owner ? shortUrl(owner.url).replace(/^(node_modules\/(?:@[^/]+\/)?[^/]+)\/.*$/, '$1') : `(${name.replace(/[()]/g, '')})`;
    files.set(fileKey, (files.get(fileKey) ?? 0) + us / 1000);
    totalUs += us;
  }
  return {
    totalMs: totalUs / 1000,
    functions: [...functions.values()].sort((a, b) => b.ms - a.ms),
    files: [...files.entries()].map(([where, ms]) => ({ where, ms })).sort((a, b) => b.ms - a.ms),
  };
}

/** Printable lines: the top `top` functions and files by self time. */
export function report(file, top = 20) {
  const s = summarise(file);
  const pct = (ms) => `${((100 * ms) / s.totalMs).toFixed(1).padStart(5)}%`;
  const lines = [`profile ${path.basename(file)}: ${s.totalMs.toFixed(0)} ms sampled`, '  top self time by function:'];
  for (const f of s.functions.slice(0, top)) lines.push(`  ${pct(f.ms)} ${f.ms.toFixed(0).padStart(7)} ms  ${f.name}  ${f.where}`);
  lines.push('  self time by owner (our file or package; node internals and natives charged to their nearest caller there):');
  for (const f of s.files.slice(0, top)) lines.push(`  ${pct(f.ms)} ${f.ms.toFixed(0).padStart(7)} ms  ${f.where}`);
  return lines;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const [file, top] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: node scripts/bench/cpuprofile.mjs <file.cpuprofile> [top]\n');
    process.exit(2);
  }
  for (const line of report(file, Number(top ?? 25))) process.stdout.write(`${line}\n`);
}
