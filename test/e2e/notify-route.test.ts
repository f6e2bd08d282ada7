/**
 * The notification route (`notify` in the configuration file) through the real
 * CLI: failure notices go through their own server and sender, whatever server
 * the failed order used, so a company whose login is refused, or an order too
 * broken to name a server, still gets its failure told; a notice that cannot
 * be sent is retried, logged at error level and shown by `status` until one
 * gets through.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { eventually, runCli, startCli, stopMailer } from '../helpers/cli.js';
import { startScriptedSmtp } from '../helpers/scripted-smtp.js';
import { startSmtpSink } from '../helpers/smtp-sink.js';
import { makeTmpDir, removeTmpDirs } from '../helpers/tmp.js';

afterAll(removeTmpDirs);

const NOTIFY_PASSWORD = 'clave-avisos';

/** An order that names its company and nothing of its server: the company profile decides. */
const companyOrder = `<?xml version="1.0" encoding="UTF-8"?>
<OrdenEnvio>
  <Empresa>ACME</Empresa>
  <Para>cliente@example.com</Para>
  <Asunto>Factura</Asunto>
  <Cuerpo>Adjuntamos su CFDI.</Cuerpo>
  <Adjuntos></Adjuntos>
</OrdenEnvio>
`;

/** Complete (closing tag present) but not well-formed: nothing in it can be trusted, not even its company. */
const malformedOrder = `<?xml version="1.0" encoding="UTF-8"?>
<OrdenEnvio>
  <Empresa>ACME</Empresa>
  <Para>cliente@example.com</Cuerpo>
</OrdenEnvio>
`;

async function writeConfig(dir: string, settings: Record<string, unknown>): Promise<string> {
  const file = path.join(dir, 'mailer.json');
  await writeFile(file, JSON.stringify({ errorMail: 'errores@acme.example', ...settings }));
  return file;
}

function notifyRoute(port: number, auth = true): Record<string, unknown> {
  return {
    smtp: { host: '127.0.0.1', port, security: 'NINGUNA', ...(auth && { user: 'avisos', passwordEnv: 'NOTIFY_PW' }) },
    from: 'Avisos Proscai <avisos@proscai.example>',
  };
}

describe('notify route', () => {
  it('tells a failure through the notify server when the company server refuses the login', async () => {
    const company = await startScriptedSmtp({
      reply: ({ command }) => (command === 'AUTH' ? { code: 535, text: '5.7.8 Authentication credentials invalid' } : undefined),
    });
    const notify = await startSmtpSink({ auth: { user: 'avisos', pass: NOTIFY_PASSWORD } });
    try {
      const dir = await makeTmpDir('proscai-notify-');
      const config = await writeConfig(dir, {
        companies: {
          ACME: { smtp: { host: '127.0.0.1', port: company.port, security: 'NINGUNA', user: 'facturas', password: 'mala' }, from: 'facturas@acme.example' },
        },
        notify: notifyRoute(notify.port),
      });
      await writeFile(path.join(dir, '_CFD_MAIL_REQ_0100.XML'), companyOrder);

      const result = await runCli(['once', '--dir', dir, '--config', config], { NOTIFY_PW: NOTIFY_PASSWORD });
      expect(result.code, result.stderr).toBe(1);
      expect(await readdir(path.join(dir, 'errores'))).toContain('_CFD_MAIL_REQ_0100.XML');
      expect(company.messages).toHaveLength(0);
      expect(company.log.some((l) => l.line.startsWith('AUTH'))).toBe(true);

      const [notice] = await notify.waitForMessages(1, 5_000);
      expect(notice.envelope).toEqual({ from: 'avisos@proscai.example', to: ['errores@acme.example'] });
      expect(notice.parsed.from?.value[0]).toMatchObject({ name: 'Avisos Proscai', address: 'avisos@proscai.example' });
      expect(notice.user).toBe('avisos');
      expect(notice.parsed.text).toContain('0100');
      expect(notify.authAttempts).toEqual([expect.objectContaining({ user: 'avisos', ok: true })]);
    } finally {
      await Promise.all([company.close(), notify.close()]);
    }
  });

  it('tells a malformed order through the notify route when only company profiles name servers', async () => {
    const notify = await startSmtpSink({ auth: { user: 'avisos', pass: NOTIFY_PASSWORD } });
    try {
      const dir = await makeTmpDir('proscai-notify-');
      const config = await writeConfig(dir, {
        companies: { ACME: { smtp: { host: '127.0.0.1', port: 9, security: 'NINGUNA' }, from: 'facturas@acme.example' } },
        notify: notifyRoute(notify.port),
      });
      await writeFile(path.join(dir, '_CFD_MAIL_REQ_0101.XML'), malformedOrder);

      const result = await runCli(['once', '--dir', dir, '--config', config], { NOTIFY_PW: NOTIFY_PASSWORD });
      expect(result.code, result.stderr).toBe(1);
      expect(await readdir(path.join(dir, 'errores'))).toContain('_CFD_MAIL_REQ_0101.XML');
      const [notice] = await notify.waitForMessages(1, 5_000);
      expect(notice.envelope).toEqual({ from: 'avisos@proscai.example', to: ['errores@acme.example'] });
      expect(notice.parsed.text).toContain('0101');
    } finally {
      await notify.close();
    }
  });

  it('retries a notice while the notify server is down, logs it at error level and shows it in status', async () => {
    let down = true;
    const notify = await startScriptedSmtp({ reply: ({ command }) => (down && command === 'EHLO' ? { code: 421, text: '4.3.2 Service not available' } : undefined) });
    const dir = await makeTmpDir('proscai-notify-');
    const config = await writeConfig(dir, {
      companies: { ACME: { smtp: { host: '127.0.0.1', port: 9, security: 'NINGUNA' }, from: 'facturas@acme.example' } },
      notify: notifyRoute(notify.port, false),
      notifyEverySeconds: 1,
    });
    const args = ['--dir', dir, '--config', config];
    const mailer = startCli(['run', ...args, '--poll', '1']);
    try {
      await writeFile(path.join(dir, '_CFD_MAIL_REQ_0102.XML'), malformedOrder);
      const logFile = path.join(dir, '.proscai-mailer', 'logs', 'mailer.log');
      const deferred = await eventually(async () => {
        const text = await readFile(logFile, 'utf8').catch(() => '');
        return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).find((e) => e.event === 'notify.deferred');
      }, 20_000, 'a notify.deferred log line');
      expect(deferred.level).toBe(50); // pino's "error"
      expect(notify.messages).toHaveLength(0);

      const status = await eventually(async () => {
        const r = await runCli(['status', ...args]);
        return r.stdout.includes('los avisos de error no se pueden enviar') ? r : undefined;
      }, 10_000, 'the notices line in status');
      expect(status.stdout).toContain(`no se pueden enviar desde 127.0.0.1:${notify.port}`);
      expect(status.stdout).toContain('421');

      down = false;
      await eventually(() => notify.messages.length === 1, 20_000, 'the notice once the server is back');
      expect(notify.messages[0].mailFrom).toBe('avisos@proscai.example');
      expect(notify.messages[0].raw.toString()).toContain('0102');
      const after = await eventually(async () => {
        const r = await runCli(['status', ...args]);
        return r.stdout.includes('avisos de error') ? undefined : r;
      }, 10_000, 'status without the notices line');
      expect(after.stdout).toContain('Carpeta de órdenes');
    } finally {
      await stopMailer(mailer);
      await notify.close();
    }
  });

  it('`config` shows the notify route with its password masked', async () => {
    const dir = await makeTmpDir('proscai-notify-');
    const config = await writeConfig(dir, {
      notify: { smtp: { host: '127.0.0.1', port: 2525, security: 'NINGUNA', user: 'avisos', password: 'secreta-del-aviso' }, from: 'avisos@proscai.example' },
    });
    const result = await runCli(['config', '--dir', dir, '--config', config]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('avisos@proscai.example');
    expect(result.stdout).toContain('2525');
    expect(result.stdout).toContain('********');
    expect(result.stdout).not.toContain('secreta-del-aviso');
  });

  it('refuses an unknown key of the notify route with exit 2, naming it', async () => {
    const dir = await makeTmpDir('proscai-notify-');
    const config = await writeConfig(dir, { notify: { smtp: { host: '127.0.0.1', prot: 25 }, from: 'avisos@proscai.example' } });
    const result = await runCli(['config', '--dir', dir, '--config', config]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('notify.smtp');
    expect(result.stderr).toContain('"prot"');
  });
});
