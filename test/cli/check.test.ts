/**
 * `proscai-mailer check`: the real CLI on real order files. It must show what
 * would be sent without opening any SMTP connection, and list every reason an
 * invalid order would fail for.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, realpath, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CheckReport } from '../../src/cli/check.js';
import { runCli } from '../helpers/cli.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import { makeTmpDir, removeTmpDirs } from '../helpers/tmp.js';
import { makeSampleFolder, SAMPLE_INVOICE, simpleOrder } from '../e2e/folder.js';

let sink: SmtpSink;
beforeEach(async () => {
  sink = await startSmtpSink();
});
afterEach(async () => {
  await sink.close();
});
afterAll(removeTmpDirs);

describe('check', { timeout: 120_000 }, () => {
  it('shows sender, recipients, server and each attachment with its path and size; sends nothing', async () => {
    const folder = await makeSampleFolder(sink.port, [SAMPLE_INVOICE]);
    const before = await readdir(folder.dir);
    // No --dir: the order file's own folder is the order folder.
    const result = await runCli(['check', path.join(folder.dir, SAMPLE_INVOICE)]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const out = result.stdout;
    expect(out).toContain(`La orden ${SAMPLE_INVOICE} es válida`);
    expect(out).toMatch(/Remitente:\s+Facturación Distribuidora del Norte <facturas@dnorte\.example>/);
    expect(out).toMatch(/Para:\s+cuentasxpagar@ferreteria-lopez\.example/);
    expect(out).toMatch(/Asunto:\s+CFDI Factura F-20931 — Ferretería López & Hijos/);
    expect(out).toMatch(/Cuerpo:\s+texto/);
    expect(out).toMatch(new RegExp(`Servidor SMTP:\\s+127\\.0\\.0\\.1:${sink.port}`));
    expect(out).toMatch(/Seguridad:\s+NINGUNA/);
    expect(out).toMatch(/Después de enviar:\s+CONSERVAR/);
    expect(out).toMatch(/Avisar fallas a:\s+sistemas@dnorte\.example/);
    const xmlPath = await realpath(path.join(folder.dir, 'C00017', 'F-20931.xml'));
    const pdfPath = await realpath(path.join(folder.dir, 'C00017', 'F-20931.pdf'));
    expect(out).toContain(`- F-20931.xml (application/xml, ${folder.files['C00017/F-20931.xml']!.length} bytes): ${xmlPath}`);
    expect(out).toContain(`- Factura F-20931.pdf (application/pdf, ${folder.files['C00017/F-20931.pdf']!.length} bytes): ${pdfPath}`);

    await new Promise((r) => setTimeout(r, 200));
    expect(sink.connectionCount()).toBe(0);
    expect(sink.messages).toHaveLength(0);
    expect(await readdir(folder.dir)).toEqual(before); // no work area, no enviados/, the order untouched
  });

  it('finds the attachments of an order copied from errores/, and never prints the SMTP password', async () => {
    const dir = await makeTmpDir('proscai-check-');
    await mkdir(path.join(dir, 'errores'));
    await mkdir(path.join(dir, 'docs'));
    await writeFile(path.join(dir, 'docs', 'A-1234.pdf'), 'pdf bytes');
    const smtp = `<SMTP><Servidor>127.0.0.1</Servidor><Puerto>${sink.port}</Puerto><Usuario>facturas@acme.example</Usuario><Contrasena>s3cr3t-Pw!</Contrasena></SMTP>`;
    const text = simpleOrder({ port: sink.port, attachments: ['docs\\A-1234.pdf'], extra: '<CC>Ventas &lt;ventas@acme.example&gt;</CC>' }).replace(/<SMTP>.*<\/SMTP>/, smtp);
    const file = path.join(dir, 'errores', '_CFD_MAIL_REQ_A1.XML');
    await writeFile(file, text);
    const result = await runCli(['check', file, '--language', 'en']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/User:\s+facturas@acme\.example/);
    expect(result.stdout).toMatch(/Security:\s+STARTTLS when the server offers it/);
    expect(result.stdout).toMatch(/CC:\s+Ventas <ventas@acme\.example>/);
    expect(result.stdout).toContain('A-1234.pdf (application/pdf, 9 bytes)');
    expect(result.stdout).not.toContain('s3cr3t');
    const json = await runCli(['check', file, '--json']);
    expect(json.stdout).not.toContain('s3cr3t');
    const report = JSON.parse(json.stdout) as CheckReport;
    expect(report.ok).toBe(true);
    expect(report.order?.attachments.map((a) => [a.filename, a.size])).toEqual([['A-1234.pdf', 9]]);
    expect(report.order?.smtp).toEqual({ host: '127.0.0.1', port: sink.port, security: null, user: 'facturas@acme.example' });
  });

  it('lists every parse error of an invalid order and exits 1', async () => {
    const dir = await makeTmpDir('proscai-check-');
    const file = path.join(dir, '_CFD_MAIL_REQ_BAD1.XML');
    const text = simpleOrder({ port: sink.port, to: '', extra: '<CC>not an address</CC>' }).replace(`<Puerto>${sink.port}</Puerto>`, '<Puerto>abc</Puerto>');
    await writeFile(file, text);
    const result = await runCli(['check', file]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('La orden _CFD_MAIL_REQ_BAD1.XML NO se puede enviar:');
    const problems = result.stdout.split('\n').filter((l) => l.startsWith('  - '));
    expect(problems).toHaveLength(3);
    expect(problems.join('\n')).toContain('«SMTP/Puerto» tiene un valor no válido: «abc»');
    expect(problems.join('\n')).toContain('«Para» no tiene ningún destinatario');
    expect(problems.join('\n')).toContain('«CC» contiene una dirección de correo no válida: «not an address»');
    expect(sink.connectionCount()).toBe(0);
  });

  it('lists every missing setting and EVERY bad attachment of an order that parses', async () => {
    const dir = await makeTmpDir('proscai-check-');
    await mkdir(path.join(dir, 'att'));
    await writeFile(path.join(dir, 'att', 'ok.pdf'), 'ok');
    await writeFile(path.join(path.dirname(dir), `${path.basename(dir)}-secret.pdf`), 'secret');
    const text = simpleOrder({ port: sink.port, attachments: ['att\\ok.pdf', 'att\\missing.pdf', `..\\${path.basename(dir)}-secret.pdf`, 'att/gone.xml'] })
      .replace(/<SMTP>.*<\/SMTP>/, '')
      .replace(/<Remitente>.*<\/Remitente>/, '');
    const file = path.join(dir, '_CFD_MAIL_REQ_BAD2.XML');
    await writeFile(file, text);
    const result = await runCli(['check', file, '--dir', dir, '--json']);
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as CheckReport;
    expect(report.ok).toBe(false);
    expect(report.problems.map((p) => [p.code, p.field, p.value])).toEqual([
      ['ORDER_FIELD_MISSING', 'SMTP/Servidor', undefined],
      ['ORDER_FIELD_MISSING', 'Remitente', undefined],
      ['ATTACHMENT_MISSING', 'Adjuntos/Archivo', 'att\\missing.pdf'],
      ['ATTACHMENT_OUTSIDE', 'Adjuntos/Archivo', `..\\${path.basename(dir)}-secret.pdf`],
      ['ATTACHMENT_MISSING', 'Adjuntos/Archivo', 'att/gone.xml'],
    ]);
    const en = await runCli(['check', file, '--dir', dir, '--language', 'en']);
    expect(en.code).toBe(1);
    expect(en.stdout.split('\n').filter((l) => l.startsWith('  - '))).toHaveLength(5);
    expect(en.stdout).toContain('can NOT be sent');
    expect(existsSync(path.join(dir, '.proscai-mailer'))).toBe(false);
  });

  it('finds an order by its id wherever the mailer keeps it (deferred, then enviados/) and says where; an unknown id exits 1 saying so', async () => {
    let refuse = true;
    const server = await startSmtpSink({ rcptError: () => (refuse ? { code: 451, message: '4.7.1 try again later' } : undefined) });
    try {
      const dir = await makeTmpDir('proscai-check-');
      await writeFile(path.join(dir, '_CFD_MAIL_REQ_0100.XML'), simpleOrder({ port: server.port }));
      expect((await runCli(['once', '--dir', dir, '--retry', '3600'])).code).toBe(4);
      const claimed = (await readdir(path.join(dir, '.proscai-mailer', 'claims')))[0]!;
      const deferred = await runCli(['check', '0100', '--dir', dir]);
      expect(deferred.code, deferred.stderr).toBe(0);
      const at = path.join(dir, '.proscai-mailer', 'claims', claimed, '_CFD_MAIL_REQ_0100.XML');
      expect(deferred.stdout).toMatch(
        new RegExp(`^La orden «0100» se encontró tomada por proscai-mailer en este equipo, en espera de reintento \\(próximo intento \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d \\(UTC[+-]\\d\\d:\\d\\d\\)\\): ${at.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&')}\\n`),
      );
      expect(deferred.stdout).toContain('La orden _CFD_MAIL_REQ_0100.XML es válida');
      const report = JSON.parse((await runCli(['check', '0100', '--dir', dir, '--json'])).stdout) as CheckReport;
      expect(report.found).toMatchObject({ place: 'deferred', path: at, others: [] });

      refuse = false;
      expect((await runCli(['retry', '0100', '--dir', dir])).code).toBe(0);
      expect((await runCli(['once', '--dir', dir])).code).toBe(0);
      const sent = await runCli(['check', '0100', '--dir', dir, '--language', 'en']);
      expect(sent.stdout).toContain(`The order "0100" was found in enviados/ (already sent): ${path.join(dir, 'enviados', '_CFD_MAIL_REQ_0100.XML')}\n`);

      const none = await runCli(['check', '0101', '--dir', dir, '--language', 'en', '--json']);
      expect(none.code).toBe(1);
      expect(JSON.parse(none.stdout)).toEqual({ query: '0101', dir, notFound: true });
      const noneText = await runCli(['check', '0101', '--dir', dir, '--language', 'en']);
      expect(noneText.code).toBe(1);
      expect(noneText.stderr).toContain(`No order "0101" was found: looked in the order folder ${dir}, among the ones this machine took`);
    } finally {
      await server.close();
    }
  });

  it('exits 1 for a file that does not exist, 2 for a bad configuration', async () => {
    const dir = await makeTmpDir('proscai-check-');
    const missing = await runCli(['check', path.join(dir, '_CFD_MAIL_REQ_NONE.XML')]);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toContain('_CFD_MAIL_REQ_NONE.XML');
    await writeFile(path.join(dir, 'config.json'), '{"polll": 1}');
    const bad = await runCli(['check', path.join(dir, '_CFD_MAIL_REQ_NONE.XML'), '--config', path.join(dir, 'config.json')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('polll');
  });
});
