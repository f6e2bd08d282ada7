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
      await writeFile(path.join(dir, '_CFD_MAIL_REQ_GOOD.XML'), simpleOrder({ port: sink.port, attachments: ['C1\\ok.pdf'] }));

      const result = await runCli(['once', '--dir', dir], {}, 120_000);
      expect(result.code).toBe(1);

      // Only the good order was sent: no partial e-mail for a refused attachment.
      expect(sink.messages).toHaveLength(1);
      expect(sink.messages[0]!.parsed.attachments.map((a) => a.filename)).toEqual(['ok.pdf']);
      expect(await readdir(path.join(dir, 'enviados'))).toEqual(['_CFD_MAIL_REQ_GOOD.XML']);

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
});
