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
  it('every relative link in the README and docs/ points to a file inside the repository that exists (a clone has nothing beside it)', () => {
    const pages = [path.join(root, 'README.md'), ...readdirSync(docs).filter((f) => f.endsWith('.md')).map((f) => path.join(docs, f))];
    const broken: string[] = [];
    for (const page of pages) {
      for (const [, target] of readFileSync(page, 'utf8').matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
        if (/^[a-z]+:/i.test(target)) continue; // http:, mailto:
        const file = path.resolve(path.dirname(page), target);
        const name = path.relative(root, page);
        if (!file.startsWith(root)) broken.push(`${name} → ${target} (outside the repository)`);
        else if (!existsSync(file)) broken.push(`${name} → ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });
});
