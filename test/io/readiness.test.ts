import fs from 'node:fs/promises';
import path from 'node:path';
import iconv from 'iconv-lite';
import { afterEach, describe, expect, it } from 'vitest';
import { MailerError } from '../../src/errors.js';
import { looksComplete, waitUntilComplete } from '../../src/io/readiness.js';
import { asReader, giveToReader, holdOpen, releaseHeld } from '../helpers/held.js';
import { makeTmpDir, removeTmpDirs } from '../helpers/tmp.js';

afterEach(async () => {
  releaseHeld();
  await removeTmpDirs();
});

const HEAD = '<?xml version="1.0" encoding="windows-1252"?>\r\n<OrdenEnvio>\r\n  <Para>pagos@cliente.mx</Para>\r\n  <Asunto>Facturación año 2026</Asunto>\r\n';
const WHOLE = `${HEAD}</OrdenEnvio>\r\n`;

function utf16(text: string, le: boolean, bom: boolean): Buffer {
  const body = Buffer.from(text, 'utf16le');
  if (!le) body.swap16();
  return bom ? Buffer.concat([Buffer.from(le ? [0xff, 0xfe] : [0xfe, 0xff]), body]) : body;
}

describe('looksComplete', () => {
  it('accepts a closed root element in single-byte and UTF-8 text, whatever trails it', () => {
    expect(looksComplete(iconv.encode(WHOLE, 'windows-1252'))).toBe(true);
    expect(looksComplete(Buffer.from(`\uFEFF${WHOLE}`, 'utf8'))).toBe(true);
    expect(looksComplete(Buffer.from(`${HEAD}</ordenenvio >`))).toBe(true);
    expect(looksComplete(Buffer.from(`${HEAD}</OrdenEnvio>\n\t  \0\0\0`))).toBe(true);
    expect(looksComplete(Buffer.from(`${HEAD}</OrdenEnvio>\r\n\x1a`))).toBe(true);
    expect(looksComplete(Buffer.from(`${HEAD}</oe:OrdenEnvio>`))).toBe(true);
  });

  it('refuses text whose root element is not closed yet', () => {
    expect(looksComplete(Buffer.from(HEAD))).toBe(false);
    expect(looksComplete(Buffer.from(`${HEAD}</OrdenEnvio`))).toBe(false);
    expect(looksComplete(Buffer.from(`${HEAD}</OrdenEnvio><Extra>`))).toBe(false);
    expect(looksComplete(Buffer.alloc(0))).toBe(false);
    expect(looksComplete(Buffer.alloc(4096))).toBe(false); // pre-allocated, nothing written yet
  });

  it('reads UTF-16 little and big endian, with and without BOM', () => {
    for (const le of [true, false]) {
      for (const bom of [true, false]) {
        const text = WHOLE.replace('windows-1252', 'UTF-16');
        expect(looksComplete(utf16(text, le, bom))).toBe(true);
        expect(looksComplete(utf16(`${text}\0\0`, le, bom))).toBe(true);
        expect(looksComplete(utf16(HEAD, le, bom))).toBe(false);
      }
    }
  });

  it('does not take a half-written last UTF-16 character for the closing ">"', () => {
    const whole = utf16(WHOLE.trimEnd(), true, true);
    expect(looksComplete(whole)).toBe(true);
    expect(looksComplete(whole.subarray(0, whole.length - 1))).toBe(false);
  });

  it('finds the end of a large order', () => {
    const big = `${HEAD}<Cuerpo>${'x'.repeat(500_000)}</Cuerpo></OrdenEnvio>`;
    expect(looksComplete(Buffer.from(big))).toBe(true);
    expect(looksComplete(utf16(big, true, true))).toBe(true);
  });
});

describe('waitUntilComplete', () => {
  it('returns a complete file at once', async () => {
    const dir = await makeTmpDir();
    const file = path.join(dir, '_CFD_MAIL_REQ_1.XML');
    await fs.writeFile(file, WHOLE);
    await waitUntilComplete(file); // warm-up: the first fs calls of a worker start libuv's thread pool
    const started = performance.now();
    const bytes = await waitUntilComplete(file, { settleMs: 5000 });
    expect(performance.now() - started).toBeLessThan(50);
    expect(bytes.toString()).toBe(WHOLE);
  });

  it('does not return a file written in two chunks 300 ms apart before the second chunk', async () => {
    const dir = await makeTmpDir();
    const file = path.join(dir, '_CFD_MAIL_REQ_1.XML');
    const handle = await fs.open(file, 'w');
    await handle.write(HEAD);
    let secondAt = Infinity;
    const writer = (async () => {
      await new Promise((r) => setTimeout(r, 300));
      await handle.write('</OrdenEnvio>\r\n');
      secondAt = performance.now();
      await handle.close();
    })();
    const bytes = await waitUntilComplete(file);
    const returnedAt = performance.now();
    await writer;
    expect(bytes.toString()).toBe(WHOLE);
    expect(returnedAt).toBeGreaterThan(secondAt);
    // …and once it is complete no settle time is spent on it (one poll, not settleMs = 500).
    expect(returnedAt - secondAt).toBeLessThan(250);
  });

  it('returns an order that never completes once it has been still for settleMs (the parser then refuses it)', async () => {
    const dir = await makeTmpDir();
    const file = path.join(dir, '_CFD_MAIL_REQ_1.XML');
    await fs.writeFile(file, HEAD);
    const started = performance.now();
    const bytes = await waitUntilComplete(file, { settleMs: 300 });
    const elapsed = performance.now() - started;
    expect(bytes.toString()).toBe(HEAD);
    expect(elapsed).toBeGreaterThanOrEqual(300);
    expect(elapsed).toBeLessThan(1500);
  });

  it('uses the given completeness check', async () => {
    const dir = await makeTmpDir();
    const file = path.join(dir, 'x');
    await fs.writeFile(file, 'done');
    await fs.readFile(file); // warm-up, as above
    const started = performance.now();
    expect((await waitUntilComplete(file, { settleMs: 5000, isComplete: (b) => b.toString() === 'done' })).toString()).toBe('done');
    expect(performance.now() - started).toBeLessThan(50);
  });

  it('gives up with FS_ACCESS_FAILED on a file that keeps changing', async () => {
    const dir = await makeTmpDir();
    const file = path.join(dir, '_CFD_MAIL_REQ_1.XML');
    await fs.writeFile(file, HEAD);
    const appender = setInterval(() => void fs.appendFile(file, 'x'), 40);
    try {
      const err = await waitUntilComplete(file, { maxWaitMs: 600 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MailerError);
      expect((err as MailerError).code).toBe('FS_ACCESS_FAILED');
      expect((err as MailerError).message).toContain('still being written');
    } finally {
      clearInterval(appender);
    }
  });

  it('reports a file that disappears (another mailer took it) as CLAIM_LOST', async () => {
    const dir = await makeTmpDir();
    const file = path.join(dir, '_CFD_MAIL_REQ_1.XML');
    const err1 = await waitUntilComplete(file).catch((e: unknown) => e);
    expect((err1 as MailerError).code).toBe('CLAIM_LOST');
    await fs.writeFile(file, HEAD);
    const waiting = waitUntilComplete(file).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 150));
    await fs.rename(file, path.join(dir, 'elsewhere'));
    expect(((await waiting) as MailerError).code).toBe('CLAIM_LOST');
  });
});

describe('waitUntilComplete on an order held open by its writer (helpers/held.ts: Windows, open without sharing; POSIX, unreadable)', () => {
  /** What the reader is told: EBUSY (a sharing violation) on Windows, EACCES (a denial) on POSIX. */
  const HELD_TEXT = process.platform === 'win32' ? 'held open by another program (EBUSY)' : 'held open by another program, or access denied (EACCES)';

  async function heldOrder(): Promise<{ file: string; release: () => void }> {
    const dir = await makeTmpDir();
    const file = path.join(dir, '_CFD_MAIL_REQ_1.XML');
    await fs.writeFile(file, WHOLE);
    giveToReader(dir);
    return { file, release: holdOpen(file) };
  }

  it('waits while it is held, however complete it is, and returns it as soon as it is released', async () => {
    const { file, release } = await heldOrder();
    const releasedAt = new Promise<number>((resolve) =>
      setTimeout(() => {
        release();
        resolve(performance.now());
      }, 700),
    );
    const bytes = await asReader(() => waitUntilComplete(file, { settleMs: 200, maxWaitMs: 10_000 }));
    const returnedAt = performance.now();
    expect(bytes.toString()).toBe(WHOLE);
    expect(returnedAt - (await releasedAt)).toBeGreaterThanOrEqual(0);
    expect(returnedAt - (await releasedAt)).toBeLessThan(1_000);
  });

  it('gives up after maxWaitMs with FS_HELD naming the errno, not as "still being written"', async () => {
    const { file } = await heldOrder();
    const started = performance.now();
    const err = await asReader(() => waitUntilComplete(file, { settleMs: 200, maxWaitMs: 800 }).catch((e: unknown) => e));
    expect(performance.now() - started).toBeGreaterThanOrEqual(800);
    expect(err).toBeInstanceOf(MailerError);
    expect((err as MailerError).code).toBe('FS_HELD');
    const says = `${HELD_TEXT}: ${file}: `;
    expect((err as MailerError).message.slice(0, says.length)).toBe(says);
    expect((err as MailerError).message).not.toContain('still being written');
  });
});
