/**
 * Configuration through the real CLI: environment variables, the JSON file
 * with a company profile, and passwords that never reach a log, a note, a
 * notification or the console.
 */
import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { startSmtpSink } from '../helpers/smtp-sink.js';
import { makeTmpDir, removeTmpDirs } from '../helpers/tmp.js';
import { simpleOrder } from './folder.js';

afterAll(removeTmpDirs);

describe('configuration and secrets', () => {
  it('takes MAILER_DIR, MAILER_ATTACHMENT_PATH and CFD_MAIL_ERR_MAIL from the environment', async () => {
    const sink = await startSmtpSink();
    try {
      const dir = await makeTmpDir('proscai-env-');
      const attachments = await makeTmpDir('proscai-att-');
      await writeFile(path.join(attachments, 'f.pdf'), 'pdf');
      await writeFile(path.join(dir, '_CFD_MAIL_REQ_E1.XML'), simpleOrder({ port: sink.port, attachments: ['f.pdf'] }));
      await writeFile(path.join(dir, '_CFD_MAIL_REQ_E2.XML'), simpleOrder({ port: sink.port, attachments: ['missing.pdf'] }));
      const result = await runCli(['once'], {
        MAILER_DIR: dir,
        MAILER_ATTACHMENT_PATH: attachments,
        CFD_MAIL_ERR_MAIL: 'sistemas@acme.example',
      });
      expect(result.code).toBe(1);
      const order = sink.messages.find((m) => m.envelope.to.includes('cliente@example.com'))!;
      expect(order.parsed.attachments[0]!.content.toString()).toBe('pdf');
      const notice = sink.messages.find((m) => m.envelope.to.includes('sistemas@acme.example'))!;
      expect(notice.parsed.text).toContain('_CFD_MAIL_REQ_E2.XML');
      expect(notice.parsed.text).toContain('missing.pdf');
    } finally {
      await sink.close();
    }
  });

  it('sends with a company profile (passwordEnv) and never shows a password anywhere', async () => {
    const goodPassword = 'Sup3r-Secreto-Perfil';
    const orderPassword = 'Clave-De-La-Orden-77';
    const sink = await startSmtpSink({ auth: { user: 'facturas@acme.example', pass: goodPassword } });
    try {
      const dir = await makeTmpDir('proscai-cfg-');
      const config = path.join(dir, 'mailer.json');
      await writeFile(
        config,
        JSON.stringify({
          dir,
          errorMail: 'sistemas@acme.example',
          companies: {
            ACME: {
              smtp: { host: '127.0.0.1', port: sink.port, security: 'NINGUNA', user: 'facturas@acme.example', passwordEnv: 'ACME_SMTP_PASSWORD' },
              from: 'Facturación ACME <facturas@acme.example>',
            },
          },
        }),
      );
      // No SMTP block and no sender: the profile supplies both.
      await writeFile(
        path.join(dir, '_CFD_MAIL_REQ_P1.XML'),
        '<OrdenEnvio><Empresa>acme</Empresa><Para>cliente@example.com</Para><Asunto>Perfil</Asunto></OrdenEnvio>',
      );
      // Its own server block with a wrong password: refused (535), a permanent failure.
      await writeFile(
        path.join(dir, '_CFD_MAIL_REQ_P2.XML'),
        `<OrdenEnvio><Empresa>OTRA</Empresa><SMTP><Servidor>127.0.0.1</Servidor><Puerto>${sink.port}</Puerto><Seguridad>NINGUNA</Seguridad>` +
          `<Usuario>facturas@acme.example</Usuario><Contrasena>${orderPassword}</Contrasena></SMTP>` +
          '<Remitente>facturas@acme.example</Remitente><Para>cliente@example.com</Para><CorreoErrores>sistemas@acme.example</CorreoErrores></OrdenEnvio>',
      );
      const result = await runCli(['once', '--config', config, '--verbose'], { ACME_SMTP_PASSWORD: goodPassword });
      expect(result.code).toBe(1);
      const sent = sink.messages.find((m) => m.parsed.subject === 'Perfil')!;
      expect(sent.parsed.from?.value[0]).toEqual({ name: 'Facturación ACME', address: 'facturas@acme.example' });
      expect(sent.user).toBe('facturas@acme.example');

      const note = await readFile(path.join(dir, 'errores', '_CFD_MAIL_REQ_P2.XML.error.txt'), 'utf8');
      expect(note).toMatch(/usuario o la contraseña|535/);
      const logs = await readdir(path.join(dir, '.proscai-mailer', 'logs'));
      const logText = (await Promise.all(logs.map((f) => readFile(path.join(dir, '.proscai-mailer', 'logs', f), 'utf8')))).join('\n');
      const everything = [note, logText, result.stderr, result.stdout, ...sink.messages.map((m) => m.raw.toString())].join('\n');
      for (const secret of [goodPassword, orderPassword]) {
        expect(everything).not.toContain(secret);
        expect(everything).not.toContain(Buffer.from(secret).toString('base64'));
      }
    } finally {
      await sink.close();
    }
  });
});
