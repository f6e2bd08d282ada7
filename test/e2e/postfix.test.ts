/**
 * The real CLI against a real MTA: Debian's Postfix (submission with
 * STARTTLS, SMTP AUTH through Dovecot, a 64 KB message size limit, senders
 * tied to the login by reject_sender_login_mismatch, and a port that speaks
 * TLS first) started by scripts/mta/start.sh on loopback high ports. What the
 * mailer says is checked against what Postfix really answers, not against
 * what smtp-server is scripted to answer.
 *
 * Where it runs: on Linux, as root with `postfix` and `dovecot-core`
 * installed (the test starts the instance itself when it is not running,
 * and stops what it started); in the Windows lane, against the instance the
 * Linux side started (.ci/run does, before both lanes), read from its
 * state.json. Under PROSCAI_REQUIRE_MTA=1 (set by .ci/run) a missing MTA
 * fails the tests instead of leaving them out.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { diagnosisAdvice } from '../../src/text/errors.js';
import { eventually, runCli, type CliResult } from '../helpers/cli.js';
import { makeTmpDir, removeTmpDirs } from '../helpers/tmp.js';

interface MtaState {
  host: string;
  submissionPort: number;
  smtpsPort: number;
  user: string;
  password: string;
  mailDir: string;
  sizeLimit: number;
  ca: string;
  log: string;
}

const MTA_DIR = process.env.PROSCAI_MTA_DIR ?? '/tmp/proscai-mailer-mta';
const STATE_FILE = path.join(MTA_DIR, 'state.json');
const START_SCRIPT = new URL('../../scripts/mta/start.sh', import.meta.url).pathname;
const STOP_SCRIPT = new URL('../../scripts/mta/stop.sh', import.meta.url).pathname;
const required = process.env.PROSCAI_REQUIRE_MTA === '1';
/** This side can start the MTA itself: Linux, root, Postfix and Dovecot installed. */
const canStart =
  process.platform !== 'win32' && process.getuid?.() === 0 && existsSync('/usr/sbin/postfix') && existsSync('/usr/sbin/dovecot');
const available = canStart || existsSync(STATE_FILE);

let mta: MtaState;
let startedHere = false;
/** Everything the CLI printed in this file, to check that the password never appears. */
const printed: string[] = [];

/** Whether an instance described by `file` is up (its master process runs). */
function answers(file: string): boolean {
  if (!existsSync(file)) return false;
  try {
    execFileSync('postfix', ['-c', path.join(MTA_DIR, 'postfix'), 'status'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const PASSWORD_ENV = 'MTA_TEST_PASSWORD';

async function mailerLog(dir: string): Promise<string> {
  return readFile(path.join(dir, '.proscai-mailer', 'logs', 'mailer.log'), 'utf8');
}

/** A folder with a configuration whose company ACME sends through the MTA's submission port as the test login. */
async function world(smtp: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Promise<{ dir: string; config: string }> {
  const dir = await makeTmpDir('proscai-postfix-');
  const config = path.join(dir, 'mailer.json');
  const profileSmtp = { host: mta.host, port: mta.submissionPort, security: 'STARTTLS', user: mta.user, passwordEnv: PASSWORD_ENV, ca: mta.ca, timeoutMinutes: 1, ...smtp };
  await writeFile(
    config,
    JSON.stringify({
      dir,
      companies: { ACME: { smtp: profileSmtp, from: `Facturación ACME <${mta.user}>` } },
      // Notices through the MTA too, from the address the login owns, whatever the failed order's sender.
      notify: { smtp: { host: mta.host, port: mta.submissionPort, security: 'STARTTLS', user: mta.user, passwordEnv: PASSWORD_ENV, ca: mta.ca }, from: mta.user },
      errorMail: 'errores@mta.test',
      ...extra,
    }),
  );
  return { dir, config };
}

function order(token: string, o: { from?: string; body?: string; smtp?: string } = {}): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<OrdenEnvio>
  <Empresa>ACME</Empresa>
  ${o.smtp ?? ''}
  ${o.from === undefined ? '' : `<Remitente>${o.from}</Remitente>`}
  <Para>facturas@mta.test</Para>
  <Asunto>Factura ${token}</Asunto>
  <Cuerpo>${o.body ?? 'Adjuntamos su CFDI.'}</Cuerpo>
</OrdenEnvio>
`;
}

/** Runs the CLI with the password in the environment; keeps what it printed and logged for the last test. */
async function run(args: string[], password = mta.password): Promise<CliResult> {
  const result = await runCli(args, { [PASSWORD_ENV]: password }, 120_000);
  printed.push(result.stdout, result.stderr);
  const dir = args[args.indexOf('--dir') + 1];
  if (args.includes('--dir') && dir !== undefined) printed.push(await mailerLog(dir).catch(() => ''));
  return result;
}

/** The messages delivered to a mailbox of the MTA whose raw text contains `token`. */
async function delivered(mailbox: string, token: string): Promise<Awaited<ReturnType<typeof simpleParser>>[]> {
  const folder = path.join(mta.mailDir, mailbox, 'new');
  const names = await readdir(folder).catch(() => [] as string[]);
  const found = [];
  for (const name of names) {
    const raw = await readFile(path.join(folder, name));
    const parsed = await simpleParser(raw);
    if (`${parsed.subject ?? ''}\n${parsed.text ?? ''}`.includes(token)) found.push(parsed);
  }
  return found;
}

const token = (): string => Math.random().toString(36).slice(2, 10);
const note = async (dir: string, id: string): Promise<string> => readFile(path.join(dir, 'errores', `_CFD_MAIL_REQ_${id}.XML.error.txt`), 'utf8');

describe.runIf(available || required)('against a real Postfix + Dovecot (scripts/mta/start.sh; needs postfix and dovecot-core)', () => {
  beforeAll(() => {
    if (!available) {
      throw new Error(`PROSCAI_REQUIRE_MTA=1 but no MTA: install postfix and dovecot-core and run scripts/mta/start.sh (as root) before the tests`);
    }
    if (canStart && !answers(STATE_FILE)) {
      execFileSync('bash', [START_SCRIPT], { stdio: 'ignore', timeout: 60_000 });
      startedHere = true;
    }
    const state = JSON.parse(readFileSync(STATE_FILE, 'utf8')) as MtaState;
    // Absolute here: under Windows a '/tmp/…' path means the current drive's, and the CLI runs on another drive than this test.
    mta = { ...state, ca: path.resolve(state.ca), mailDir: path.resolve(state.mailDir), log: path.resolve(state.log) };
  }, 90_000);

  afterAll(async () => {
    await removeTmpDirs();
    if (startedHere) execFileSync('bash', [STOP_SCRIPT], { stdio: 'ignore', timeout: 30_000 });
  });

  it('a good send arrives, over STARTTLS with AUTH, and every connection ends with QUIT', async () => {
    const { dir, config } = await world();
    const t = token();
    const logBefore = readFileSync(mta.log, 'utf8').length;
    await writeFile(path.join(dir, '_CFD_MAIL_REQ_0200.XML'), order(t));
    const result = await run(['once', '--dir', dir, '--config', config]);
    expect(result.code, result.stderr).toBe(0);
    const [message] = await eventually(async () => {
      const found = await delivered('facturas', t);
      return found.length > 0 ? found : undefined;
    }, 15_000, 'the message in the mailbox');
    expect(message!.subject).toBe(`Factura ${t}`);
    expect(message!.from?.value[0]).toMatchObject({ name: 'Facturación ACME', address: mta.user });
    // Postfix's own record of the session: TLS, login, one message, and QUIT.
    const session = await eventually(() => {
      const lines = readFileSync(mta.log, 'utf8').slice(logBefore).split('\n');
      return lines.find((l) => /postfix\/submission\/smtpd.*disconnect from .* data=1/.test(l));
    }, 15_000, 'the session in the MTA log');
    expect(session).toMatch(/starttls=1 auth=1 mail=1 rcpt=1 data=1 quit=1/);
  });

  it('a wrong password: send-test says the server refused the login, quoting 535, and never prints the password', async () => {
    const { config } = await world();
    const wrong = 'Clave-Equivocada-5521';
    const result = await run(['send-test', '--config', config, '--company', 'ACME', '--to', 'facturas@mta.test'], wrong);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^El servidor rechazó el usuario o la contraseña \(535 5\.7\.8 Error: authentication failed/);
    expect(result.stderr).toContain(`«user» («${mta.user}»)`);
    expect(result.stdout + result.stderr).not.toContain(wrong);
  });

  it('a sender the login does not own: refused at RCPT with 553, told as the sender (not the recipients) in the note, the notice, the log and send-test', async () => {
    const { dir, config } = await world();
    const t = token();
    await writeFile(path.join(dir, '_CFD_MAIL_REQ_0201.XML'), order(t, { from: 'ventas@acme.mx' }));
    const result = await run(['once', '--dir', dir, '--config', config]);
    expect(result.code, result.stderr).toBe(1);
    const reply = `553 5.7.1 <ventas@acme.mx>: Sender address rejected: not owned by user ${mta.user}`;
    const text = await note(dir, '0201');
    expect(text).toContain(`- El servidor SMTP no acepta ese remitente para la cuenta con la que se envía: ${reply}.`);
    expect(text).toContain(diagnosisAdvice('sender', 'es'));
    expect(text).not.toContain('destinatarios');
    const log = await mailerLog(dir);
    const failed = log.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).find((e) => e.event === 'order.failed');
    expect(JSON.stringify(failed)).toContain(diagnosisAdvice('sender', 'en').replaceAll('"', '\\"'));
    expect(JSON.stringify(failed)).toContain('SMTP_PERMANENT');
    const [notice] = await eventually(async () => {
      const found = await delivered('errores', '0201');
      return found.length > 0 ? found : undefined;
    }, 15_000, 'the failure notice');
    expect(notice!.text).toContain(reply);
    expect(notice!.text).toContain(diagnosisAdvice('sender', 'es'));

    const { config: foreign } = await world({}, { companies: { ACME: { smtp: { host: mta.host, port: mta.submissionPort, security: 'STARTTLS', user: mta.user, passwordEnv: PASSWORD_ENV, ca: mta.ca }, from: 'ventas@acme.mx' } } });
    const test = await run(['send-test', '--config', foreign, '--company', 'ACME', '--to', 'facturas@mta.test', '--language', 'en']);
    expect(test.code).toBe(1);
    expect(test.stderr).toBe(`The server ${mta.host}:${mta.submissionPort} refused the test message at "RCPT TO" (${reply}). ${diagnosisAdvice('sender', 'en')}\n`);
  });

  it('a message over the size limit: refused with 552 5.3.4, told as too large, with what to do', async () => {
    const { dir, config } = await world();
    const t = token();
    await writeFile(path.join(dir, '_CFD_MAIL_REQ_0202.XML'), order(t, { body: `${t} ${'Texto de la factura. '.repeat(Math.ceil((mta.sizeLimit * 1.5) / 21))}` }));
    const result = await run(['once', '--dir', dir, '--config', config]);
    expect(result.code, result.stderr).toBe(1);
    const text = await note(dir, '0202');
    expect(text).toContain('- El servidor SMTP rechazó el mensaje por ser demasiado grande: 552 5.3.4 Error: message file too big.');
    expect(text).toContain(diagnosisAdvice('size', 'es'));
    expect(await delivered('facturas', t)).toHaveLength(0);
  });

  it('STARTTLS against the port that speaks TLS first: SMTP_TLS within seconds, not retried; «Seguridad» and «Puerto» do not match', async () => {
    const { dir, config } = await world({ port: mta.smtpsPort });
    await writeFile(path.join(dir, '_CFD_MAIL_REQ_0203.XML'), order(token()));
    const result = await run(['once', '--dir', dir, '--config', config]);
    // Failed for good (exit 1), not left for a retry (exit 4) after TiempoEspera (1 minute here).
    expect(result.code, result.stderr).toBe(1);
    expect(result.ms).toBeLessThan(30_000);
    const text = await note(dir, '0203');
    expect(text).toContain(`- «Seguridad» y «Puerto» no coinciden (Seguridad STARTTLS, Puerto ${mta.smtpsPort}): ese puerto habla TLS desde el primer byte`);
    expect(text).toContain(diagnosisAdvice('tls-port', 'es'));

    const test = await run(['send-test', '--config', config, '--company', 'ACME', '--to', 'facturas@mta.test']);
    expect(test.code).toBe(1);
    expect(test.ms).toBeLessThan(30_000);
    expect(test.stderr).toContain(`El puerto ${mta.smtpsPort} de ${mta.host} habla TLS desde el primer byte (TLS implícito)`);
  });

  it('SSL on that port works, with the company authority in «ca»; without «ca» the certificate is refused and send-test points at «ca»', async () => {
    const { config } = await world({ port: mta.smtpsPort, security: 'SSL' });
    const ok = await run(['send-test', '--config', config, '--company', 'ACME', '--to', 'facturas@mta.test']);
    expect(ok.code, ok.stderr).toBe(0);
    const { config: noCa } = await world({ port: mta.smtpsPort, security: 'SSL', ca: undefined });
    const refused = await run(['send-test', '--config', noCa, '--company', 'ACME', '--to', 'facturas@mta.test']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('«ca» del perfil «smtp»');
  });

  it('TLS is enforced: without it the server asks for STARTTLS before anything, and the mailer says which setting to change', async () => {
    const { config } = await world({ security: 'NINGUNA' });
    const result = await run(['send-test', '--config', config, '--company', 'ACME', '--to', 'facturas@mta.test']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `El servidor ${mta.host}:${mta.submissionPort} exige una conexión segura (TLS) antes de aceptar usuario y contraseña (530 5.7.0 Must issue a STARTTLS command first). Ponga «security»: "STARTTLS" (puerto 587) o "SSL" (puerto 465).\n`,
    );
  });

  it('the password appears in no output and no log', async () => {
    const base64 = Buffer.from(mta.password).toString('base64');
    for (const text of printed) {
      expect(text).not.toContain(mta.password);
      expect(text).not.toContain(base64);
    }
    expect(printed.length).toBeGreaterThan(0);
  });
});
