import { readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { createRotatingFile } from '../../src/io/log-files.js';
import { listLogFiles, localDay, rotatedName } from '../../src/io/log-names.js';
import { createLogger, Events } from '../../src/io/log.js';
import { makeTmpDir, removeTmpDirs } from '../helpers/tmp.js';

afterEach(removeTmpDirs);

/** `days` days before `from`, at local noon (clear of DST edges). */
function daysAgo(days: number, from = new Date()): Date {
  return new Date(from.getFullYear(), from.getMonth(), from.getDate() - days, 12);
}

async function linesOf(files: string[]): Promise<string[]> {
  const all: string[] = [];
  for (const f of files) all.push(...(await readFile(f, 'utf8')).split('\n').filter((l) => l !== ''));
  return all;
}

function noErrors() {
  const errors: Error[] = [];
  return { errors, onError: (e: Error) => errors.push(e), onHousekeepingError: (e: Error) => errors.push(e) };
}

describe('createRotatingFile: by size', () => {
  it('rotates past maxBytes into numbered parts of the day, and no line is lost or reordered', async () => {
    const dir = await makeTmpDir();
    const file = path.join(dir, 'mailer.log');
    const { errors, ...handlers } = noErrors();
    const out = createRotatingFile({ file, maxBytes: 2_000, ...handlers });
    const line = (i: number): string => `${JSON.stringify({ n: i, pad: 'x'.repeat(80) })}\n`;
    for (let i = 0; i < 300; i++) out.write(line(i));
    await out.close();

    const files = await listLogFiles(file);
    const today = localDay(new Date());
    expect(files.length).toBeGreaterThan(10);
    expect(files.at(-1)).toBe(file);
    for (const f of files.slice(0, -1)) expect(path.basename(f)).toMatch(new RegExp(`^mailer-${today}\\.\\d{3}\\.log$`));
    for (const f of files) expect((await readFile(f)).length).toBeLessThanOrEqual(2_000);
    const lines = await linesOf(files);
    expect(lines.map((l) => (JSON.parse(l) as { n: number }).n)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    expect(errors).toEqual([]);
  });

  it('writes non-ASCII lines byte for byte and counts maxBytes in bytes, not characters', async () => {
    const dir = await makeTmpDir();
    const file = path.join(dir, 'mailer.log');
    const { errors, ...handlers } = noErrors();
    const out = createRotatingFile({ file, maxBytes: 1_000, ...handlers });
    // 2 bytes per "ñ", "ó" and "í": 60 characters, 100 bytes per line.
    const line = (i: number): string => `${String(i).padStart(3, '0')} Facturación ${'ñó'.repeat(19)}envío\n`;
    expect(Buffer.byteLength(line(0))).toBe(100);
    for (let i = 0; i < 95; i++) out.write(line(i));
    await out.close();

    const files = await listLogFiles(file);
    const sizes = await Promise.all(files.map(async (f) => (await readFile(f)).length));
    expect(sizes.slice(0, -1)).toEqual(Array.from({ length: 9 }, () => 1_000));
    expect(sizes.at(-1)).toBe(500);
    expect(await linesOf(files)).toEqual(Array.from({ length: 95 }, (_, i) => line(i).slice(0, -1)));
    expect(errors).toEqual([]);
  });

  it('keeps every one of 20 000 pino lines across rotations (createLogger)', async () => {
    const dir = await makeTmpDir();
    const file = path.join(dir, 'logs', 'mailer.log');
    const { logger, close } = createLogger({ file, maxBytes: 200_000 });
    for (let i = 0; i < 20_000; i++) logger.info({ event: Events.ORDER_TRANSITION, n: i }, 'step');
    await close();
    const files = await listLogFiles(file);
    expect(files.length).toBeGreaterThan(5);
    const ns = (await linesOf(files)).map((l) => (JSON.parse(l) as { n: number }).n);
    expect(ns).toHaveLength(20_000);
    expect(ns).toEqual(Array.from({ length: 20_000 }, (_, i) => i));
  });

  it('continues a file of today that is already full by rotating it at the first line', async () => {
    const dir = await makeTmpDir();
    const file = path.join(dir, 'mailer.log');
    await writeFile(file, 'old line\n'.repeat(300));
    const out = createRotatingFile({ file, maxBytes: 1_000, ...noErrors() });
    out.write('new line\n');
    await out.close();
    const files = await listLogFiles(file);
    expect(files.map((f) => path.basename(f))).toEqual([`mailer-${localDay(new Date())}.001.log`, 'mailer.log']);
    expect(await readFile(file, 'utf8')).toBe('new line\n');
  });
});

describe('createRotatingFile: by day', () => {
  it('moves the lines of a finished day to mailer-<day>.log at the first line of the next', async () => {
    const dir = await makeTmpDir();
    const file = path.join(dir, 'mailer.log');
    let clock = new Date(2026, 10, 27, 23, 59, 0);
    const out = createRotatingFile({ file, now: () => clock, ...noErrors() });
    out.write('a\n');
    out.write('b\n');
    await out.flush();
    clock = new Date(2026, 10, 28, 0, 0, 1);
    out.write('c\n');
    await out.close();
    expect(await readFile(path.join(dir, 'mailer-2026-11-27.log'), 'utf8')).toBe('a\nb\n');
    expect(await readFile(file, 'utf8')).toBe('c\n');
  });

  it('at startup, renames a current file last written on an earlier day', async () => {
    const dir = await makeTmpDir();
    const file = path.join(dir, 'mailer.log');
    await writeFile(file, 'yesterday\n');
    const yesterday = daysAgo(1);
    await utimes(file, yesterday, yesterday);
    const out = createRotatingFile({ file, ...noErrors() });
    out.write('today\n');
    await out.close();
    expect(await readFile(rotatedName(file, localDay(yesterday)), 'utf8')).toBe('yesterday\n');
    expect(await readFile(file, 'utf8')).toBe('today\n');
  });
});

describe('keepDays', () => {
  it('deletes rotated files dated more than keepDays ago at startup, and nothing else', async () => {
    const dir = await makeTmpDir();
    const file = path.join(dir, 'mailer.log');
    const old = localDay(daysAgo(40));
    const edge = localDay(daysAgo(30));
    const recent = localDay(daysAgo(5));
    const names = [
      `mailer-${old}.log`,
      `mailer-${old}.002.log`,
      `mailer-${localDay(daysAgo(31))}.log`,
      `mailer-${edge}.log`,
      `mailer-${recent}.001.log`,
      `mailer-${old}.log.bak`,
      `other-${old}.log`,
      'notes.txt',
    ];
    for (const n of names) await writeFile(path.join(dir, n), 'x\n');
    const out = createRotatingFile({ file, keepDays: 30, ...noErrors() });
    await out.flush();
    expect((await readdir(dir)).sort()).toEqual(
      [`mailer-${edge}.log`, `mailer-${recent}.001.log`, `mailer-${old}.log.bak`, `other-${old}.log`, 'notes.txt', 'mailer.log'].sort(),
    );
    await out.close();
  });

  it('deletes at each rotation too (the clock moved on)', async () => {
    const dir = await makeTmpDir();
    const file = path.join(dir, 'mailer.log');
    let clock = new Date(2026, 10, 27, 12);
    await writeFile(path.join(dir, 'mailer-2026-11-20.log'), 'x\n');
    const out = createRotatingFile({ file, keepDays: 7, now: () => clock, ...noErrors() });
    out.write('a\n');
    await out.flush();
    expect(await readdir(dir)).toContain('mailer-2026-11-20.log');
    clock = new Date(2026, 10, 28, 12);
    out.write('b\n');
    await out.close();
    expect((await readdir(dir)).sort()).toEqual(['mailer-2026-11-27.log', 'mailer.log']);
  });
});
