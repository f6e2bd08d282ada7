/**
 * `proscai-mailer trace`: the real CLI reading the log that real `once` runs
 * wrote (a 451, then a success), plus rotated log files and damaged lines.
 */
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnyStateNode } from 'xstate';
import { STATE_PHRASES, statePhrase } from '../../src/text/states.js';
import { orderMachine } from '../../src/machines/order.js';
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
  it('tells the deferred try with the 451 reply, the retry and the outcome in the operator\'s words, by id or file name', async () => {
    const result = await runCli(['trace', '0042_20261127093015', '--dir', dir]);
    expect(result.code, result.stderr).toBe(0);
    const out = result.stdout;
    expect(out).toContain('Orden 0042_20261127093015 (_CFD_MAIL_REQ_0042_20261127093015.XML), empresa ACME');
    const T = '\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d';
    const timeline = [
      `${T}  tomando el archivo de la carpeta de órdenes`,
      `${T}  leyendo la orden`,
      `${T}  enviando \\(intento 1\\)`,
      `${T}  el envío falló; se decide si se reintenta: El servidor SMTP rechazó el mensaje de forma temporal: 451 4\\.7\\.1 try again later\\. \\[SMTP_TEMPORARY\\]`,
      `${T}  en espera; reintento programado para el ${T}`,
      // The same reply is not repeated on the outcome line of the try.
      `${T}  el intento 1 falló; se reintentará el ${T}\\n`,
      `${T}  retomada al iniciar proscai-mailer \\(ya estaba tomada\\)`,
      `${T}  enviando \\(intento 2\\)`,
      `${T}  aceptada por el servidor SMTP`,
      `${T}  archivando la orden enviada`,
      `${T}  terminado`,
    ];
    let at = 0;
    for (const line of timeline) {
      const found = out.slice(at).search(new RegExp(`^${line}`, 'm'));
      expect(found, `${line} after offset ${at} in\n${out}`).toBeGreaterThanOrEqual(0);
      at += found + 1;
    }
    // No internal state names or XState event names.
    expect(out).not.toMatch(/→|retryOrGiveUp|archiving|sending|done:|error:|\(init\)|xstate/);
    expect(out).toMatch(/Resultado: enviada \(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\)\.\n$/);

    const byName = await runCli(['trace', '_cfd_mail_req_0042_20261127093015.xml', '--dir', dir, '--language', 'en']);
    expect(byName.code).toBe(0);
    expect(byName.stdout).toMatch(/  the send failed; deciding whether to try again: The SMTP server refused the message temporarily: 451 4\.7\.1 try again later\. \[SMTP_TEMPORARY\]\n/);
    expect(byName.stdout).toMatch(/  waiting; retry scheduled for \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\n/);
    expect(byName.stdout).toContain('try 1 failed; next try at');
    expect(byName.stdout).toMatch(/  sending \(try 2\)\n/);
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

describe('trace phrases', () => {
  /** Every state of a machine, nested ones included, by key. */
  const statesOf = (node: AnyStateNode): string[] => Object.values(node.states).flatMap((child) => [child.key, ...statesOf(child)]);

  it('has a phrase in both languages for every state of the order machine', () => {
    const states = statesOf(orderMachine.root);
    expect(states.length).toBeGreaterThan(20);
    // By name, as the log gives it (the table is typed by the machine's names; this checks it at run time too).
    const phrases: Readonly<Record<string, unknown>> = STATE_PHRASES;
    const missing = states.filter((state) => phrases[state] === undefined);
    expect(missing, 'states of machines/order.ts without a phrase in STATE_PHRASES').toEqual([]);
    for (const state of states) {
      for (const lang of ['es', 'en'] as const) {
        const text = statePhrase(state, lang, { attempts: 3, next: '2026-11-27 10:32:00' });
        expect(text, `${state} (${lang})`).not.toBe(state);
        expect(text, `${state} (${lang})`).not.toMatch(/\{\w+\}/);
      }
    }
    // No phrase left over for a state the machine no longer has.
    expect(Object.keys(STATE_PHRASES).filter((name) => !states.includes(name))).toEqual([]);
  });

  it('fills the attempt and the next try, and says so when the next try is not known', () => {
    expect(statePhrase('sending', 'es', { attempts: 2 })).toBe('enviando (intento 2)');
    expect(statePhrase('deferred', 'es', { next: '2026-11-27 10:32:00' })).toBe('en espera; reintento programado para el 2026-11-27 10:32:00');
    expect(statePhrase('deferred', 'en')).toBe('waiting for a retry');
    expect(statePhrase('someFutureState', 'es')).toBe('someFutureState');
  });
});
