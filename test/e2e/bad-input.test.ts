/**
 * Bad input through the real CLI: every malformed, incomplete, hostile or
 * unreadable order of the corpus ends in errores/ with a note naming the
 * order and the reason, and none of them stops the mailer from sending the
 * good order beside them.
 */
import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { copyFile, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import iconv from 'iconv-lite';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { startSmtpSink } from '../helpers/smtp-sink.js';
import { makeTmpDir, removeTmpDirs } from '../helpers/tmp.js';
import { simpleOrder } from './folder.js';

const BAD = fileURLToPath(new URL('../fixtures/orders/bad/', import.meta.url));
afterAll(removeTmpDirs);

describe('bad input', () => {
  it('sends the good order and puts every bad one in errores/ with its reason', async () => {
    const sink = await startSmtpSink();
    try {
      const dir = await makeTmpDir('proscai-bad-');
      const outside = await makeTmpDir('proscai-outside-');
      writeFileSync(path.join(outside, 'secreto.pdf'), 'not yours');
      mkdirSync(path.join(dir, 'C1'));
      writeFileSync(path.join(dir, 'C1', 'ok.pdf'), 'ok');
      symlinkSync(path.join(outside, 'secreto.pdf'), path.join(dir, 'C1', 'link.pdf'));

      const expected = new Map<string, string>(); // order file → a word its note must contain
      for (const name of readdirSync(BAD)) {
        const orderName = `_CFD_MAIL_REQ_BAD-${name.replace(/\.XML$/i, '')}.XML`;
        await copyFile(path.join(BAD, name), path.join(dir, orderName));
        expected.set(orderName, '');
      }
      const attachmentCases: Record<string, [string, string]> = {
        '_CFD_MAIL_REQ_TRAVERSAL.XML': ['..\\..\\etc\\passwd', 'Adjuntos/Archivo'],
        '_CFD_MAIL_REQ_SYMLINK.XML': ['C1\\link.pdf', 'Adjuntos/Archivo'],
        '_CFD_MAIL_REQ_ABSOLUTE.XML': [path.join(outside, 'secreto.pdf'), 'Adjuntos/Archivo'],
        '_CFD_MAIL_REQ_MISSING.XML': ['C1\\no-existe.pdf', 'no-existe.pdf'],
      };
      for (const [name, [attachment, word]] of Object.entries(attachmentCases)) {
        await writeFile(path.join(dir, name), simpleOrder({ port: sink.port, attachments: ['C1/ok.pdf', attachment] }));
        expected.set(name, word);
      }
      // Declares UTF-8 but was saved as ANSI: refused, naming the first bad byte, never sent with guessed characters.
      const ansi = iconv.encode(simpleOrder({ port: sink.port, subject: 'Facturación' }), 'windows-1252');
      await writeFile(path.join(dir, '_CFD_MAIL_REQ_ANSI.XML'), ansi);
      expected.set('_CFD_MAIL_REQ_ANSI.XML', `UTF-8, byte ${ansi.indexOf(0xf3)} (0xF3)`);
      await writeFile(path.join(dir, '_CFD_MAIL_REQ_GOOD.XML'), simpleOrder({ port: sink.port, attachments: ['C1\\ok.pdf'] }));

      // The empty, blank and truncated orders of the corpus are documents not complete yet: each
      // waits for incompleteSettleSeconds (a minute by default) without changing before it fails.
      expected.set('_CFD_MAIL_REQ_BAD-truncated.XML', 'La orden está incompleta');
      const config = path.join(outside, 'config.json');
      writeFileSync(config, JSON.stringify({ incompleteSettleSeconds: 1 }));
      const result = await runCli(['once', '--dir', dir, '--config', config], {}, 120_000);
      expect(result.code).toBe(1);

      // Only the good order was sent: no partial e-mail for a refused attachment.
      expect(sink.messages).toHaveLength(1);
      expect(sink.messages[0]!.parsed.attachments.map((a) => a.filename)).toEqual(['ok.pdf']);
      expect((await readdir(path.join(dir, 'enviados'))).sort()).toEqual(['_CFD_MAIL_REQ_GOOD.XML', '_CFD_MAIL_REQ_GOOD.XML.acuse.json']);

      const failed = new Set(await readdir(path.join(dir, 'errores')));
      for (const [name, word] of expected) {
        expect(failed.has(name), `${name} in errores/`).toBe(true);
        const note = await readFile(path.join(dir, 'errores', `${name}.error.txt`), 'utf8');
        expect(note, name).toContain(name);
        expect(note, name).toContain('Motivo');
        if (word) expect(note, name).toContain(word);
        expect(note).not.toContain('root:x:0:0');
      }
      // Nothing is left behind in the order folder or the work area.
      const left = (await readdir(dir)).filter((n) => /^_CFD_MAIL_REQ_/i.test(n));
      expect(left).toEqual([]);
    } finally {
      await sink.close();
    }
  });

  it('hostile but legal orders: a nombre with folders, a Unicode local part on a server without SMTPUTF8, 500,000 unknown elements', async () => {
    const sink = await startSmtpSink({ serverOptions: { hideSMTPUTF8: true } });
    try {
      const dir = await makeTmpDir('proscai-hostile-');
      mkdirSync(path.join(dir, 'C1'));
      writeFileSync(path.join(dir, 'C1', 'ok.pdf'), 'ok');
      const withNombre = simpleOrder({ port: sink.port, subject: 'nombre', attachments: ['C1\\ok.pdf'] }).replace('<Archivo>', '<Archivo nombre="..\\..\\evil.exe">');
      await writeFile(path.join(dir, '_CFD_MAIL_REQ_NOMBRE.XML'), withNombre);
      await writeFile(path.join(dir, '_CFD_MAIL_REQ_UNICODE.XML'), simpleOrder({ port: sink.port, subject: 'unicode', to: 'josé@cliente.mx; pagos@cliente.example' }));
      const unknown = Array.from({ length: 500_000 }, (_, i) => `<Extra${i}/>`).join('');
      await writeFile(path.join(dir, '_CFD_MAIL_REQ_UNKNOWN.XML'), simpleOrder({ port: sink.port, subject: 'unknown', extra: unknown }));

      const result = await runCli(['once', '--dir', dir], {}, 120_000);
      expect(result.code, result.stderr).toBe(1);

      const bySubject = new Map(sink.messages.map((m) => [m.parsed.subject, m]));
      expect([...bySubject.keys()].sort()).toEqual(['nombre', 'unknown']);
      // The recipient sees a bare file name, with the file's bytes.
      const attachment = bySubject.get('nombre')!.parsed.attachments;
      expect(attachment.map((a) => a.filename)).toEqual(['evil.exe']);
      expect(attachment[0]!.content.toString()).toBe('ok');
      expect(bySubject.get('nombre')!.raw.toString('latin1')).not.toContain('..');

      // Nothing of the Unicode order reached the server: refused before RCPT TO, with a note naming the address.
      expect(await readdir(path.join(dir, 'errores'))).toEqual(['_CFD_MAIL_REQ_UNICODE.XML', '_CFD_MAIL_REQ_UNICODE.XML.error.txt']);
      const note = await readFile(path.join(dir, 'errores', '_CFD_MAIL_REQ_UNICODE.XML.error.txt'), 'utf8');
      expect(note).toContain('josé@cliente.mx');
      expect(note).toContain('SMTPUTF8');
      expect(sink.messages.flatMap((m) => m.envelope.to)).not.toContain('pagos@cliente.example');

      // One warning line per order, short whatever the order holds.
      const log = await readFile(path.join(dir, '.proscai-mailer', 'logs', 'mailer.log'), 'utf8');
      const lines = log.split('\n').filter((l) => l.includes('_CFD_MAIL_REQ_UNKNOWN.XML') && l.includes('unknown elements ignored'));
      expect(lines).toHaveLength(1);
      expect(lines[0]!.length).toBeLessThan(2_000);
      expect(lines[0]).toContain('Extra0, Extra1');
      // Distinct names are counted exactly up to MAX_DISTINCT_COUNTED (src/order/tree.ts): the reader's memory stays bounded.
      expect(lines[0]).toContain('(500000 in all, more than 100000 distinct)');
      expect(log.split('\n').every((l) => l.length < 10_000)).toBe(true);
      expect(log).toContain('is sent as \\"evil.exe\\"');
    } finally {
      await sink.close();
    }
  });
});
