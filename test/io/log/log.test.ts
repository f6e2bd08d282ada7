import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MailerError } from '../../../src/errors.js';
import type { LostLines } from '../../../src/io/log/files.js';
import { Events } from '../../../src/io/log/events.js';
import { appendLogEntry, CENSOR, createLogger, lostLineOf, registerSecret, scrubLine, scrubObject } from '../../../src/io/log/log.js';

let tmp: string;
beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'mailer-log-'));
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function lines(file: string): Promise<Record<string, unknown>[]> {
  const text = await readFile(file, 'utf8');
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

function capture(): { write(chunk: string): void; text(): string } {
  const chunks: string[] = [];
  return { write: (c) => void chunks.push(c), text: () => chunks.join('') };
}

describe('createLogger: the JSON file', () => {
  it('creates the folder and writes one JSON object per line with event and orderId', async () => {
    const file = path.join(tmp, 'deep', 'logs', 'mailer.log');
    const { logger, close } = createLogger({ file });
    logger.info({ event: Events.ORDER_SENT, orderId: '0042_1', company: 'ACME' }, 'sent');
    await close();
    const [line] = await lines(file);
    expect(line).toMatchObject({ level: 30, event: 'order.sent', orderId: '0042_1', company: 'ACME', msg: 'sent' });
    expect(typeof line.time).toBe('string');
    expect(new Date(line.time as string).getTime()).not.toBeNaN();
  });

  it('keeps every one of 10 000 lines, in order, after close()', async () => {
    const file = path.join(tmp, 'many.log');
    const { logger, close } = createLogger({ file });
    for (let i = 0; i < 10_000; i++) logger.info({ event: Events.ORDER_TRANSITION, orderId: String(i), n: i }, 'step');
    await close();
    const all = await lines(file);
    expect(all).toHaveLength(10_000);
    expect(all.map((l) => l.n)).toEqual(Array.from({ length: 10_000 }, (_, i) => i));
  });

  it('flush() puts what was logged on disk while the logger stays open', async () => {
    const file = path.join(tmp, 'flush.log');
    const { logger, flush, close } = createLogger({ file });
    logger.warn({ event: Events.ORDER_DEFERRED, orderId: 'a' }, 'later');
    await flush();
    expect((await lines(file)).map((l) => l.orderId)).toEqual(['a']);
    logger.warn({ event: Events.ORDER_DEFERRED, orderId: 'b' }, 'later');
    await flush();
    expect((await lines(file)).map((l) => l.orderId)).toEqual(['a', 'b']);
    await close();
    await close(); // idempotent
  });

  it('lines logged just before process.exit() are in the file, in order (written synchronously on exit)', async () => {
    const { execFile } = await import('node:child_process');
    const file = path.join(tmp, 'logs', 'mailer.log');
    const log = new URL('../../../dist/io/log/log.js', import.meta.url).href;
    // 100 lines (~13 KB) stay in sonic-boom's 32 KB batch, with no write in
    // flight: only the exit handler can put them in the file. (With a write in
    // flight at exit, that batch can land after the lines the exit handler
    // writes: see the module comment of src/io/log/log.ts.)
    const script = `const { createLogger } = await import(${JSON.stringify(log)});
      const { logger, flush } = createLogger({ file: ${JSON.stringify(file)} });
      await flush();
      for (let i = 0; i < 100; i++) logger.info({ event: 'order.transition', n: i }, 'envío ñ');
      process.exit(0);`;
    await new Promise<void>((resolve, reject) => {
      execFile(process.execPath, ['--input-type=module', '-e', script], { timeout: 10_000 }, (err) => (err ? reject(err) : resolve()));
    });
    const logged = await lines(file);
    expect(logged.map((l) => l.n)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(logged.every((l) => l.msg === 'envío ñ')).toBe(true);
  });

  it('file level is info by default: debug lines stay out', async () => {
    const file = path.join(tmp, 'level.log');
    const { logger, close } = createLogger({ file, pretty: true, verbose: true, prettyDestination: capture() });
    logger.debug({ event: Events.ORDER_TRANSITION }, 'debug only');
    logger.info({ event: Events.SUPERVISOR_STARTED }, 'info');
    await close();
    expect((await lines(file)).map((l) => l.msg)).toEqual(['info']);
  });

  it('serialises MailerErrors under err with their code', async () => {
    const file = path.join(tmp, 'err.log');
    const { logger, close } = createLogger({ file });
    logger.error({ event: Events.ORDER_FAILED, orderId: 'x', err: new MailerError('SMTP_PERMANENT', 'refused', { smtp: { response: '550 no' } }) }, 'failed');
    await close();
    const [line] = await lines(file);
    expect(line.err).toMatchObject({ type: 'MailerError', code: 'SMTP_PERMANENT', message: 'refused', smtp: { response: '550 no' } });
  });
});

describe('createLogger: a log file that cannot be written', () => {
  it('reports once, keeps the process alive, and flush/close still resolve', async () => {
    const blocker = path.join(tmp, 'not-a-folder');
    await writeFile(blocker, 'x');
    const errors: Error[] = [];
    const term = capture();
    const { logger, flush, close } = createLogger({
      file: path.join(blocker, 'mailer.log'),
      pretty: true,
      prettyDestination: term,
      onFileError: (e) => errors.push(e),
    });
    logger.info({ event: Events.SUPERVISOR_STARTED }, 'still on the terminal');
    await flush();
    logger.info('again');
    await close();
    expect(errors).toHaveLength(1);
    expect((errors[0] as NodeJS.ErrnoException).code).toMatch(/ENOTDIR|EEXIST/);
    expect(term.text()).toContain('still on the terminal');
  });
});

describe('createLogger: a log file that cannot be written for a while', () => {
  it('writes a log.lines_lost warning first once it can: the count, the span, the error, and every send among the lost lines', async () => {
    const file = path.join(tmp, 'logs', 'mailer.log');
    await mkdir(file, { recursive: true }); // a folder where the file should be: it cannot be opened
    let at = Date.now();
    const errors: Error[] = [];
    const recovered: (LostLines | undefined)[] = [];
    const { logger, flush, close } = createLogger({
      file,
      level: 'debug',
      now: () => new Date(at),
      onFileError: (e) => errors.push(e),
      onFileRecovered: (lost) => recovered.push(lost),
    });
    const transition = (orderId: string, to: string) =>
      logger.debug({ event: Events.ORDER_TRANSITION, orderId, company: 'ACME', from: 'x', to }, `${orderId}: x → ${to}`);
    transition('A1', 'sending');
    transition('A1', 'sent');
    transition('B2', 'sent');
    logger.info({ event: Events.SUPERVISOR_STARTED }, 'scan');
    await flush();
    expect(errors).toHaveLength(1);
    await rm(file, { recursive: true });
    at += 60_000;
    transition('C3', 'sent');
    await close();

    const [notice, after, ...rest] = await lines(file);
    expect(rest).toEqual([]);
    expect(notice).toMatchObject({ level: 40, event: Events.LOG_LINES_LOST, lines: 4, error: errors[0]!.message });
    expect(notice!.sent).toEqual([
      { orderId: 'A1', company: 'ACME', time: expect.any(String) },
      { orderId: 'B2', company: 'ACME', time: expect.any(String) },
    ]);
    expect(Date.parse(notice!.since as string)).toBeLessThanOrEqual(Date.parse(notice!.until as string));
    expect(notice!.msg).toContain('4 log lines were lost');
    expect(after).toMatchObject({ event: Events.ORDER_TRANSITION, orderId: 'C3', to: 'sent' });
    expect(recovered.map((l) => l?.lines)).toEqual([4]);
  });

  it('lostLineOf reads the time of any line and the send of a transition to sent', () => {
    const sent = Buffer.from('{"level":20,"time":"2026-11-27T10:00:00.000Z","event":"order.transition","orderId":"7","company":"ACME","from":"sending","to":"sent"}\n');
    expect(lostLineOf(sent)).toEqual({
      time: new Date('2026-11-27T10:00:00.000Z'),
      detail: { orderId: '7', company: 'ACME', time: '2026-11-27T10:00:00.000Z' },
    });
    expect(lostLineOf(Buffer.from('{"level":30,"time":"2026-11-27T10:00:01.000Z","event":"scan.completed","msg":"\\"to\\":\\"sent\\""}\n'))).toEqual({
      time: new Date('2026-11-27T10:00:01.000Z'),
    });
    expect(lostLineOf(Buffer.from('not json\n'))).toBeUndefined();
  });
});

describe('createLogger: the terminal', () => {
  it('prints readable lines, debug only when verbose', async () => {
    const quiet = capture();
    const a = createLogger({ pretty: true, prettyDestination: quiet });
    a.logger.debug('hidden step');
    a.logger.info({ event: Events.SUPERVISOR_STARTED }, 'watching the folder');
    await a.close();
    expect(quiet.text()).toMatch(/INFO.*watching the folder/);
    expect(quiet.text()).not.toContain('hidden step');
    expect(quiet.text()).not.toMatch(/^\{/);

    const loud = capture();
    const b = createLogger({ pretty: true, verbose: true, prettyDestination: loud });
    b.logger.debug('visible step');
    await b.close();
    expect(loud.text()).toMatch(/DEBUG.*visible step/);
  });
});

describe('passwords never reach the file or the terminal', () => {
  const password = 'Pa$$w0rd"\\ñ-7731';

  it('censors them at any depth, under any secret-looking key, and inside messages', async () => {
    registerSecret(password);
    const file = path.join(tmp, 'secret.log');
    const term = capture();
    const { logger, close } = createLogger({ file, pretty: true, prettyDestination: term });
    const order = { id: '1', smtp: { host: 'h', user: 'u', password } };
    logger.info({ event: Events.SUPERVISOR_STARTED, password }, 'top');
    logger.info({ event: Events.ORDER_TRANSITION, order }, 'depth 2');
    logger.info({ event: Events.ORDER_TRANSITION, resolved: { order, smtp: { password } } }, 'depth 3');
    logger.info({ a: { b: { c: { d: { e: { f: { pass: password, apiToken: password, clientSecret: password } } } } } } }, 'depth 7');
    logger.info({ config: { companies: { ACME: { smtp: { password } } } } }, 'config');
    logger.info({ list: [{ auth: { user: 'u', pass: password } }] }, 'array');
    logger.info({ note: `the server said: auth failed for ${password}` }, `free text ${password} in the message`);
    logger.error({ err: new Error(`connect failed with ${password}`) }, 'error');
    logger.child({ smtpPassword: password, sub: { note: password } }).info('child bindings');
    await close();

    const fileText = await readFile(file, 'utf8');
    const termText = term.text();
    for (const text of [fileText, termText]) {
      expect(text).not.toContain(password);
      expect(text).not.toContain(JSON.stringify(password).slice(1, -1));
      expect(text).not.toContain('Pa$$w0rd');
      expect(text).toContain(CENSOR);
    }
    const parsed = await lines(file);
    expect(parsed).toHaveLength(9);
    expect(parsed[1]).toMatchObject({ order: { id: '1', smtp: { host: 'h', user: 'u', password: CENSOR } } });
    expect(parsed[6].msg).toBe(`free text ${CENSOR} in the message`);
    expect(termText).toContain('depth 7');
  });

  it('the caller\'s objects are not changed', () => {
    const obj = { smtp: { password: 'keep-me' } };
    expect(scrubObject(obj)).toEqual({ smtp: { password: CENSOR } });
    expect(obj.smtp.password).toBe('keep-me');
  });

  it('copies only what it censors: a clean object comes back as it is, untouched parts are shared', () => {
    const clean = { event: 'order.transition', orderId: '1', from: 'a', to: 'b', list: [{ x: 1 }] };
    expect(scrubObject(clean)).toBe(clean);
    const mixed = { keep: { deep: [1, 2] }, smtp: { host: 'h', pass: 'x1y2' }, list: [{ ok: 1 }, { token: 't' }] };
    const out = scrubObject(mixed);
    expect(out).toEqual({ keep: { deep: [1, 2] }, smtp: { host: 'h', pass: CENSOR }, list: [{ ok: 1 }, { token: CENSOR }] });
    expect(out.keep).toBe(mixed.keep);
    expect(out.list[0]).toBe(mixed.list[0]);
    expect(mixed.smtp.pass).toBe('x1y2');
    expect(mixed.list[1]).toEqual({ token: 't' });
  });

  it('an error is logged without the config and auth objects libraries attach to it', async () => {
    const file = path.join(tmp, 'err.log');
    const { logger, close } = createLogger({ file });
    const err = Object.assign(new Error('request failed'), {
      code: 'EAUTH',
      config: { url: 'smtp://h', headers: { Authorization: 'Basic dXNlcjpwYXNzd29yZDE=' } },
      auth: { user: 'u', credentials: 'dXNlcjpwYXNzd29yZDE=' },
    });
    logger.error({ event: Events.INTERNAL_ERROR, err }, 'failed');
    await close();
    const [line] = await lines(file);
    expect(line.err).toMatchObject({ message: 'request failed', code: 'EAUTH' });
    expect(line.err).not.toHaveProperty('config');
    expect(line.err).not.toHaveProperty('auth');
    expect(await readFile(file, 'utf8')).not.toContain('dXNlcjpwYXNzd29yZDE=');
  });

  it('very short secrets are not searched in free text (they would wreck every line)', () => {
    registerSecret('abc');
    expect(scrubLine('{"msg":"abc"}')).toBe('{"msg":"abc"}');
    registerSecret('s3cr3t-x');
    expect(scrubLine('{"msg":"s3cr3t-x"}')).toBe(`{"msg":"${CENSOR}"}`);
  });
});

describe('appendLogEntry', () => {
  it('appends one pino-shaped JSON line, creating the folder', async () => {
    const dir = tmp;
    const file = path.join(dir, 'logs', 'mailer.log');
    expect(await appendLogEntry(file, { event: 'order.retry_requested', orderId: '7' }, 'again')).toBeUndefined();
    expect(await appendLogEntry(file, { event: 'x' }, 'two')).toBeUndefined();
    const lines = (await readFile(file, 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ level: 30, pid: process.pid, hostname: os.hostname(), event: 'order.retry_requested', orderId: '7', msg: 'again' });
    expect(Number.isNaN(Date.parse(String(lines[0]!.time)))).toBe(false);
  });
});
