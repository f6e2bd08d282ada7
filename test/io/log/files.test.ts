import { mkdir, readdir, readFile, rm, symlink, unlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { createRotatingFile, MAX_LOST_DETAILS, RETRY_FIRST_MS, type LostLines } from '../../../src/io/log/files.js';
import { listLogFiles, localDay, rotatedName } from '../../../src/io/log/names.js';
import { Events } from '../../../src/io/log/events.js';
import { createLogger } from '../../../src/io/log/log.js';
import { holdFile, makeTmpDir, removeTmpDirs } from '../../helpers/tmp.js';

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

/** A bare notice for the tests that read it: the loss as one JSON line. */
const lostNotice = (lost: LostLines): string => `${JSON.stringify({ notice: true, ...lost })}\n`;

function noErrors() {
  const errors: Error[] = [];
  return { errors, onError: (e: Error) => errors.push(e), onHousekeepingError: (e: Error) => errors.push(e), lostNotice };
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

describe('createRotatingFile: a file that cannot be written', () => {
  /** A clock the test moves: retry pauses are measured on it. */
  function clock() {
    let at = Date.now();
    return { now: () => new Date(at), advance: (ms: number) => (at += ms) };
  }

  function recording() {
    const errors: Error[] = [];
    const recovered: (LostLines | undefined)[] = [];
    const unwritten: LostLines[] = [];
    return {
      errors,
      recovered,
      unwritten,
      handlers: {
        onError: (e: Error) => errors.push(e),
        onRecovered: (l: LostLines | undefined) => recovered.push(l),
        onUnwritten: (l: LostLines) => unwritten.push(l),
        lostNotice,
      },
    };
  }

  /** The path of a log file with a folder in its place: it cannot be opened until the folder is removed. */
  async function folderInPlace(): Promise<string> {
    const file = path.join(await makeTmpDir(), 'mailer.log');
    await mkdir(file);
    return file;
  }

  async function notices(file: string): Promise<(LostLines & { notice: true })[]> {
    return (await linesOf([file])).map((l) => JSON.parse(l) as LostLines & { notice?: true }).filter((l): l is LostLines & { notice: true } => l.notice === true);
  }

  it('a folder where the file should be: lines are counted, and once the file opens the notice of the exact count comes first, then the lines', async () => {
    const file = await folderInPlace();
    await writeFile(path.join(file, 'keep'), 'x');
    const time = clock();
    const rec = recording();
    const out = createRotatingFile({ file, now: time.now, ...rec.handlers });
    for (let i = 0; i < 5; i++) out.write(`{"n":"a${i}"}\n`);
    await out.flush();
    expect(rec.errors).toHaveLength(1);
    // POSIX refuses to open a folder for writing (EISDIR). Windows opens it, and
    // refuses the first write: EISDIR from Windows, EBADF from Wine's emulation.
    expect((rec.errors[0] as NodeJS.ErrnoException).code).toMatch(process.platform === 'win32' ? /^(EISDIR|EBADF)$/ : /^EISDIR$/);
    for (let i = 0; i < 3; i++) out.write(`{"n":"b${i}"}\n`); // within the pause: not even tried
    await rm(file, { recursive: true });
    time.advance(RETRY_FIRST_MS);
    out.write('{"n":"c0"}\n');
    out.write('{"n":"c1"}\n');
    await out.close();

    const written = await linesOf([file]);
    expect(written).toHaveLength(3);
    const [notice] = await notices(file);
    expect(notice).toMatchObject({ lines: 8, reason: rec.errors[0]!.message });
    expect(written.slice(1)).toEqual(['{"n":"c0"}', '{"n":"c1"}']);
    expect(rec.recovered.map((l) => l?.lines)).toEqual([8]);
    expect(rec.errors).toHaveLength(1);
    expect(rec.unwritten).toEqual([]);
  });

  it('a try that fails again keeps counting into the same notice; the pause doubles up to 10 s and no more', async () => {
    const file = await folderInPlace();
    const time = clock();
    const rec = recording();
    const out = createRotatingFile({ file, now: time.now, ...rec.handlers });
    out.write('{"n":0}\n');
    await out.flush();
    let lost = 1;
    // Tries at 1, 2, 4 and 8 s after each failure; each fails, and the line that started it is lost with the others.
    for (const pause of [1_000, 2_000, 4_000, 8_000]) {
      time.advance(pause - 1);
      out.write('{"early":true}\n'); // one ms before the try is due: only counted
      time.advance(1);
      out.write('{"try":true}\n');
      await out.flush();
      lost += 2;
    }
    // The next pause is 10 s, not 16: the first line 10 s later opens the file.
    await rm(file, { recursive: true });
    time.advance(9_999);
    out.write('{"early":true}\n');
    lost += 1;
    time.advance(1);
    out.write('{"after":true}\n');
    await out.close();

    const written = await linesOf([file]);
    expect(written).toHaveLength(2);
    expect((await notices(file))[0]).toMatchObject({ lines: lost });
    expect(written[1]).toBe('{"after":true}');
    expect(rec.errors).toHaveLength(1);
    expect(rec.recovered.map((l) => l?.lines)).toEqual([lost]);
  });

  it('keeps a bounded summary however many lines are lost: the count, the time span and at most MAX_LOST_DETAILS details', async () => {
    const file = await folderInPlace();
    const time = clock();
    const rec = recording();
    const out = createRotatingFile({
      file,
      now: time.now,
      ...rec.handlers,
      lostDetail: (line) => {
        const entry = JSON.parse(line.toString()) as { id: number; at: string };
        return { time: new Date(entry.at), detail: { id: entry.id } };
      },
    });
    const count = MAX_LOST_DETAILS * 5;
    const at = (i: number): string => new Date(Date.UTC(2026, 10, 27, 10, 0, i)).toISOString();
    await out.flush();
    for (let i = 0; i < count; i++) out.write(`${JSON.stringify({ id: i, at: at(i) })}\n`);
    await rm(file, { recursive: true });
    await out.close(); // the last try at close writes the notice, whatever the pause

    const [notice] = await notices(file);
    expect(notice).toMatchObject({ lines: count, since: at(0), until: at(count - 1), detailsOmitted: count - MAX_LOST_DETAILS });
    expect(notice!.details).toEqual(Array.from({ length: MAX_LOST_DETAILS }, (_, i) => ({ id: i })));
  });

  it('a file that ends in half a line (a write cut short) gets it ended, so the next line stands alone', async () => {
    const dir = await makeTmpDir();
    const file = path.join(dir, 'mailer.log');
    await writeFile(file, '{"whole":true}\n{"cut sh');
    const out = createRotatingFile({ file, ...noErrors() });
    out.write('{"next":true}\n');
    await out.close();
    expect(await readFile(file, 'utf8')).toBe('{"whole":true}\n{"cut sh\n{"next":true}\n');
  });

  it('lines the file never took are told at close when no notice could be written', async () => {
    const file = await folderInPlace();
    const rec = recording();
    const out = createRotatingFile({ file, ...rec.handlers });
    out.write('{"n":1}\n');
    out.write('{"n":2}\n');
    await out.close();
    expect(rec.unwritten.map((l) => l.lines)).toEqual([2]);
    expect(rec.recovered).toEqual([]);
  });

  it.runIf(process.platform === 'win32' || process.getuid?.() === 0)(
    'a file another program holds (Windows: an exclusive open; POSIX as root: chattr +i) is counted, then written once released',
    async () => {
      const dir = await makeTmpDir();
      const file = path.join(dir, 'mailer.log');
      await writeFile(file, '{"before":true}\n');
      const release = holdFile(file);
      const time = clock();
      const rec = recording();
      const out = createRotatingFile({ file, now: time.now, ...rec.handlers });
      out.write('{"n":1}\n');
      out.write('{"n":2}\n');
      await out.flush();
      expect((rec.errors[0] as NodeJS.ErrnoException | undefined)?.code).toMatch(/EBUSY|EPERM|EACCES/);
      release();
      time.advance(RETRY_FIRST_MS);
      out.write('{"n":3}\n');
      await out.close();
      const written = await linesOf([file]);
      expect(written[0]).toBe('{"before":true}');
      expect((await notices(file))[0]).toMatchObject({ lines: 2 });
      expect(written.slice(2)).toEqual(['{"n":3}']);
    },
  );
});

describe('createRotatingFile: a full disk (Linux: /dev/full refuses every write with ENOSPC)', () => {
  const linux = process.platform === 'linux';

  it.runIf(linux)('counts exactly the lines of the refused batch and those after it, and writes the notice first once there is space', async () => {
    const dir = await makeTmpDir();
    const file = path.join(dir, 'mailer.log');
    await symlink('/dev/full', file);
    let at = Date.now();
    const errors: Error[] = [];
    const recovered: (LostLines | undefined)[] = [];
    const out = createRotatingFile({ file, now: () => new Date(at), onError: (e) => errors.push(e), onRecovered: (l) => recovered.push(l), lostNotice });
    for (let i = 0; i < 100; i++) out.write(`{"n":${i}}\n`);
    await out.flush();
    expect(errors.map((e) => (e as NodeJS.ErrnoException).code)).toEqual(['ENOSPC']);
    for (let i = 0; i < 10; i++) out.write('{"while":"full"}\n');
    at += RETRY_FIRST_MS;
    out.write('{"try":"still full"}\n'); // opens, writes the notice and this line: refused again
    await out.flush();
    await unlink(file); // space again: the name is now free for a real file
    at += 2 * RETRY_FIRST_MS;
    out.write('{"space":"again"}\n');
    await out.close();

    const written = await linesOf([file]);
    expect(written).toHaveLength(2);
    expect(JSON.parse(written[0]!)).toMatchObject({ notice: true, lines: 111, reason: expect.stringContaining('ENOSPC') });
    expect(written[1]).toBe('{"space":"again"}');
    expect(recovered.map((l) => l?.lines)).toEqual([111]);
    expect(errors).toHaveLength(1);
  });

  it.runIf(linux)('a process exits at once while the disk is full, through close() or without it (no retry loop at exit)', async () => {
    const { execFile } = await import('node:child_process');
    const dir = await makeTmpDir();
    const log = new URL('../../../dist/io/log/log.js', import.meta.url).href;
    for (const ending of ['await close();', '']) {
      const file = path.join(dir, `${ending === '' ? 'exit' : 'close'}.log`);
      await symlink('/dev/full', file);
      const script = `const { createLogger } = await import(${JSON.stringify(log)});
        const { logger, flush, close } = createLogger({ file: ${JSON.stringify(file)}, onFileError: () => {} });
        for (let i = 0; i < 1000; i++) logger.info({ n: i }, 'line');
        await flush();
        for (let i = 0; i < 10; i++) logger.info({ n: i }, 'waiting for the exit');
        ${ending}
        process.exit(0);`;
      const started = Date.now();
      const code = await new Promise<number | null>((resolve) => {
        const child = execFile(process.execPath, ['--input-type=module', '-e', script], { timeout: 20_000 }, () => resolve(child.exitCode));
      });
      expect({ ending, code, quick: Date.now() - started < 10_000 }).toEqual({ ending, code: 0, quick: true });
    }
  });
});
