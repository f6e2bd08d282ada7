import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MailerError } from '../../../src/errors.js';
import { readOrderBytes, waitUntilComplete } from '../../../src/io/store/readiness.js';
import { MAX_ORDER_BYTES } from '../../../src/order/decode.js';
import { asReader, giveToReader, holdOpen, releaseHeld } from '../../helpers/held.js';
import { makeTmpDir, removeTmpDirs } from '../../helpers/tmp.js';

afterEach(async () => {
  releaseHeld();
  await removeTmpDirs();
});

const HEAD = '<?xml version="1.0" encoding="windows-1252"?>\r\n<OrdenEnvio>\r\n  <Para>pagos@cliente.mx</Para>\r\n  <Asunto>Facturación año 2026</Asunto>\r\n';
const WHOLE = `${HEAD}</OrdenEnvio>\r\n`;

describe('waitUntilComplete', () => {
  it('returns a complete file at once', async () => {
    const dir = await makeTmpDir();
    const file = path.join(dir, '_CFD_MAIL_REQ_1.XML');
    await fs.writeFile(file, WHOLE);
    await waitUntilComplete(file); // warm-up: the first fs calls of a worker start libuv's thread pool
    const started = performance.now();
    const bytes = await waitUntilComplete(file, { incompleteSettleMs: 5000, settleMs: 5000 });
    expect(performance.now() - started).toBeLessThan(50);
    expect(bytes.toString()).toBe(WHOLE);
  });

  // A writer that pauses mid-file (the ERP over a network share) is waited for, however long the
  // pause within the incomplete settle (a minute by default), and the order is returned at once when finished.
  it.each([300, 1500])('does not return a file written in two chunks %i ms apart before the second chunk, and returns it right after', async (pauseMs) => {
    const dir = await makeTmpDir();
    const file = path.join(dir, '_CFD_MAIL_REQ_1.XML');
    const handle = await fs.open(file, 'w');
    await handle.write(HEAD);
    let secondAt = Infinity;
    const writer = (async () => {
      await new Promise((r) => setTimeout(r, pauseMs));
      await handle.write('</OrdenEnvio>\r\n');
      secondAt = performance.now();
      await handle.close();
    })();
    const bytes = await waitUntilComplete(file);
    const returnedAt = performance.now();
    await writer;
    expect(bytes.toString()).toBe(WHOLE);
    expect(returnedAt).toBeGreaterThan(secondAt);
    // …and once it is complete no settle time is spent on it (one poll, not the incomplete settle of a minute).
    expect(returnedAt - secondAt).toBeLessThan(250);
  });

  it('returns an order that never completes once it has been still for incompleteSettleMs (it then fails as ORDER_INCOMPLETE)', async () => {
    const dir = await makeTmpDir();
    const file = path.join(dir, '_CFD_MAIL_REQ_1.XML');
    await fs.writeFile(file, HEAD);
    const started = performance.now();
    const bytes = await waitUntilComplete(file, { incompleteSettleMs: 300 });
    const elapsed = performance.now() - started;
    expect(bytes.toString()).toBe(HEAD);
    expect(elapsed).toBeGreaterThanOrEqual(300);
    expect(elapsed).toBeLessThan(1500);
  });

  it('does not give up at maxWaitMs on an incomplete file that stopped changing: it waits for its settle time', async () => {
    const dir = await makeTmpDir();
    const file = path.join(dir, '_CFD_MAIL_REQ_1.XML');
    await fs.writeFile(file, HEAD);
    const started = performance.now();
    const bytes = await waitUntilComplete(file, { maxWaitMs: 200, incompleteSettleMs: 700 });
    expect(bytes.toString()).toBe(HEAD);
    expect(performance.now() - started).toBeGreaterThanOrEqual(700);
  });

  it('refuses a file that grows past maxBytes while it is waited for with ORDER_TOO_LARGE', async () => {
    const dir = await makeTmpDir();
    const file = path.join(dir, '_CFD_MAIL_REQ_1.XML');
    await fs.writeFile(file, HEAD);
    setTimeout(() => void fs.appendFile(file, 'x'.repeat(2000)), 300);
    const err = await waitUntilComplete(file, { maxBytes: 1000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MailerError);
    expect((err as MailerError).code).toBe('ORDER_TOO_LARGE');
    expect((err as MailerError).value).toBe(String(Buffer.byteLength(HEAD) + 2000));
  });

  it('returns at once what no more writing can make an order (the parser refuses it), however long the incomplete settle', async () => {
    const dir = await makeTmpDir();
    const file = path.join(dir, '_CFD_MAIL_REQ_1.XML');
    await fs.writeFile(file, 'hola, esto no es una orden');
    const started = performance.now();
    expect((await waitUntilComplete(file, { incompleteSettleMs: 60_000 })).toString()).toBe('hola, esto no es una orden');
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('stops waiting as soon as its signal aborts (the mailer is stopping), leaving the file alone', async () => {
    const dir = await makeTmpDir();
    const file = path.join(dir, '_CFD_MAIL_REQ_1.XML');
    await fs.writeFile(file, HEAD);
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 300);
    const started = performance.now();
    const err = await waitUntilComplete(file, { signal: stop.signal }).catch((e: unknown) => e);
    expect((err as Error).name).toBe('AbortError');
    expect(performance.now() - started).toBeLessThan(1000);
    expect(await fs.readFile(file, 'utf8')).toBe(HEAD);
  });

  it('uses the given completeness check', async () => {
    const dir = await makeTmpDir();
    const file = path.join(dir, 'x');
    await fs.writeFile(file, 'done');
    await fs.readFile(file); // warm-up, as above
    const started = performance.now();
    expect((await waitUntilComplete(file, { incompleteSettleMs: 5000, settleMs: 5000, isComplete: (b) => b.toString() === 'done' })).toString()).toBe('done');
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

describe('orders above the size limit (MAX_ORDER_BYTES, 10 MB) are refused from their stat, never read', () => {
  /** A sparse file of `bytes` (no disk used): what `truncate -s 3G` makes. */
  async function sparse(bytes: number): Promise<string> {
    const dir = await makeTmpDir();
    const file = path.join(dir, '_CFD_MAIL_REQ_BIG.XML');
    await fs.writeFile(file, '<OrdenEnvio>');
    await fs.truncate(file, bytes);
    return file;
  }

  it.each([
    ['1.9 GB', 1900 * 1024 * 1024],
    ['3 GB', 3 * 1024 * 1024 * 1024],
  ])('a %s order: ORDER_TOO_LARGE within a second, without its bytes in memory', async (_label, bytes) => {
    const file = await sparse(bytes);
    const peakBefore = process.resourceUsage().maxRSS;
    const started = performance.now();
    const waited = await waitUntilComplete(file).catch((e: unknown) => e);
    const read = await readOrderBytes(file).catch((e: unknown) => e);
    expect(performance.now() - started).toBeLessThan(1500); // one settle of 500 ms after the stat, no read
    expect((process.resourceUsage().maxRSS - peakBefore) / 1024).toBeLessThan(100); // MB: reading it would add its size
    for (const err of [waited, read]) {
      expect(err).toBeInstanceOf(MailerError);
      expect((err as MailerError).code).toBe('ORDER_TOO_LARGE');
      expect((err as MailerError).value).toBe(String(bytes));
    }
  });

  it('reads a file of exactly the limit, and refuses one byte more', async () => {
    const file = await sparse(MAX_ORDER_BYTES);
    expect((await readOrderBytes(file)).length).toBe(MAX_ORDER_BYTES);
    await fs.truncate(file, MAX_ORDER_BYTES + 1);
    const err = await readOrderBytes(file).catch((e: unknown) => e);
    expect((err as MailerError).code).toBe('ORDER_TOO_LARGE');
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
