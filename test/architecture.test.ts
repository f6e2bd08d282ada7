/**
 * The house rules on imports, checked on every `npm test`: no import cycle, no
 * import from a lower layer to a higher one except types (errors/text/config/
 * order/machines → io → actors → mailer → cli/service → main), machines and
 * the other pure modules touch no file system or network, and no module only
 * passes another's exports through (each name is imported from the module that
 * owns it). The import rules live in /.dependency-cruiser.cjs (also
 * `npx depcruise src` by hand); dependency-cruiser reads the sources, so this
 * needs no build and no network.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cruise } from 'dependency-cruiser';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const rules = createRequire(import.meta.url)('../.dependency-cruiser.cjs') as { forbidden: unknown[]; options: Record<string, unknown> };

/** Every .ts file under `dir` (relative to the root), with `/` separators on every system. */
function sources(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name).replaceAll('\\', '/')] : [],
  );
}

/** `export * from`, `export * as x from`, `export { … } from` and `export type { … } from`, also across lines. */
const REEXPORT = /^export\s+(?:type\s+)?(?:\*(?:\s+as\s+\w+)?|\{[^}]*\})\s*from\s*['"]/gm;

function reexportsIn(file: string, text: string): string[] {
  return [...text.matchAll(REEXPORT)].map((m) => `${file}:${text.slice(0, m.index).split('\n').length}`);
}

describe('architecture', () => {
  it('has no import cycle and no import from a lower layer to a higher one (dependency-cruiser)', async () => {
    const options = { ...rules.options, baseDir: ROOT, tsConfig: { fileName: path.join(ROOT, 'tsconfig.json') }, ruleSet: { forbidden: rules.forbidden }, validate: true };
    const result = await cruise(['src'], options as never);
    const output = result.output as { summary: { violations: { rule: { name: string }; from: string; to: string }[] } };
    expect(output.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`)).toEqual([]);
  });

  it('has no pass-through module: no `export … from` in src', () => {
    expect(sources('src').flatMap((file) => reexportsIn(file, readFileSync(path.join(ROOT, file), 'utf8')))).toEqual([]);
  });

  it('recognises every form of `export … from`', () => {
    const text = ["export * from './a.js';", "export * as b from './b.js';", "export { c, type D } from './c.js';", 'export type {\n  E,\n} from "./e.js";', "export { f };", "export const g = 'from';"].join('\n');
    expect(reexportsIn('x.ts', text)).toEqual(['x.ts:1', 'x.ts:2', 'x.ts:3', 'x.ts:4']);
  });
});
