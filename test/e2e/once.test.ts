/**
 * `proscai-mailer once` end to end: the real CLI as a child process, the
 * shared sample orders in a real temp folder, a real SMTP server in-process.
 */
import { existsSync } from 'node:fs';
import { readFile, readdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import { systemRecycleBin } from '../helpers/recycle-bin.js';
import { makeTmpDir, removeTmpDirs } from '../helpers/tmp.js';
import { makeSampleFolder, SAMPLE_HTML, SAMPLE_INVOICE, SAMPLE_NO_RECIPIENT, simpleOrder } from './folder.js';

let sink: SmtpSink;
beforeEach(async () => {
  sink = await startSmtpSink();
});
afterEach(async () => {
  await sink.close();
});
afterAll(removeTmpDirs);

async function logLines(dir: string): Promise<Record<string, unknown>[]> {
  const text = await readFile(path.join(dir, '.proscai-mailer', 'logs', 'mailer.log'), 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** The files in this machine's claims folder, besides its heartbeat. */
async function claimedFiles(dir: string): Promise<string[]> {
  const claims = path.join(dir, '.proscai-mailer', 'claims');
  const [host] = await readdir(claims);
  const names = (await readdir(path.join(claims, host!))).filter((name) => name !== '.heartbeat');
  return names.sort().map((name) => path.join(claims, host!, name));
}

describe('once with the shared samples', () => {
  it('sends the invoice and the HTML order, fails the one without recipient, and exits 1', async () => {
    const folder = await makeSampleFolder(sink.port);
    const trashHome = await makeTmpDir('proscai-xdg-');
    const result = await runCli(['once', '--dir', folder.dir], { XDG_DATA_HOME: trashHome });
    expect(result.stderr).not.toContain('Error:');
    expect(result.code).toBe(1);

    // Two orders and one failure notification.
    expect(sink.messages).toHaveLength(3);
    const invoice = sink.messages.find((m) => m.parsed.subject?.startsWith('CFDI Factura F-20931'))!;
    expect(invoice).toBeDefined();
    expect(invoice.parsed.subject).toBe('CFDI Factura F-20931 — Ferretería López & Hijos') ; // 0x97 in windows-1252 is an em dash
    expect(invoice.parsed.from?.value[0]).toEqual({ name: 'Facturación Distribuidora del Norte', address: 'facturas@dnorte.example' });
    expect(invoice.envelope.to).toEqual(['cuentasxpagar@ferreteria-lopez.example']);
    expect(invoice.parsed.text).toContain('Le enviamos su Comprobante Fiscal Digital');
    expect(invoice.parsed.messageId).toBe('<proscai.0042_20261127093015@dnorte.example>');
    const [xml, pdf] = invoice.parsed.attachments;
    expect(xml!.filename).toBe('F-20931.xml');
    expect(xml!.contentType).toBe('application/xml');
    expect(Buffer.compare(xml!.content, folder.files['C00017/F-20931.xml']!)).toBe(0);
    expect(pdf!.filename).toBe('Factura F-20931.pdf');
    expect(pdf!.contentType).toBe('application/pdf');
    expect(Buffer.compare(pdf!.content, folder.files['C00017/F-20931.pdf']!)).toBe(0);

    const html = sink.messages.find((m) => m.parsed.subject === 'Pedido P-5521 confirmado')!;
    expect(html.envelope.to.sort()).toEqual(['almacen@cliente.example', 'compras@cliente.example', 'vendedor7@acme.example']);
    expect(html.parsed.html).toContain('<b>pedido P-5521</b>');
    expect(html.parsed.html).not.toMatch(/^\s*HTML/);
    expect(html.parsed.text).toContain('pedido P-5521');
    expect(html.parsed.text).not.toContain('<b>');
    expect(Buffer.compare(html.parsed.attachments[0]!.content, folder.files['pedidos/P-5521.pdf']!)).toBe(0);

    const notice = sink.messages.find((m) => m.envelope.to.includes('cobranza@acme.example'))!;
    expect(notice).toBeDefined();
    expect(notice.parsed.text).toContain(SAMPLE_NO_RECIPIENT);
    expect(notice.parsed.text).toContain('sin destinatario');

    // Outcomes on disk (spec section 3).
    // Each sent order's acuse de envío is kept beside it.
    expect((await readdir(path.join(folder.dir, 'enviados'))).sort()).toEqual([SAMPLE_INVOICE, `${SAMPLE_INVOICE}.acuse.json`]);
    expect(existsSync(path.join(folder.dir, SAMPLE_HTML))).toBe(false);
    const claimed = await claimedFiles(folder.dir);
    if (systemRecycleBin === 'none') {
      // RECICLAR with no recycle bin to reach (Wine): the sent order stays claimed, marked sent, for a later try.
      expect(claimed.map((f) => path.basename(f))).toEqual([SAMPLE_HTML, `${SAMPLE_HTML}.state.json`]);
      expect(JSON.parse(await readFile(claimed[1]!, 'utf8')).sentAt).toEqual(expect.any(Number));
    } else {
      expect(claimed).toEqual([]);
    }
    if (systemRecycleBin === 'xdg') {
      // RECICLAR: in the freedesktop trash, with the original path recorded (the trash names files by UUID).
      const [info] = await readdir(path.join(trashHome, 'Trash', 'info'));
      const trashInfo = await readFile(path.join(trashHome, 'Trash', 'info', info!), 'utf8');
      // Recorded as deleted from enviados/, so "Restore" puts it among the kept orders.
      expect(decodeURIComponent(trashInfo)).toContain(`Path=${path.join(folder.dir, 'enviados', SAMPLE_HTML)}`);
    }
    const failed = await readdir(path.join(folder.dir, 'errores'));
    expect(failed.sort()).toEqual([SAMPLE_NO_RECIPIENT, `${SAMPLE_NO_RECIPIENT}.error.txt`]);
    const note = await readFile(path.join(folder.dir, 'errores', `${SAMPLE_NO_RECIPIENT}.error.txt`), 'utf8');
    expect(note).toContain(SAMPLE_NO_RECIPIENT);
    expect(note).toContain('«Para»');
    expect(note).toContain('sin destinatario');

    // The bitácora: every transition with its order id; successes only when asked.
    const lines = await logLines(folder.dir);
    const transitions = lines.filter((l) => l.event === 'order.transition');
    for (const id of ['0042_20261127093015', '0107_20261127101500', '0107_20261127101612']) {
      expect(transitions.filter((l) => l.orderId === id).length).toBeGreaterThanOrEqual(4);
    }
    const path0042 = transitions.filter((l) => l.orderId === '0042_20261127093015').map((l) => l.to);
    expect(path0042).toEqual(['claiming', 'loading', 'parsed', 'sending', 'sent', 'archiving', 'done']);
    const sent = lines.filter((l) => l.event === 'order.sent').map((l) => l.orderId);
    expect(sent).toEqual(['0042_20261127093015']); // RegistrarEnvios SI; the HTML order does not ask
    const failures = lines.filter((l) => l.event === 'order.failed');
    expect(failures.map((l) => l.orderId)).toEqual(['0107_20261127101612']);
  });

  it.runIf(systemRecycleBin === 'xdg')('an order recycled (RECICLAR) and then restored from the recycle bin lands in enviados/ and is not sent again (the XDG trash: its .trashinfo tells where Restore puts it)', async () => {
    const dir = await makeTmpDir('proscai-e2e-');
    const trashHome = await makeTmpDir('proscai-xdg-');
    const name = '_CFD_MAIL_REQ_R1.XML';
    await writeFile(path.join(dir, name), simpleOrder({ port: sink.port, extra: '<DespuesDeEnviar>RECICLAR</DespuesDeEnviar>' }));
    expect((await runCli(['once', '--dir', dir], { XDG_DATA_HOME: trashHome })).code).toBe(0);
    expect(sink.messages).toHaveLength(1);

    // What "Restore" does in a file manager: the file goes back to the Path= its .trashinfo recorded.
    const [info] = await readdir(path.join(trashHome, 'Trash', 'info'));
    const recorded = /^Path=(.*)$/m.exec(await readFile(path.join(trashHome, 'Trash', 'info', info!), 'utf8'))![1]!;
    const original = decodeURIComponent(recorded);
    expect(original).toBe(path.join(dir, 'enviados', name));
    await rename(path.join(trashHome, 'Trash', 'files', info!.replace(/\.trashinfo$/, '')), original);

    expect((await runCli(['once', '--dir', dir], { XDG_DATA_HOME: trashHome })).code).toBe(0);
    expect(sink.messages).toHaveLength(1);
    // Its acuse stayed in the work area (RECICLAR): not beside the restored order.
    expect(await readdir(path.join(dir, 'enviados'))).toEqual([name]);
  });

  it.runIf(systemRecycleBin !== 'windows')(
    'RECICLAR with no usable recycle bin: the order stays claimed, is not sent again, is logged as an error and `once` exits 4; with recycleDir it is archived there (Linux: XDG_DATA_HOME made a file; Wine has no recycle bin)',
    async () => {
      const dir = await makeTmpDir('proscai-e2e-');
      // On Linux the trash cannot be created inside a file; under Wine there is no bin to reach anyway.
      const noTrash = path.join(await makeTmpDir('proscai-xdg-'), 'not-a-folder');
      await writeFile(noTrash, '');
      const name = '_CFD_MAIL_REQ_R2.XML';
      await writeFile(path.join(dir, name), simpleOrder({ port: sink.port, extra: '<DespuesDeEnviar>RECICLAR</DespuesDeEnviar>' }));

      for (let pass = 1; pass <= 2; pass++) {
        expect((await runCli(['once', '--dir', dir], { XDG_DATA_HOME: noTrash })).code, `pass ${pass}`).toBe(4);
        expect(sink.messages).toHaveLength(1); // sent on the first pass only
        const claimed = await claimedFiles(dir);
        expect(claimed.map((f) => path.basename(f))).toEqual([name, `${name}.state.json`]);
        expect(JSON.parse(await readFile(claimed[1]!, 'utf8')).sentAt).toEqual(expect.any(Number));
        expect(existsSync(path.join(dir, name))).toBe(false);
        expect(await readdir(path.join(dir, 'enviados'))).toEqual([]);
      }
      const lines = await logLines(dir);
      const refused = lines.filter((l) => l.event === 'order.transition' && l.from === 'archiving' && l.errorCode === 'FS_MOVE_FAILED');
      expect(refused).toHaveLength(2);
      expect(String(refused[0]!.error)).toContain('move to recycle bin failed');
      expect(String(refused[0]!.error)).toContain('set recycleDir');
      const errors = lines.filter((l) => l.event === 'order.archive_failed');
      expect(errors).toHaveLength(2);
      expect(errors.every((l) => l.level === 50)).toBe(true); // pino's "error"

      // The cure the error names: a plain folder for RECICLAR. The order is archived there, still without a second send.
      const recycleDir = path.join(dir, 'reciclados');
      const config = path.join(dir, 'config.json');
      await writeFile(config, JSON.stringify({ dir, recycleDir }));
      expect((await runCli(['once', '--config', config], { XDG_DATA_HOME: noTrash })).code).toBe(0);
      expect(sink.messages).toHaveLength(1);
      expect(await readFile(path.join(recycleDir, name), 'utf8')).toContain('<DespuesDeEnviar>RECICLAR</DespuesDeEnviar>');
      expect(await claimedFiles(dir)).toEqual([]);
    },
  );

  it('exits 0 when all are sent, and leaves files that are not orders alone', async () => {
    const dir = await makeTmpDir('proscai-e2e-');
    await writeFile(path.join(dir, '_cfd_mail_req_77.xml'), simpleOrder({ port: sink.port }));
    const bystanders = ['notes.txt', '_CFD_MAIL_REQ_1.XML.tmp', '~_CFD_MAIL_REQ_1.XML'];
    for (const name of bystanders) await writeFile(path.join(dir, name), 'x');
    const result = await runCli(['once', '--dir', dir]);
    expect(result.code).toBe(0);
    expect(sink.messages).toHaveLength(1);
    expect((await readdir(path.join(dir, 'enviados'))).sort()).toEqual(['_cfd_mail_req_77.xml', '_cfd_mail_req_77.xml.acuse.json']);
    for (const name of bystanders) expect(await readFile(path.join(dir, name), 'utf8')).toBe('x');
  });

  it('leaves a temporarily failed order queued and exits 4; the next pass sends it', async () => {
    const dir = await makeTmpDir('proscai-e2e-');
    await writeFile(path.join(dir, '_CFD_MAIL_REQ_T1.XML'), simpleOrder({ port: sink.port, to: 'later@example.com' }));
    let refuse = true;
    await sink.close();
    sink = await startSmtpSink({ rcptError: () => (refuse ? { code: 451, message: '4.7.1 try again later' } : undefined) });
    await writeFile(path.join(dir, '_CFD_MAIL_REQ_T1.XML'), simpleOrder({ port: sink.port, to: 'later@example.com' }));
    const first = await runCli(['once', '--dir', dir, '--retry', '1']);
    expect(first.code).toBe(4);
    expect(sink.messages).toHaveLength(0);
    const claims = path.join(dir, '.proscai-mailer', 'claims');
    const [host] = await readdir(claims);
    const state = JSON.parse(await readFile(path.join(claims, host!, '_CFD_MAIL_REQ_T1.XML.state.json'), 'utf8'));
    expect(state.attempts).toBe(1);
    expect(state.lastError.smtp.responseCode).toBe(451);

    refuse = false;
    await new Promise((r) => setTimeout(r, 1100));
    const second = await runCli(['once', '--dir', dir, '--retry', '1']);
    expect(second.code).toBe(0);
    expect(sink.messages).toHaveLength(1);
    expect((await readdir(path.join(dir, 'enviados'))).sort()).toEqual(['_CFD_MAIL_REQ_T1.XML', '_CFD_MAIL_REQ_T1.XML.acuse.json']);
  });

  it('a 5xx reply fails at once: errores/ with the server reply in the note', async () => {
    await sink.close();
    sink = await startSmtpSink({ rejectRecipients: [{ address: 'nadie@example.com', code: 550, message: '5.1.1 User unknown' }] });
    const dir = await makeTmpDir('proscai-e2e-');
    await writeFile(path.join(dir, '_CFD_MAIL_REQ_X.XML'), simpleOrder({ port: sink.port, to: 'nadie@example.com' }));
    const result = await runCli(['once', '--dir', dir, '--language', 'en']);
    expect(result.code).toBe(1);
    const note = await readFile(path.join(dir, 'errores', '_CFD_MAIL_REQ_X.XML.error.txt'), 'utf8');
    expect(note).toContain('550');
    expect(note).toContain('User unknown');
  });

  it('exits 2 on an invalid configuration, naming the key, before touching the folder', async () => {
    const dir = await makeTmpDir('proscai-e2e-');
    await writeFile(path.join(dir, '_CFD_MAIL_REQ_1.XML'), simpleOrder({ port: sink.port }));
    const config = path.join(dir, 'config.json');
    await writeFile(config, JSON.stringify({ dir, polll: 5 }));
    const result = await runCli(['once', '--config', config]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('polll');
    expect(existsSync(path.join(dir, '.proscai-mailer'))).toBe(false);
    expect(sink.messages).toHaveLength(0);
  });

  it("prints the terminal's log lines in Spanish by default and in English with --language en; the log file keeps English event names", async () => {
    const order = (id: string) => simpleOrder({ port: sink.port, attachments: ['no-existe.pdf'], extra: '<Zzz>1</Zzz>' }).replace('<Asunto>', `<!-- ${id} --><Asunto>`);
    const dir = await makeTmpDir('proscai-e2e-');
    await writeFile(path.join(dir, '_CFD_MAIL_REQ_T1.XML'), order('T1'));
    const es = await runCli(['once', '--dir', dir]);
    expect(es.code).toBe(1);
    const spanish = es.stderr.split('\n').filter(Boolean).map((l) => l.replace(/^\[\d\d:\d\d:\d\d\] /, ''));
    expect(spanish[0]).toBe(`INFO: proscai-mailer revisa una vez las órdenes de ${dir}.`);
    expect(spanish).toContain('AVISO: _CFD_MAIL_REQ_T1.XML: se ignoran elementos desconocidos: Zzz');
    expect(spanish.find((l) => l.startsWith('ERROR: T1: '))).toMatch(/^ERROR: T1: no se envió \(quedó en errores\/\)\. El adjunto «no-existe\.pdf» \(campo Adjuntos\/Archivo\) no existe/);
    expect(spanish.at(-1)).toBe('INFO: Enviadas: 0; fallidas: 1; en espera de reintento: 0.');
    // None of the lines as logged in English (a system error quoted inside a Spanish sentence may be English).
    expect(es.stderr).not.toMatch(/WARN:|INFO: Sent|T1: failed|unknown elements ignored|Attachment "|makes one pass/);
    const events = (await logLines(dir)).map((l) => l.event);
    expect(events).toEqual(expect.arrayContaining(['supervisor.started', 'order.unknown_elements', 'order.failed', 'supervisor.stopped']));

    const other = await makeTmpDir('proscai-e2e-');
    await writeFile(path.join(other, '_CFD_MAIL_REQ_T2.XML'), order('T2'));
    const en = await runCli(['once', '--dir', other, '--language', 'en']);
    expect(en.code).toBe(1);
    const english = en.stderr.split('\n').filter(Boolean).map((l) => l.replace(/^\[\d\d:\d\d:\d\d\] /, ''));
    expect(english[0]).toBe(`INFO: proscai-mailer makes one pass over the orders in ${other}.`);
    expect(english).toContain('WARN: _CFD_MAIL_REQ_T2.XML: unknown elements ignored: Zzz');
    expect(english.find((l) => l.startsWith('ERROR: T2: '))).toMatch(/^ERROR: T2: failed: /);
    expect(english.at(-1)).toBe('INFO: Sent: 0; failed: 1; queued for a retry: 0.');
    expect(en.stderr).not.toMatch(/AVISO|Enviadas|no se envió|desconocid|adjunto/);
  });

  it('exits 2 on a usage error and when no order folder is given', async () => {
    expect((await runCli(['once', '--no-such-flag'])).code).toBe(2);
    expect((await runCli(['once'])).code).toBe(2);
  });
});
