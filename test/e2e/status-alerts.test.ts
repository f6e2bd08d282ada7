/**
 * `status` shows what needs a person now, through the real CLI: the mailer
 * (`once`) meets each failure for real (a company's server refusing the login
 * or the sender while another company sends fine; the log file that cannot
 * be opened; the claims folder refusing writes), then `status` says it in
 * Spanish (English with --language en), lists it under `alerts` with a stable
 * code in --json, and exits 1; once the cause is fixed and a send succeeds,
 * the alert goes and `status` exits 0.
 */
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { StatusReport } from '../../src/cli/status.js';
import { sanitizeHostId } from '../../src/io/store/files.js';
import { runCli, type Account } from '../helpers/cli.js';
import { READER, READER_RUNS_CLI, giveToReader } from '../helpers/held.js';
import { startScriptedSmtp, type ScriptedSmtp } from '../helpers/scripted-smtp.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import { makeTmpDir, removeTmpDirs } from '../helpers/tmp.js';

afterAll(removeTmpDirs);

const servers: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** An order of `company` through 127.0.0.1:`port`, with a login when `user` is given. */
function order(company: string, port: number, user?: { name: string; password: string }): string {
  const login = user === undefined ? '' : `<Usuario>${user.name}</Usuario><Contrasena>${user.password}</Contrasena>`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<OrdenEnvio>
  <Empresa>${company}</Empresa>
  <SMTP><Servidor>127.0.0.1</Servidor><Puerto>${port}</Puerto><Seguridad>NINGUNA</Seguridad>${login}</SMTP>
  <Remitente>facturas@${company.toLowerCase()}.example</Remitente>
  <Para>cliente@example.com</Para>
  <Asunto>Factura</Asunto>
  <Cuerpo>Adjuntamos su CFDI.</Cuerpo>
  <Adjuntos></Adjuntos>
</OrdenEnvio>
`;
}

const drop = (dir: string, id: string, xml: string): Promise<void> => writeFile(path.join(dir, `_CFD_MAIL_REQ_${id}.XML`), xml);

async function sink(): Promise<SmtpSink> {
  const s = await startSmtpSink();
  servers.push(s);
  return s;
}

async function scripted(...args: Parameters<typeof startScriptedSmtp>): Promise<ScriptedSmtp> {
  const s = await startScriptedSmtp(...args);
  servers.push(s);
  return s;
}

/** `status` three ways: Spanish text, English text, JSON. */
async function status(dir: string): Promise<{ es: Awaited<ReturnType<typeof runCli>>; en: Awaited<ReturnType<typeof runCli>>; json: StatusReport; jsonCode: number | null }> {
  const es = await runCli(['status', '--dir', dir]);
  const en = await runCli(['status', '--dir', dir, '--language', 'en']);
  const raw = await runCli(['status', '--dir', dir, '--json']);
  return { es, en, json: JSON.parse(raw.stdout) as StatusReport, jsonCode: raw.code };
}

const once = (dir: string, account?: Account) => runCli(['once', '--dir', dir], {}, 60_000, account);

describe('status alerts', { timeout: 120_000 }, () => {
  it('the last SMTP error per company (535 for ALFA, 550 for GAMA, BETA sends fine), until that company sends again', async () => {
    const alfa = await scripted({ reply: ({ command }) => (command === 'AUTH' ? { code: 535, text: '5.7.8 Authentication credentials invalid' } : undefined) });
    const gama = await startSmtpSink({ mailFromError: () => ({ code: 550, message: '5.7.1 Sender address rejected: not owned by user' }) });
    servers.push(gama);
    const good = await sink();
    const dir = await makeTmpDir('proscai-alerts-smtp-');
    await drop(dir, 'A1', order('Alfa', alfa.port, { name: 'alfa', password: 'mala-clave' }));
    await drop(dir, 'B1', order('Beta', good.port));
    await drop(dir, 'G1', order('Gama', gama.port));
    const first = await once(dir);
    expect(first.code, first.stderr).toBe(1);
    expect(good.messages).toHaveLength(1);

    const before = await status(dir);
    expect(before.es.code, before.es.stderr).toBe(1);
    expect(before.es.stdout).toMatch(/^Atención: el último envío de ALFA falló a las .+ \(orden A1\): SMTP_AUTH: 535 5\.7\.8 Authentication credentials invalid\. Se quita cuando un envío de esa empresa salga bien\.$/m);
    expect(before.es.stdout).toMatch(/^Atención: el último envío de GAMA falló a las .+ \(orden G1\): SMTP_PERMANENT: 550 5\.7\.1 Sender address rejected: not owned by user\. Se quita cuando un envío de esa empresa salga bien\.$/m);
    expect(before.es.stdout).not.toContain('de BETA');
    expect(before.en.code).toBe(1);
    expect(before.en.stdout).toMatch(/^Warning: the last send of ALFA failed at .+ \(order A1\): SMTP_AUTH: 535 5\.7\.8 Authentication credentials invalid\. It goes when a send of that company succeeds\.$/m);
    expect(before.jsonCode).toBe(1);
    expect(before.json.alerts.map((a) => a.code)).toEqual(['smtp_failing', 'smtp_failing']);
    expect(before.json.alerts).toMatchObject([
      { code: 'smtp_failing', company: 'ALFA', orderId: 'A1', error: { code: 'SMTP_AUTH', smtpCode: 535 } },
      { code: 'smtp_failing', company: 'GAMA', orderId: 'G1', error: { smtpCode: 550 } },
    ]);

    // ALFA's login is fixed (here: its next order goes through a server that takes it): its alert goes, GAMA's stays.
    await drop(dir, 'A2', order('Alfa', good.port));
    expect((await once(dir)).code).toBe(0);
    const fixedAlfa = await status(dir);
    expect(fixedAlfa.es.stdout).not.toContain('ALFA falló');
    expect(fixedAlfa.json.alerts).toMatchObject([{ code: 'smtp_failing', company: 'GAMA' }]);
    expect(fixedAlfa.es.code).toBe(1);

    await drop(dir, 'G2', order('Gama', good.port));
    expect((await once(dir)).code).toBe(0);
    const after = await status(dir);
    expect(after.es.code, after.es.stdout).toBe(0);
    expect(after.es.stdout).not.toContain('Atención');
    expect(after.en.code).toBe(0);
    expect(after.en.stdout).not.toContain('Warning');
    expect(after.json.alerts).toEqual([]);
    expect(after.jsonCode).toBe(0);
  });

  it('the log file cannot be written (a folder stands where it should be): alert until the mailer writes it again', async () => {
    const good = await sink();
    const dir = await makeTmpDir('proscai-alerts-log-');
    const logFile = path.join(dir, '.proscai-mailer', 'logs', 'mailer.log');
    await mkdir(logFile, { recursive: true });
    await drop(dir, 'L1', order('Acme', good.port));
    const first = await once(dir);
    expect(first.code, first.stderr).toBe(0); // sending goes on without a log
    expect(good.messages).toHaveLength(1);

    const before = await status(dir);
    expect(before.es.code, before.es.stdout).toBe(1);
    expect(before.es.stdout).toContain(`Atención: no se puede escribir el registro ${logFile}: `);
    expect(before.es.stdout).toMatch(/\(desde .+\)\. Los envíos siguen, pero sus líneas se pierden: revise el espacio en disco y que la cuenta del servicio pueda escribir en esa carpeta\./);
    expect(before.en.code).toBe(1);
    expect(before.en.stdout).toContain(`Warning: the log ${logFile} cannot be written: `);
    expect(before.json.alerts).toMatchObject([{ code: 'log_not_writable', file: logFile }]);
    expect(before.jsonCode).toBe(1);

    await rm(logFile, { recursive: true });
    await drop(dir, 'L2', order('Acme', good.port));
    expect((await once(dir)).code).toBe(0);
    const after = await status(dir);
    expect(after.es.code, after.es.stdout).toBe(0);
    expect(after.json.alerts).toEqual([]);
    expect(after.en.stdout).not.toContain('Warning');
  });

  it('claims fail because the work area refuses them (a file where the claims folder goes: both systems): alert until a claim succeeds', async () => {
    const good = await sink();
    const dir = await makeTmpDir('proscai-alerts-claims-');
    const claimsRoot = path.join(dir, '.proscai-mailer', 'claims');
    await mkdir(path.dirname(claimsRoot), { recursive: true });
    await writeFile(claimsRoot, 'not a folder');
    await drop(dir, 'C1', order('Acme', good.port));
    const first = await once(dir);
    expect(first.code, first.stderr).toBe(4); // left in the order folder for a later pass
    expect(good.messages).toHaveLength(0);

    const before = await status(dir);
    expect(before.es.code, before.es.stdout).toBe(1);
    expect(before.es.stdout).toContain(`Atención: no se pueden tomar órdenes: la carpeta ${claimsRoot} no admite escritura (`);
    expect(before.es.stdout).toContain('Las órdenes esperan en la carpeta de órdenes: dé permiso de escritura a la cuenta del servicio sobre el área de trabajo');
    expect(before.en.stdout).toContain(`Warning: orders cannot be claimed: the folder ${claimsRoot} refuses writes (`);
    expect(before.json.alerts).toMatchObject([{ code: 'claims_failing', dir: claimsRoot }]);

    await rm(claimsRoot);
    expect((await once(dir)).code).toBe(0);
    expect(good.messages).toHaveLength(1);
    const after = await status(dir);
    expect(after.es.code, after.es.stdout).toBe(0);
    expect(after.json.alerts).toEqual([]);
  });

  it.runIf(process.platform !== 'win32' && READER_RUNS_CLI)(
    'claims fail with EACCES: the claims folder is not writable for the service account (POSIX permissions; as root the mailer runs as nobody)',
    async () => {
      const good = await sink();
      const root = await makeTmpDir('proscai-alerts-eacces-');
      const dir = path.join(root, 'orders');
      const claimsDir = path.join(dir, '.proscai-mailer', 'claims', sanitizeHostId(os.hostname()));
      await mkdir(claimsDir, { recursive: true });
      await drop(dir, 'E1', order('Acme', good.port));
      giveToReader(root);
      await chmod(claimsDir, 0o555);
      const first = await once(dir, READER);
      expect(first.code, first.stderr).toBe(4);
      expect(good.messages).toHaveLength(0);

      const before = await status(dir);
      expect(before.es.code, before.es.stdout).toBe(1);
      expect(before.es.stdout).toContain(`Atención: no se pueden tomar órdenes: la carpeta ${claimsDir} no admite escritura (EACCES: permission denied) (desde `);
      expect(before.en.stdout).toContain(`Warning: orders cannot be claimed: the folder ${claimsDir} refuses writes (EACCES: permission denied) (since `);
      expect(before.json.alerts).toMatchObject([{ code: 'claims_failing', dir: claimsDir }]);

      await chmod(claimsDir, 0o755);
      expect((await once(dir, READER)).code).toBe(0);
      expect(good.messages).toHaveLength(1);
      const after = await status(dir);
      expect(after.es.code, after.es.stdout).toBe(0);
      expect(after.json.alerts).toEqual([]);
    },
  );

  it.runIf(process.platform !== 'win32' && READER_RUNS_CLI)(
    'an order folder the service account cannot list: `once` says why at error level and exits 4, never 0 (POSIX permissions; as root the mailer runs as nobody)',
    async () => {
      const good = await sink();
      const root = await makeTmpDir('proscai-alerts-unlisted-');
      const dir = path.join(root, 'orders');
      await mkdir(path.join(dir, '.proscai-mailer'), { recursive: true });
      await drop(dir, 'U1', order('Acme', good.port));
      giveToReader(root);
      // Writable and searchable (the lock and the work area work), not listable.
      await chmod(dir, 0o333);
      const first = await once(dir, READER);
      await chmod(dir, 0o755);
      expect(first.code, first.stderr).toBe(4);
      expect(first.stderr).toMatch(/ERROR.*EACCES/);
      expect(good.messages).toHaveLength(0);

      expect((await once(dir, READER)).code).toBe(0);
      expect(good.messages).toHaveLength(1);
    },
  );

  it('the order folder missing is an alert with its stable code too', async () => {
    const dir = path.join(await makeTmpDir('proscai-alerts-missing-'), 'no-existe');
    const result = await status(dir);
    expect(result.es.code).toBe(1);
    expect(result.json.alerts).toEqual([{ code: 'folder_missing', dir }]);
  });
});
