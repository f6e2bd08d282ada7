/**
 * Where a person acts, the text says exactly what to do (issue #14, item 5),
 * through the real CLI against a real SMTP server and real folders:
 * - a missing attachment names the absolute path the mailer looked at (after
 *   `--attachments` and `pathMap`) in the `.error.txt` note, the failure
 *   notice e-mail, `check`, `trace` and the log line;
 * - a malformed order's note describes the problem once, in the operator's
 *   language (line, column, what was expected and found), never the parser's
 *   English;
 * - the note says to move the fixed order back, not to copy it;
 * - `trace` speaks in phrases, not state names; `check <id>` finds the order
 *   wherever it is and says where.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from '../helpers/cli.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import { makeTmpDir, removeTmpDirs } from '../helpers/tmp.js';
import { simpleOrder } from './folder.js';

let sink: SmtpSink;
let root: string;
let dir: string;
let adjuntos: string;
let config: string;
/** The absolute paths the mailer must name: FACT-1.pdf under --attachments, FACT-2.pdf through pathMap. */
let fact1: string;
let fact2: string;
let once: CliResult;

const ERRORS = '<CorreoErrores>errores@acme.example</CorreoErrores>';
const NOTE = (id: string): string => path.join(dir, 'errores', `_CFD_MAIL_REQ_${id}.XML.error.txt`);

/** Complete but not well-formed: `<Para>` is closed by `</Cuerpo>` on line 6. */
function malformedOrder(port: number): string {
  return simpleOrder({ port, extra: ERRORS }).replace('<Para>cliente@example.com</Para>', '<Para>cliente@example.com</Cuerpo>');
}

beforeAll(async () => {
  sink = await startSmtpSink();
  root = await makeTmpDir('proscai-texts-');
  dir = path.join(root, 'envio');
  adjuntos = path.join(root, 'adjuntos');
  await mkdir(dir);
  await mkdir(path.join(adjuntos, 'facturas'), { recursive: true });
  fact1 = path.join(adjuntos, 'FACT-1.pdf');
  fact2 = path.join(adjuntos, 'facturas', 'FACT-2.pdf');
  config = path.join(root, 'mailer.json');
  await writeFile(config, JSON.stringify({ pathMap: { 'F:\\Facturas': path.join(adjuntos, 'facturas') } }));
  await writeFile(path.join(dir, '_CFD_MAIL_REQ_0100.XML'), simpleOrder({ port: sink.port, attachments: ['FACT-1.pdf'], extra: ERRORS }));
  await writeFile(path.join(dir, '_CFD_MAIL_REQ_0101.XML'), simpleOrder({ port: sink.port, attachments: ['F:\\Facturas\\FACT-2.pdf'], extra: ERRORS }));
  await writeFile(path.join(dir, '_CFD_MAIL_REQ_0102.XML'), malformedOrder(sink.port));
  once = await runCli(['once', '--dir', dir, '--attachments', adjuntos, '--config', config]);
}, 120_000);
afterAll(async () => {
  await sink.close();
  await removeTmpDirs();
});

const common = (): string[] => ['--dir', dir, '--attachments', adjuntos, '--config', config];

describe('operator texts', { timeout: 120_000 }, () => {
  it('names the full path of a missing attachment in the note, the notice, check, trace and the log', async () => {
    expect(once.code, once.stderr).toBe(1);
    // The note.
    expect(await readFile(NOTE('0100'), 'utf8')).toContain(`El adjunto «FACT-1.pdf» (campo Adjuntos/Archivo) no existe: se buscó en ${fact1}.`);
    expect(await readFile(NOTE('0101'), 'utf8')).toContain(`El adjunto «F:\\Facturas\\FACT-2.pdf» (campo Adjuntos/Archivo) no existe: se buscó en ${fact2}.`);
    // The notice e-mail (one or several, as the notifier groups them).
    const notices = (): string => sink.messages.map((m) => m.parsed.text ?? '').join('\n');
    await expect.poll(notices, { timeout: 10_000 }).toContain(`Motivo: El adjunto «FACT-1.pdf» (campo Adjuntos/Archivo) no existe: se buscó en ${fact1}.`);
    await expect.poll(notices, { timeout: 10_000 }).toContain(`se buscó en ${fact2}`);
    // The log: the structured path, and the line's message.
    const log = (await readFile(path.join(dir, '.proscai-mailer', 'logs', 'mailer.log'), 'utf8'))
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const failed = log.find((l) => l.event === 'order.failed' && l.orderId === '0100')!;
    expect(failed.reasons).toEqual([expect.objectContaining({ errorCode: 'ATTACHMENT_MISSING', path: fact1, value: 'FACT-1.pdf' })]);
    expect(String(failed.msg)).toContain(fact1);
    expect(log.find((l) => l.event === 'order.failed' && l.orderId === '0101')!.reasons).toEqual([expect.objectContaining({ path: fact2 })]);
    // check, by id (the order is in errores/ now), in both languages and as JSON.
    const check = await runCli(['check', '0100', ...common()]);
    expect(check.code, check.stderr).toBe(1);
    expect(check.stdout).toContain(`se buscó en ${fact1}`);
    const checkEn = await runCli(['check', '0101', ...common(), '--language', 'en']);
    expect(checkEn.stdout).toContain(`The attachment "F:\\Facturas\\FACT-2.pdf" (field Adjuntos/Archivo) does not exist: looked for at ${fact2}.`);
    const checkJson = JSON.parse((await runCli(['check', '0100', ...common(), '--json'])).stdout) as { problems: { path?: string }[] };
    expect(checkJson.problems.map((p) => p.path)).toEqual([fact1]);
    // trace.
    const trace = await runCli(['trace', '0100', '--dir', dir]);
    expect(trace.code, trace.stderr).toBe(0);
    expect(trace.stdout).toContain(`no existe: se buscó en ${fact1}`);
  });

  it('describes malformed XML once, in Spanish by default and in English on request, from the scanner data', async () => {
    const note = await readFile(NOTE('0102'), 'utf8');
    const sentence = 'El XML de la orden está mal formado en la línea 6, columna 28: se esperaba </Para> (abierto en la línea 6, columna 3) y se encontró </Cuerpo>.';
    expect(note.split(/\r?\n/)).toContain(`- ${sentence}`);
    expect(note.split('mal formado').length - 1).toBe(1);
    expect(note).not.toMatch(/Expected|closing tag|instead of|line \d/);
    const en = await runCli(['check', '0102', ...common(), '--language', 'en']);
    expect(en.stdout).toContain("The order's XML is malformed at line 6, column 28: expected </Para> (opened at line 6, column 3) and found </Cuerpo>.");
    expect(en.stdout.split('malformed').length - 1).toBe(1);
    const json = JSON.parse((await runCli(['check', '0102', ...common(), '--json'])).stdout) as { problems: { code: string; text: string }[] };
    expect(json.problems).toEqual([expect.objectContaining({ code: 'ORDER_XML_MALFORMED', text: sentence })]);
  });

  it('tells the person to move the fixed order back, not to copy it, in both languages', async () => {
    for (const id of ['0100', '0102']) {
      const note = await readFile(NOTE(id), 'utf8');
      expect(note).toMatch(/muév(alo|ala) usted \(no l[ao] copie\): una copia que se quede en errores\/ se enviaría otra vez con «proscai-mailer retry --failed»/);
      expect(note).not.toMatch(/copie (el archivo|la orden)/);
    }
    const en = path.join(root, 'envio-en');
    await mkdir(en);
    await writeFile(path.join(en, '_CFD_MAIL_REQ_0200.XML'), malformedOrder(sink.port));
    expect((await runCli(['once', '--dir', en, '--language', 'en'])).code).toBe(1);
    const note = await readFile(path.join(en, 'errores', '_CFD_MAIL_REQ_0200.XML.error.txt'), 'utf8');
    expect(note).toContain('or move it yourself (do not copy it): a copy left in errores/ would be sent again by "proscai-mailer retry --failed"');
    expect(note).toContain("- The order's XML is malformed at line 6, column 28: expected </Para>");
  });

  it('trace speaks in phrases; check <id> says where it found the order, and that nothing was found', async () => {
    const trace = (await runCli(['trace', '0102', '--dir', dir])).stdout;
    expect(trace).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d {2}tomando el archivo de la carpeta de órdenes$/m);
    expect(trace).toMatch(/ {2}leyendo la orden$/m);
    expect(trace).toMatch(/ {2}moviéndola a errores\/ con su nota \.error\.txt$/m);
    expect(trace).not.toMatch(/→|done:|archivingFailed|claiming|\(init\)/);

    const found = await runCli(['check', '0102', '--dir', dir]);
    expect(found.stdout).toContain(`La orden «0102» se encontró en errores/ (falló; su nota .error.txt dice por qué): ${path.join(dir, 'errores', '_CFD_MAIL_REQ_0102.XML')}`);
    // A new order of the same id waiting in the order folder is checked first; the other copy is named.
    await writeFile(path.join(dir, '_CFD_MAIL_REQ_0102.XML'), simpleOrder({ port: sink.port }));
    const both = await runCli(['check', '_cfd_mail_req_0102.xml', '--dir', dir, '--language', 'en']);
    expect(both.code, both.stderr).toBe(0);
    expect(both.stdout).toContain(`The order "0102" was found in the order folder, waiting to be sent: ${path.join(dir, '_CFD_MAIL_REQ_0102.XML')}`);
    expect(both.stdout).toContain(`Another copy: in errores/ (it failed; its .error.txt note says why): ${path.join(dir, 'errores', '_CFD_MAIL_REQ_0102.XML')}`);

    const none = await runCli(['check', '0999', '--dir', dir]);
    expect(none.code).toBe(1);
    expect(none.stdout).toBe('');
    expect(none.stderr).toContain(`No se encontró ninguna orden «0999»: se buscó en la carpeta de órdenes ${dir}`);
  });
});
