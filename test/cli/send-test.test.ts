import { copyFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { Command } from 'commander';
import { afterEach, describe, expect, it } from 'vitest';

import { registerSendTestCommand, runSendTest, type SendTestIo } from '../../src/cli/send-test.js';
import { diagnosisAdvice } from '../../src/text/errors.js';
import { scopedSink } from '../helpers/scoped.js';
import { makeTmpDir, removeTmpDirs } from '../helpers/tmp.js';

afterEach(removeTmpDirs);

function capture(env: Record<string, string | undefined> = {}) {
  let out = '';
  let err = '';
  const io: SendTestIo = { stdout: { write: (t: string) => (out += t) }, stderr: { write: (t: string) => (err += t) }, env };
  return { io, out: () => out, err: () => err };
}

async function configFile(content: object): Promise<{ dir: string; file: string }> {
  const dir = await makeTmpDir();
  const file = path.join(dir, 'mailer.json');
  await writeFile(file, JSON.stringify({ dir, ...content }));
  return { dir, file };
}

describe('send-test on the command line', () => {
  it('exit 0 and the accepting server on stdout', async () => {
    const sink = await scopedSink({ auth: { user: 'u@acme.example', pass: 'S3creto-largo' } });
    const { file } = await configFile({
      smtp: { host: '127.0.0.1', port: sink.port, security: 'NINGUNA', user: 'u@acme.example', passwordEnv: 'ACME_PASS' },
    });
    const c = capture({ ACME_PASS: 'S3creto-largo' });
    let code: number | undefined;
    const program = new Command('proscai-mailer').exitOverride();
    registerSendTestCommand(program, (n) => (code = n), c.io);
    await program.parseAsync(['node', 'proscai-mailer', 'send-test', '--config', file, '--to', 'yo@acme.example']);
    expect(code).toBe(0);
    expect(c.out()).toMatch(/^Mensaje de prueba aceptado por 127\.0\.0\.1:\d+ \(respuesta: 250 /);
    expect(c.out() + c.err()).not.toContain('S3creto-largo');
    expect(sink.messages).toHaveLength(1);
  });

  it('with a folders list, --company finds a company that only one folder defines, and sends through its server', async () => {
    const top = await scopedSink();
    const beta = await scopedSink();
    const root = await makeTmpDir();
    const file = path.join(root, 'mailer.json');
    const smtpOf = (port: number) => ({ host: '127.0.0.1', port, security: 'NINGUNA' });
    await writeFile(
      file,
      JSON.stringify({
        smtp: smtpOf(top.port),
        from: 'facturas@acme.example',
        folders: [{ dir: path.join(root, 'a') }, { dir: path.join(root, 'b'), companies: { BETA: { smtp: smtpOf(beta.port), from: 'cobranza@beta.example' } } }],
      }),
    );
    const c = capture();
    expect(await runSendTest({ config: file, to: 'yo@acme.example', company: 'beta' }, c.io)).toBe(0);
    expect(c.out()).toContain(`127.0.0.1:${beta.port}`);
    expect(beta.messages).toHaveLength(1);
    expect(top.messages).toHaveLength(0);
    const unknown = capture();
    expect(await runSendTest({ config: file, to: 'yo@acme.example', company: 'NADIE' }, unknown.io)).toBe(2);
  });

  it('exit 1 with the explanation on stderr when the server refuses', async () => {
    const sink = await scopedSink({ auth: { user: 'u', pass: 'right-password' } });
    const { file } = await configFile({ smtp: { host: '127.0.0.1', port: sink.port, security: 'NINGUNA', user: 'u', password: 'wrong-password' } });
    const c = capture();
    expect(await runSendTest({ config: file, to: 'yo@acme.example', language: 'en' }, c.io)).toBe(1);
    expect(c.err()).toMatch(/^The server refused the user name or password \(535 /);
    expect(c.err()).not.toContain('wrong-password');
    expect(c.out()).toBe('');
  });

  it('exit 2 on a configuration error, before any connection', async () => {
    const c = capture();
    const { file } = await configFile({ polll: 3 });
    expect(await runSendTest({ config: file, to: 'yo@acme.example' }, c.io)).toBe(2);
    expect(c.err()).toContain('La configuración no es válida');
    const d = capture();
    expect(await runSendTest({ dir: '/tmp', to: 'yo@acme.example' }, d.io)).toBe(2);
    expect(d.err()).toContain('ningún servidor SMTP');
    const e = capture();
    const { file: ok } = await configFile({ smtp: { host: '127.0.0.1', port: 25 } });
    expect(await runSendTest({ config: ok, to: 'yo@acme.example', company: 'NADIE' }, e.io)).toBe(2);
  });

  it('«ca» names a PEM file, relative to the configuration file: the company authority is trusted', async () => {
    const sink = await scopedSink({ tls: 'starttls' });
    const { dir, file } = await configFile({ smtp: { host: '127.0.0.1', port: sink.port, security: 'STARTTLS', ca: 'autoridad.pem' } });
    await copyFile(fileURLToPath(new URL('../fixtures/tls/cert.pem', import.meta.url)), path.join(dir, 'autoridad.pem'));
    const c = capture();
    expect(await runSendTest({ config: file, to: 'yo@acme.example' }, c.io)).toBe(0);
    expect(sink.messages).toHaveLength(1);
  });

  it('a «ca» that is missing or not a PEM certificate: exit 2 with a sentence naming the key and the file, nothing sent', async () => {
    const sink = await scopedSink({ tls: 'starttls' });
    const { dir, file } = await configFile({
      smtp: { host: '127.0.0.1', port: sink.port, security: 'STARTTLS' },
      companies: { ACME: { smtp: { host: '127.0.0.1', port: sink.port, ca: 'falta.pem' } } },
    });
    const missing = capture();
    expect(await runSendTest({ config: file, to: 'yo@acme.example' }, missing.io)).toBe(2);
    expect(missing.err()).toContain(`La configuración no es válida: companies.ACME.smtp.ca: the certificate authority file ${path.join(dir, 'falta.pem')} does not exist`);
    await writeFile(path.join(dir, 'falta.pem'), 'esto no es un certificado\n');
    const notPem = capture();
    expect(await runSendTest({ config: file, to: 'yo@acme.example' }, notPem.io)).toBe(2);
    expect(notPem.err()).toContain(`${path.join(dir, 'falta.pem')} holds no PEM certificate`);
    await writeFile(path.join(dir, 'falta.pem'), '-----BEGIN CERTIFICATE-----\nMIIBroken\n-----END CERTIFICATE-----\n');
    const broken = capture();
    expect(await runSendTest({ config: file, to: 'yo@acme.example' }, broken.io)).toBe(2);
    expect(broken.err()).toContain(`${path.join(dir, 'falta.pem')} holds a certificate that cannot be read`);
    expect(sink.messages).toHaveLength(0);
  });

  it('STARTTLS against a port that speaks TLS first: exit 1 within seconds, «Seguridad» and «Puerto» do not match', async () => {
    const sink = await scopedSink({ tls: 'implicit' });
    const { file } = await configFile({ smtp: { host: '127.0.0.1', port: sink.port, security: 'STARTTLS', timeoutMinutes: 2 } });
    const c = capture();
    const started = Date.now();
    expect(await runSendTest({ config: file, to: 'yo@acme.example' }, c.io)).toBe(1);
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(c.err()).toBe(
      `El puerto ${sink.port} de 127.0.0.1 habla TLS desde el primer byte (TLS implícito) y no saludó a la conexión sin cifrar que pide «security»: "STARTTLS". ${diagnosisAdvice('tls-port', 'es')}\n`,
    );
  });

  it('--to is required', async () => {
    const program = new Command('proscai-mailer').exitOverride().configureOutput({ writeErr: () => undefined });
    registerSendTestCommand(program, () => undefined, capture().io);
    await expect(program.parseAsync(['node', 'proscai-mailer', 'send-test'])).rejects.toMatchObject({ code: 'commander.missingMandatoryOptionValue' });
  });
});
