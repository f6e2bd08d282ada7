/**
 * The list of log event names is complete and alive: every line src logs
 * names its event through `Events` (so the list is complete), every name in
 * `Events` is logged somewhere (so it holds no dead name), and the README's
 * list for operators is the same list. Static, like test/architecture.test.ts:
 * it reads the sources, so it needs no build.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

import { Events } from '../../../src/io/log/events.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/** Every .ts file under `dir` (relative to the root), with `/` separators on every system. */
function sources(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name).replaceAll('\\', '/')] : [],
  );
}

/** `text` without comments (`//` lines and `/* … *\/` blocks): a name quoted in a comment is neither a literal nor a use. */
function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
}

const EVENTS_FILE = 'src/io/log/events.ts';
const SRC = sources('src')
  .filter((f) => f !== EVENTS_FILE)
  .map((file) => ({ file, text: withoutComments(readFileSync(path.join(ROOT, file), 'utf8')) }));

/** `event: 'x'` or `event: "x"` (a value or a type), with the file and line. */
function literalEvents(file: string, text: string): string[] {
  return [...text.matchAll(/\bevent\s*:\s*['"`]/g)].map((m) => `${file}:${text.slice(0, m.index).split('\n').length}`);
}

/** The names listed under the README's "## The bitácora (log)" heading, in order (`- \`name\`: …` lines). */
function readmeEvents(readme: string): string[] {
  const start = readme.indexOf('\n## The bitácora (log)');
  expect(start, 'README section "The bitácora (log)"').toBeGreaterThan(-1);
  const next = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, next === -1 ? undefined : next);
  return [...section.matchAll(/^- `([^`]+)`/gm)].map((m) => m[1]!);
}

describe('log events', () => {
  it('src logs no event name as a literal: every `event:` goes through Events', () => {
    expect(SRC.flatMap(({ file, text }) => literalEvents(file, text))).toEqual([]);
  });

  it('recognises a literal event name in a value and in a type, not in a comment', () => {
    expect(literalEvents('x.ts', "log.info({ event: 'a.b' });\ntype T = { event: \"c.d\" };\nlog.info({ event: Events.A });")).toEqual(['x.ts:1', 'x.ts:2']);
    expect(literalEvents('x.ts', withoutComments("// log.info({ event: 'a.b' })\n/* { event: 'c.d' } */\nlog.info({ event: Events.A });"))).toEqual([]);
  });

  it('logs every name in Events somewhere in src (no dead name)', () => {
    // Logged: the `event` field of a line (`event: Events.X`), or of a typed note that becomes one (`event: typeof Events.X`).
    const unused = Object.keys(Events).filter((key) => !SRC.some(({ text }) => new RegExp(`\\bevent\\??:\\s*(?:typeof\\s+)?Events\\.${key}\\b`).test(text)));
    expect(unused).toEqual([]);
  });

  it('has each name once', () => {
    const names = Object.values(Events);
    expect(new Set(names).size).toBe(names.length);
  });

  it("is the README's list of log events, in the same order", () => {
    expect(readmeEvents(readFileSync(path.join(ROOT, 'README.md'), 'utf8'))).toEqual(Object.values(Events));
  });
});
