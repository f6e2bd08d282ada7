import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { buildConfig } from '../../../src/config/load.js';
import type { Config } from '../../../src/config/types.js';
import { ErrorCodes, MailerError } from '../../../src/errors.js';
import { sendTest } from '../../../src/io/smtp/send-test.js';
import { explainSendTestFailure } from '../../../src/text/send-test.js';
import { toSendError } from '../../../src/io/smtp/errors.js';
import { scopedSink as sink } from '../../helpers/scoped.js';
import { closedPort } from '../../helpers/ports.js';

const fixture = (name: string): string => fileURLToPath(new URL(`../../fixtures/tls/${name}`, import.meta.url));
/** The test server's certificate, which is its own authority. */
const SINK_CERT_FILE = fixture('cert.pem');


const PASSWORD = 'clave-Secreta-991';

/** nodemailer's bound on resolving the SMTP host (its `dnsTimeout` default), below any TiempoEspera (1 to 10 minutes). */
const NODEMAILER_DNS_DEADLINE_MS = 30_000;

/** A configuration whose top-level `smtp` is `smtp` (timeout 1 minute), plus `extra` keys. */
function configWith(smtp: Record<string, unknown>, extra: Record<string, unknown> = {}): Config {
  return buildConfig({
    flags: { dir: '/srv/envio' },
    env: {},
    file: { smtp: { host: '127.0.0.1', timeoutMinutes: 1, ...smtp }, from: 'Pruebas <pruebas@acme.example>', ...extra },
  });
}

describe('sendTest: accepted', () => {
  it('says which server accepted the message and quotes its reply', async () => {
    const s = await sink();
    const result = await sendTest({ config: configWith({ port: s.port, security: 'NINGUNA' }), to: 'yo@acme.example' });
    expect(result).toEqual({ ok: true, message: expect.stringMatching(new RegExp(`^Mensaje de prueba aceptado por 127\\.0\\.0\\.1:${s.port} \\(respuesta: 250 `)) });
    const [received] = await s.waitForMessages(1);
    expect(received.envelope).toEqual({ from: 'pruebas@acme.example', to: ['yo@acme.example'] });
    expect(received.parsed.subject).toBe('proscai-mailer: mensaje de prueba');
    expect(received.parsed.text).toContain(`Servidor: 127.0.0.1:${s.port}`);
  });

  it("uses the company's profile with --company, over TLS and AUTH", async () => {
    const s = await sink({ tls: 'starttls', auth: { user: 'facturas@acme.example', pass: PASSWORD } });
    const config = configWith(
      { port: await closedPort() },
      {
        companies: {
          ACME: {
            smtp: { host: '127.0.0.1', port: s.port, security: 'STARTTLS', user: 'facturas@acme.example', password: PASSWORD, rejectUnauthorized: false },
            from: 'Facturación ACME <facturas@acme.example>',
          },
        },
      },
    );
    const result = await sendTest({ config, to: 'yo@acme.example', company: 'acme' });
    expect(result.ok).toBe(true);
    expect(s.messages[0].secure).toBe(true);
    expect(s.messages[0].envelope.from).toBe('facturas@acme.example');
    expect(result.message).not.toContain(PASSWORD);
  });

  it('speaks English with language "en"', async () => {
    const s = await sink();
    const result = await sendTest({ config: configWith({ port: s.port, security: 'NINGUNA' }, { language: 'en' }), to: 'me@acme.example' });
    expect(result.message).toMatch(/^Test message accepted by 127\.0\.0\.1:\d+ \(reply: 250 /);
  });
});

describe('sendTest: refused, in plain words', () => {
  it('wrong password: SMTP_AUTH, mentions the password, never prints it', async () => {
    const s = await sink({ auth: { user: 'u@acme.example', pass: 'the-right-one' } });
    const result = await sendTest({
      config: configWith({ port: s.port, security: 'NINGUNA', user: 'u@acme.example', password: PASSWORD }),
      to: 'yo@acme.example',
    });
    expect(result.ok).toBe(false);
    expect(result.code).toBe(ErrorCodes.SMTP_AUTH);
    expect(result.message).toMatch(/^El servidor rechazó el usuario o la contraseña \(535 /);
    expect(result.message).toContain('u@acme.example');
    expect(result.message).not.toContain(PASSWORD);
    expect(result.message).not.toContain(Buffer.from(PASSWORD).toString('base64'));
  });

  it('STARTTLS required by the settings but not offered: SMTP_TLS', async () => {
    const s = await sink({ tls: 'none' });
    const result = await sendTest({ config: configWith({ port: s.port, security: 'STARTTLS' }), to: 'yo@acme.example' });
    expect(result.code).toBe(ErrorCodes.SMTP_TLS);
    expect(result.message).toContain('exige STARTTLS pero el servidor');
    expect(result.message).toContain('no lo ofrece');
    expect(s.messages).toHaveLength(0);
  });

  it('a server that wants TLS before AUTH: SMTP_TLS, says which setting to change', async () => {
    const s = await sink({ tls: 'starttls', auth: { user: 'u', pass: PASSWORD }, serverOptions: { allowInsecureAuth: false } });
    const result = await sendTest({
      config: configWith({ port: s.port, security: 'NINGUNA', user: 'u', password: PASSWORD }),
      to: 'yo@acme.example',
    });
    expect(result.code).toBe(ErrorCodes.SMTP_TLS);
    expect(result.message).toContain('exige una conexión segura (TLS)');
    expect(result.message).toContain('«security»: "STARTTLS"');
    expect(result.message).not.toContain(PASSWORD);
  });

  it('a certificate this machine does not trust: SMTP_TLS, advises the profile\'s «ca» (Node ignores the system\'s store), not turning verification off', async () => {
    const s = await sink({ tls: 'starttls' });
    const result = await sendTest({ config: configWith({ port: s.port, security: 'STARTTLS' }), to: 'yo@acme.example' });
    expect(result.code).toBe(ErrorCodes.SMTP_TLS);
    expect(result.message).toContain('certificado');
    expect(result.message).toContain('«ca» del perfil «smtp»');
    expect(result.message).toContain('el nombre del servidor se sigue verificando');
    expect(result.message).not.toContain('rejectUnauthorized');
    expect(result.message).not.toMatch(/instálelo en este equipo/);
  });

  it('the same server with its authority in «ca»: accepted, and the name is still verified', async () => {
    const s = await sink({ tls: 'starttls' });
    const ok = await sendTest({ config: configWith({ port: s.port, security: 'STARTTLS', ca: SINK_CERT_FILE }), to: 'yo@acme.example' });
    expect(ok).toMatchObject({ ok: true });
    expect(s.messages).toHaveLength(1);
  });

  it('«ca» keeps name verification on: a trusted certificate for another name is refused, saying so', async () => {
    const s = await sink({ tls: 'starttls', serverOptions: { key: readFileSync(fixture('other-name-key.pem')), cert: readFileSync(fixture('other-name-cert.pem')) } });
    const result = await sendTest({ config: configWith({ port: s.port, security: 'STARTTLS', ca: fixture('other-name-cert.pem') }), to: 'yo@acme.example' });
    expect(result.code).toBe(ErrorCodes.SMTP_TLS);
    expect(result.message).toContain('no corresponde al nombre «127.0.0.1»');
    expect(s.messages).toHaveLength(0);
  });

  it('SSL against a port without TLS: SMTP_TLS, names the port rule, no OpenSSL noise', async () => {
    const s = await sink();
    const result = await sendTest({ config: configWith({ port: s.port, security: 'SSL' }), to: 'yo@acme.example' });
    expect(result.code).toBe(ErrorCodes.SMTP_TLS);
    expect(result.message).toBe(
      `El puerto ${s.port} de 127.0.0.1 no usa TLS desde el primer byte (wrong version number): «security»: "SSL" va solo con el puerto 465; con 587 o 25 use "STARTTLS".`,
    );
  });

  it('nothing listening on the port: SMTP_CONNECTION', async () => {
    const port = await closedPort();
    const result = await sendTest({ config: configWith({ port, security: 'NINGUNA' }), to: 'yo@acme.example' });
    expect(result.code).toBe(ErrorCodes.SMTP_CONNECTION);
    expect(result.message).toBe(
      `El equipo 127.0.0.1 rechazó la conexión en el puerto ${port}: ningún servidor de correo escucha ahí. Revise «port» y que el servidor esté en marcha.`,
    );
  });

  it(
    'a host name that does not resolve: SMTP_CONNECTION about DNS, within the DNS deadline',
    async () => {
      // `.invalid` never resolves (RFC 2606): a DNS server answers "no such name" at once. Where none answers at
      // all, the lookup ends at nodemailer's DNS deadline, min(30 s, TiempoEspera); this test waits for that
      // bound, no more. Under Wine (the Windows lane) it is always reached: c-ares finds no DNS server in Wine's
      // adapter list and asks 127.0.0.1, and Wine's UDP sockets do not report the ICMP "port unreachable" that
      // Linux turns into ECONNREFUSED within milliseconds, so no answer ever comes.
      const started = Date.now();
      const result = await sendTest({ config: configWith({ host: 'no-such-host.invalid', port: 587, security: 'NINGUNA' }), to: 'yo@acme.example' });
      expect(result.code).toBe(ErrorCodes.SMTP_CONNECTION);
      expect(result.message).toContain('No se encontró el servidor «no-such-host.invalid»');
      expect(Date.now() - started).toBeLessThan(NODEMAILER_DNS_DEADLINE_MS + 5_000);
    },
    NODEMAILER_DNS_DEADLINE_MS + 15_000,
  );

  it('no DNS server answering in time is about DNS too, not about the port', () => {
    // What nodemailer rejects with when its DNS deadline passes.
    const timedOut = Object.assign(new Error('DNS lookup for smtp.acme.mx timed out'), { code: 'EDNS', originalCode: 'ETIMEOUT', command: 'CONN' });
    const text = explainSendTestFailure(toSendError(timedOut), { host: 'smtp.acme.mx', port: 587, security: '', user: '', to: 'a@b.mx' }, 'es');
    expect(text).toBe('No se encontró el servidor «smtp.acme.mx»: el nombre no se pudo resolver (DNS). Revise «host» y la red o el DNS de este equipo.');
  });

  it('relay refused at RCPT TO: explains relaying', async () => {
    const s = await sink({ rcptError: () => ({ code: 554, message: '5.7.1 <yo@otro.example>: Relay access denied' }) });
    const result = await sendTest({ config: configWith({ port: s.port, security: 'NINGUNA' }), to: 'yo@otro.example' });
    expect(result.ok).toBe(false);
    expect(result.code).toBe(ErrorCodes.SMTP_ALL_RECIPIENTS_REJECTED);
    expect(result.message).toContain('El servidor se negó a entregar a yo@otro.example');
    expect(result.message).toContain('Relay access denied');
    expect(result.message).toContain('(relay)');
  });

  it('a server that does not answer in time: SMTP_TIMEOUT', () => {
    const error = new MailerError(ErrorCodes.SMTP_TIMEOUT, 'Sending took longer than 60000 ms', { smtp: { errno: 'ETIMEDOUT' } });
    const text = explainSendTestFailure(error, { host: 'smtp.acme.mx', port: 465, security: 'SSL', user: '', to: 'a@b.mx' }, 'es');
    expect(text).toBe(
      'El servidor smtp.acme.mx:465 no respondió a tiempo. Suele ser un cortafuegos que bloquea el puerto, un puerto equivocado, o «security» "SSL" y "STARTTLS" intercambiados.',
    );
  });
});

describe('sendTest: nothing to try', () => {
  it('an invalid test address: USAGE', async () => {
    const result = await sendTest({ config: configWith({ port: 25 }), to: 'not an address' });
    expect(result).toEqual({ ok: false, code: ErrorCodes.USAGE, message: 'La dirección de prueba «not an address» no es una dirección de correo válida.' });
  });

  it('an unknown company: CONFIG_INVALID', async () => {
    const result = await sendTest({ config: configWith({ port: 25 }), to: 'a@b.mx', company: 'NADIE' });
    expect(result.code).toBe(ErrorCodes.CONFIG_INVALID);
    expect(result.message).toContain('«NADIE»');
  });

  it('no SMTP server anywhere: CONFIG_INVALID', async () => {
    const config = buildConfig({ flags: { dir: '/srv/envio' }, env: {} });
    const result = await sendTest({ config, to: 'a@b.mx' });
    expect(result.code).toBe(ErrorCodes.CONFIG_INVALID);
    expect(result.message).toContain('ningún servidor SMTP');
  });
});
