/**
 * `proscai-mailer trace`: the real CLI reading the log that real `once` runs
 * wrote (a 451, then a success), plus rotated log files and damaged lines.
 */
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import { makeTmpDir, removeTmpDirs } from '../helpers/tmp.js';
import { simpleOrder } from '../e2e/folder.js';

let sink: SmtpSink;
let refuse = true;
/** One folder for the whole file: the two `once` runs are the slow part. */
let dir: string;
beforeAll(async () => {
  sink = await startSmtpSink({ rcptError: () => (refuse ? { code: 451, message: '4.7.1 try again later' } : undefined) });
  dir = await deferredThenSent();
}, 180_000);
afterAll(async () => {
  await sink.close();
  await removeTmpDirs();
});

/** An order deferred once by a 451, then sent by a later `once`. */
async function deferredThenSent(): Promise<string> {
  const dir = await makeTmpDir('proscai-trace-');
  await writeFile(path.join(dir, '_CFD_MAIL_REQ_0042_20261127093015.XML'), simpleOrder({ port: sink.port }));
  expect((await runCli(['once', '--dir', dir, '--retry', '1'])).code).toBe(4);
  refuse = false;
  await new Promise((r) => setTimeout(r, 1100));
  expect((await runCli(['once', '--dir', dir, '--retry', '1'])).code).toBe(0);
  expect(sink.messages).toHaveLength(1);
  return dir;
}

describe('trace', { timeout: 120_000 }, () => {
  it('shows the deferred try with the 451 reply, the retry and the final done, by id or file name', async () => {
    const result = await runCli(['trace', '0042_20261127093015', '--dir', dir]);
    expect(result.code, result.stderr).toBe(0);
    const out = result.stdout;
    expect(out).toContain('Orden 0042_20261127093015 (_CFD_MAIL_REQ_0042_20261127093015.XML), empresa ACME');
    const failedTry = out.indexOf('sending → retryOrGiveUp');
    const deferred = out.search(/el intento 1 falló; se reintentará el \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+SMTP_TEMPORARY: .*451 4\.7\.1 try again later/);
    const resumed = out.indexOf('detected → resuming');
    const secondTry = out.indexOf('intento 2');
    const done = out.indexOf('archiving → done');
    expect(failedTry).toBeGreaterThan(0);
    expect(out.slice(failedTry, out.indexOf('\n', failedTry))).toContain('451 4.7.1 try again later');
    expect(deferred).toBeGreaterThan(failedTry);
    expect(resumed).toBeGreaterThan(deferred);
    expect(secondTry).toBeGreaterThan(resumed);
    expect(done).toBeGreaterThan(secondTry);
    expect(out).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d {2}sent → archiving/m);
    expect(out).toMatch(/Resultado: enviada \(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\)\.\n$/);

    const byName = await runCli(['trace', '_cfd_mail_req_0042_20261127093015.xml', '--dir', dir, '--language', 'en']);
    expect(byName.code).toBe(0);
    expect(byName.stdout).toContain('try 1 failed; next try at');
    expect(byName.stdout).toMatch(/Outcome: sent/);
    const byPath = await runCli(['trace', path.join(dir, 'enviados', '_CFD_MAIL_REQ_0042_20261127093015.XML'), '--dir', dir]);
    expect(byPath.stdout).toBe(result.stdout);
  });

  it('--json prints the log lines of the order as an array', async () => {
    const result = await runCli(['trace', '0042_20261127093015', '--dir', dir, '--json']);
    expect(result.code, result.stderr).toBe(0);
    const lines = JSON.parse(result.stdout) as Record<string, unknown>[];
    expect(Array.isArray(lines)).toBe(true);
    expect(lines.every((l) => l.orderId === '0042_20261127093015')).toBe(true);
    const deferred = lines.find((l) => l.event === 'order.deferred')!;
    expect(deferred).toMatchObject({ attempts: 1, errorCode: 'SMTP_TEMPORARY', smtpCode: 451 });
    expect(typeof deferred.nextTryAt).toBe('string');
    const transitions = lines.filter((l) => l.event === 'order.transition');
    expect(transitions.at(-1)).toMatchObject({ from: 'archiving', to: 'done' });
    expect(transitions.map((l) => l.to)).toContain('sent');
  });

  it('exits 1 with a clear message when the log has nothing for the order', async () => {
    const result = await runCli(['trace', '9999_NOPE', '--dir', dir]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('El registro no tiene nada de la orden «9999_NOPE»');
    expect(result.stderr).toContain('mailer.log');
    const empty = await makeTmpDir('proscai-trace-');
    const none = await runCli(['trace', '1', '--dir', empty, '--language', 'en']);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('The log has nothing about the order "1" (read: no log file)');
  });

  it('reads rotated files first, skipping lines that are not JSON and a half-written last line', async () => {
    const logs = path.join(dir, '.proscai-mailer', 'logs');
    await mkdir(logs, { recursive: true });
    const old = (to: string, time: string) =>
      JSON.stringify({ level: 20, time, event: 'order.transition', orderId: 'OLD1', fileName: '_CFD_MAIL_REQ_OLD1.XML', company: 'ACME', from: 'x', to, cause: 'xstate.init' });
    await writeFile(path.join(logs, 'mailer-2026-01-02.log'), `${old('second', '2026-01-02T10:00:00.000Z')}\n`);
    await writeFile(path.join(logs, 'mailer-2026-01-01.001.log'), `${old('first', '2026-01-01T10:00:00.000Z')}\nnot json at all\n\n`);
    await writeFile(path.join(logs, 'mailer-2026-01-01.log'), `${old('first-b', '2026-01-01T23:00:00.000Z')}\n`);
    await appendFile(path.join(logs, 'mailer.log'), `${old('third', '2026-01-03T10:00:00.000Z')}\n{"level":20,"event":"order.transition","orderId":"OLD1","to":"cut`);
    const result = await runCli(['trace', 'old1', '--dir', dir, '--json']);
    expect(result.code, result.stderr).toBe(0);
    expect((JSON.parse(result.stdout) as { to: string }[]).map((l) => l.to)).toEqual(['first', 'first-b', 'second', 'third']);
  });
});
