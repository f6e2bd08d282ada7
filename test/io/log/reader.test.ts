import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { collectLogEntries, logFileOf, logFilesToRead, parseLogLine, readLogEntries } from '../../../src/io/log/reader.js';
import { makeTmpDir, removeTmpDirs } from '../../helpers/tmp.js';

afterEach(removeTmpDirs);

const line = (n: number) => JSON.stringify({ level: 30, time: `2026-01-0${n}T10:00:00.000Z`, event: 'e', n });

async function logFolder(): Promise<string> {
  const dir = await makeTmpDir('proscai-logread-');
  await writeFile(path.join(dir, 'mailer-2026-01-02.log'), `${line(3)}\n`);
  await writeFile(path.join(dir, 'mailer-2026-01-01.002.log'), `${line(2)}\r\n`);
  await writeFile(path.join(dir, 'mailer-2026-01-01.001.log'), `${line(1)}\n\nnot json\n[1,2]\n`);
  await writeFile(path.join(dir, 'mailer.log'), `${line(4)}\n{"level":30,"time":"2026-01-0`); // a half-written last line
  await writeFile(path.join(dir, 'other.log'), `${line(9)}\n`);
  return dir;
}

describe('log-reader', () => {
  it('reads rotated files oldest first and the current file last, skipping what is not a JSON object', async () => {
    const dir = await logFolder();
    const seen: unknown[] = [];
    for await (const entry of readLogEntries(path.join(dir, 'mailer.log'))) seen.push(entry.n);
    expect(seen).toEqual([1, 2, 3, 4]);
  });

  it('skips rotated files of days before `since`, never the current file', async () => {
    const dir = await logFolder();
    const files = await logFilesToRead(path.join(dir, 'mailer.log'), new Date(2026, 0, 2, 12));
    expect(files.map((f) => path.basename(f))).toEqual(['mailer-2026-01-02.log', 'mailer.log']);
  });

  it('filters, prefilters by text, and reports the files read; a missing folder reads as empty', async () => {
    const dir = await logFolder();
    const found = await collectLogEntries(path.join(dir, 'mailer.log'), (e) => Number(e.n) > 1, { contains: '"N":3' });
    expect(found.entries.map((e) => e.n)).toEqual([3]);
    expect(found.files).toHaveLength(4);
    expect(await collectLogEntries(path.join(dir, 'nope', 'mailer.log'), () => true)).toEqual({ entries: [], files: [] });
  });

  it('parseLogLine accepts only JSON objects; logFileOf follows logDir', async () => {
    expect(parseLogLine('{"a":1}')).toEqual({ a: 1 });
    expect(parseLogLine('{"a":')).toBeUndefined();
    expect(parseLogLine('"text"')).toBeUndefined();
    const dir = await makeTmpDir('proscai-logread-');
    await mkdir(path.join(dir, 'x'));
    expect(logFileOf({ logDir: null, workDir: dir })).toBe(path.join(dir, 'logs', 'mailer.log'));
    expect(logFileOf({ logDir: path.join(dir, 'x'), workDir: dir })).toBe(path.join(dir, 'x', 'mailer.log'));
  });
});
