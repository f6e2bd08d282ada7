import { describe, it, expect } from 'vitest';
import { readFileSync, existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCodes } from '../src/errors.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const docs = path.join(root, 'docs');
const read = (name: string) => readFileSync(path.join(docs, name), 'utf8');

describe('docs/troubleshooting.md', () => {
  const text = read('troubleshooting.md');

  it('has a table row for every error code, so the table cannot fall behind src/errors.ts', () => {
    const missing = Object.values(ErrorCodes).filter((code) => !new RegExp(`^\\| \`${code}\`( \\(\\*retried\\*\\))? \\|`, 'm').test(text));
    expect(missing).toEqual([]);
  });

  it('names no code that does not exist', () => {
    const rows = [...text.matchAll(/^\| `([A-Z_]+)`/gm)].map((m) => m[1]);
    const known = new Set<string>(Object.values(ErrorCodes));
    expect(rows.filter((code) => !known.has(code))).toEqual([]);
  });
});

describe('docs links', () => {
  it('every relative link inside the repository points to a file that exists', () => {
    const broken: string[] = [];
    for (const name of readdirSync(docs).filter((f) => f.endsWith('.md'))) {
      for (const [, target] of read(name).matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
        if (/^[a-z]+:/i.test(target)) continue; // http:, mailto:
        const file = path.resolve(docs, target);
        if (!file.startsWith(root)) continue; // the shared spec lives beside the repository
        if (!existsSync(file)) broken.push(`${name} → ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });
});
