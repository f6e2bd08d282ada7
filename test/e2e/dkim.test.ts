/**
 * DKIM per company and the HTML envelope, end to end: the real CLI (`once`,
 * `check`, `config`) on a real temp folder, a real SMTP server in-process,
 * and the signatures verified by verifiers that share no code with the
 * signer (nodemailer's): mailauth, and Python's dkimpy where it is installed.
 * Each verifier gets the public key from a DNS stub answering the TXT record
 * `<selector>._domainkey.<domain>` the operations guide tells to publish.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { copyFile, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runCli } from '../helpers/cli.js';
import { startSmtpSink, type ReceivedMessage, type SmtpSink } from '../helpers/smtp-sink.js';
import { makeTmpDir, removeTmpDirs } from '../helpers/tmp.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/dkim/', import.meta.url));

/** A fresh key pair per run: no private key lives in the repository. */
function keyPair() {
  return generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'der' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
}
const ACME = keyPair();
const OTRA = keyPair();

/** The DNS TXT record of a key, as docs/operations.md ("Firmar con DKIM") tells to publish it. */
const txtRecord = (publicKey: Buffer): string => `v=DKIM1; k=rsa; p=${publicKey.toString('base64')}`;
const DNS: Record<string, string> = {
  'proscai._domainkey.acme.example': txtRecord(ACME.publicKey),
  's2026._domainkey.otra.example': txtRecord(OTRA.publicKey),
};

/** mailauth's resolver option: answers the test's TXT records, NXDOMAIN for anything else. */
async function resolver(name: string, type: string): Promise<string[][]> {
  const txt = type === 'TXT' ? DNS[name.toLowerCase().replace(/\.$/, '')] : undefined;
  if (txt === undefined) throw Object.assign(new Error(`no ${type} record for ${name}`), { code: 'ENOTFOUND' });
  return [[txt]];
}

/** mailauth's verdict on each signature of a message: `pass d=… s=…`. */
async function verify(raw: Buffer): Promise<string[]> {
  const { results } = await dkimVerify(raw, { resolver });
  return results.map((r: { status: { result: string }; signingDomain?: string; selector?: string }) => `${r.status.result} d=${r.signingDomain ?? ''} s=${r.selector ?? ''}`);
}

/** dkimpy (Debian's python3-dkim) where installed: its own canonicalisation and RSA, fed the same TXT records. */
const PYTHON = '/usr/bin/python3';
const hasDkimpy = process.platform !== 'win32' && existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import dkim'], { stdio: 'ignore' }).status === 0;
const DKIMPY = `
import sys, json, dkim
records = json.loads(sys.argv[1])
def dnsfunc(name, timeout=5):
    txt = records.get(name.decode().rstrip('.').lower())
    return txt.encode() if txt else None
print('pass' if dkim.verify(sys.stdin.buffer.read(), dnsfunc=dnsfunc) else 'fail')
`;
function dkimpy(raw: Buffer): string {
  return execFileSync(PYTHON, ['-c', DKIMPY, JSON.stringify(DNS)], { input: raw }).toString().trim();
}

const ACCENTS = 'Información del envío: áéíóúñ ÁÉÍÓÚÑ ü ¿¡ — año 2026.';

function order(opts: { company: string; subject: string; body: string; attachments?: string }): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<OrdenEnvio>
  <Empresa>${opts.company}</Empresa>
  <Para>Ferretería López &lt;cuentas@ferreteria.example&gt;</Para>
  <Asunto>${opts.subject}</Asunto>
  <Cuerpo>${opts.body}</Cuerpo>
  <Adjuntos>${opts.attachments ?? ''}</Adjuntos>
  <CorreoErrores>sistemas@acme.example</CorreoErrores>
</OrdenEnvio>
`;
}

interface Setup {
  dir: string;
  config: string;
  env: Record<string, string>;
}

/** An order folder with the CFDI fixtures, and a configuration of three companies: ACME (key file, envelope), OTRA (key in a variable), SINFIRMA. */
async function setUp(sink: SmtpSink, envelope: 'sobre.html' | 'falta.html' = 'sobre.html'): Promise<Setup> {
  const home = await makeTmpDir('proscai-dkim-e2e-');
  const dir = path.join(home, 'envio');
  await mkdir(path.join(dir, 'C00017'), { recursive: true });
  await mkdir(path.join(home, 'claves'));
  await copyFile(path.join(FIXTURES, 'F-100.xml'), path.join(dir, 'C00017', 'F-100.xml'));
  await copyFile(path.join(FIXTURES, 'F-100.pdf'), path.join(dir, 'C00017', 'F-100.pdf'));
  await copyFile(path.join(FIXTURES, 'sobre.html'), path.join(home, 'sobre.html'));
  await writeFile(path.join(home, 'claves', 'acme.pem'), ACME.privateKey);
  const smtp = { host: '127.0.0.1', port: sink.port, security: 'NINGUNA' };
  const config = path.join(home, 'mailer.json');
  await writeFile(
    config,
    JSON.stringify({
      dir,
      companies: {
        ACME: { smtp, from: 'Facturación Acme <facturas@acme.example>', htmlEnvelope: envelope, dkim: { domain: 'acme.example', selector: 'proscai', privateKeyFile: 'claves/acme.pem' } },
        OTRA: { smtp, from: 'facturas@otra.example', dkim: { domain: 'otra.example', selector: 's2026', privateKeyEnv: 'OTRA_DKIM_KEY' } },
        SINFIRMA: { smtp, from: 'avisos@sinfirma.example' },
      },
    }),
  );
  return { dir, config, env: { OTRA_DKIM_KEY: OTRA.privateKey } };
}

const find = (sink: SmtpSink, subject: string): ReceivedMessage => {
  const found = sink.messages.find((m) => m.parsed.subject === subject);
  if (found === undefined) throw new Error(`no message "${subject}" among ${sink.messages.map((m) => m.parsed.subject).join(', ')}`);
  return found;
};

afterAll(removeTmpDirs);

describe('once: DKIM signatures per company, verified independently', () => {
  let sink: SmtpSink;
  let setup: Setup;
  let stdout = '';
  let code: number | null = null;

  beforeAll(async () => {
    sink = await startSmtpSink();
    setup = await setUp(sink);
    const attachments = '<Archivo>C00017\\F-100.xml</Archivo><Archivo nombre="Factura F-100.pdf">C00017\\F-100.pdf</Archivo>';
    await writeFile(path.join(setup.dir, '_CFD_MAIL_REQ_A1.XML'), order({ company: 'ACME', subject: 'CFDI F-100 — Ferretería López', body: `Estimado cliente:\n\n${ACCENTS}\n\nAtentamente,\nAcme`, attachments }));
    await writeFile(path.join(setup.dir, '_CFD_MAIL_REQ_A2.XML'), order({ company: 'acme', subject: 'Ticket de venta', body: `HTML &lt;p&gt;Gracias por su compra: &lt;b&gt;${ACCENTS}&lt;/b&gt;&lt;/p&gt;` }));
    await writeFile(path.join(setup.dir, '_CFD_MAIL_REQ_O1.XML'), order({ company: 'OTRA', subject: 'Estado de cuenta', body: ACCENTS, attachments }));
    await writeFile(path.join(setup.dir, '_CFD_MAIL_REQ_S1.XML'), order({ company: 'SINFIRMA', subject: 'Aviso sin firma', body: ACCENTS }));
    const result = await runCli(['once', '--config', setup.config], setup.env);
    stdout = result.stdout + result.stderr;
    code = result.code;
  }, 120_000);
  afterAll(async () => {
    await sink.close();
  });

  it('sends all four orders', () => {
    expect(stdout).not.toContain('Error:');
    expect(code).toBe(0);
    expect(sink.messages.map((m) => m.parsed.subject).sort()).toEqual(['Aviso sin firma', 'CFDI F-100 — Ferretería López', 'Estado de cuenta', 'Ticket de venta']);
  });

  it('signs the accented body and the CFDI attachments (XML with BOM, PDF) so that mailauth verifies them', async () => {
    const m = find(sink, 'CFDI F-100 — Ferretería López');
    expect(m.parsed.text).toContain(ACCENTS);
    const [xml, pdf] = m.parsed.attachments;
    expect(Buffer.compare(xml!.content, await readFile(path.join(FIXTURES, 'F-100.xml')))).toBe(0);
    expect(xml!.content.subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
    expect(Buffer.compare(pdf!.content, await readFile(path.join(FIXTURES, 'F-100.pdf')))).toBe(0);
    expect(await verify(m.raw)).toEqual(['pass d=acme.example s=proscai']);
    expect(await verify(find(sink, 'Estado de cuenta').raw)).toEqual(['pass d=otra.example s=s2026']);
  });

  it('fails verification when one byte of the received message changes (negative control)', async () => {
    const raw = find(sink, 'CFDI F-100 — Ferretería López').raw;
    const inBody = Buffer.from(raw);
    const at = inBody.indexOf('Atentamente');
    expect(at).toBeGreaterThan(inBody.indexOf('\r\n\r\n'));
    inBody[at] = 'a'.charCodeAt(0);
    expect((await verify(inBody))[0]).not.toMatch(/^pass/);
    const inHeader = Buffer.from(raw);
    const subject = inHeader.indexOf('Subject: ') + 'Subject: '.length;
    inHeader[subject] = inHeader[subject] === 0x3d ? 0x3e : 0x3d;
    expect((await verify(inHeader))[0]).not.toMatch(/^pass/);
    expect(await verify(raw)).toEqual(['pass d=acme.example s=proscai']);
  });

  it.runIf(hasDkimpy)('verifies with Python\'s dkimpy too (a second, independent implementation; Linux with python3-dkim)', () => {
    expect(dkimpy(find(sink, 'CFDI F-100 — Ferretería López').raw)).toBe('pass');
    expect(dkimpy(find(sink, 'Estado de cuenta').raw)).toBe('pass');
    expect(dkimpy(find(sink, 'Ticket de venta').raw)).toBe('pass');
    const tampered = Buffer.from(find(sink, 'Estado de cuenta').raw);
    tampered[tampered.length - 10] ^= 1;
    expect(dkimpy(tampered)).toBe('fail');
  });

  it('places the HTML body in the company\'s envelope, keeps the text alternative of the order\'s own HTML, and signs it', async () => {
    const m = find(sink, 'Ticket de venta');
    const html = m.parsed.html as string;
    expect(html).toContain('DISTRIBUIDORA ACME, S.A. de C.V.');
    expect(html).toContain(`<td style="font-family:Arial"><p>Gracias por su compra: <b>${ACCENTS}</b></p></td>`);
    expect(html).toContain('Aviso de privacidad');
    expect(html).not.toContain('{{CUERPO}}');
    expect(m.parsed.text).toContain(`Gracias por su compra: ${ACCENTS}`);
    expect(m.parsed.text).not.toContain('Aviso de privacidad');
    expect(await verify(m.raw)).toEqual(['pass d=acme.example s=proscai']);
  });

  it('never writes a key to the log', async () => {
    const log = await readFile(path.join(setup.dir, '.proscai-mailer', 'logs', 'mailer.log'), 'utf8');
    expect(log).toContain('_CFD_MAIL_REQ_A1.XML');
    expect(log).not.toContain(ACME.privateKey.split('\n')[1]!);
    expect(log).not.toContain(OTRA.privateKey.split('\n')[1]!);
  });

  it('leaves a company without "dkim" unsigned', () => {
    const m = find(sink, 'Aviso sin firma');
    expect(m.parsed.headers.has('dkim-signature')).toBe(false);
    expect(m.parsed.text).toContain(ACCENTS);
  });

  it('`check` says whether and how an order will be signed, never the key', async () => {
    // The sent orders are in enviados/: check finds them by id.
    const signed = await runCli(['check', 'A1', '--config', setup.config], setup.env);
    expect(signed.stdout).toMatch(/Firma DKIM:\s+sí, d=acme\.example s=proscai/);
    const enveloped = await runCli(['check', 'A2', '--config', setup.config, '--language', 'en'], setup.env);
    expect(enveloped.stdout).toMatch(/DKIM signature:\s+yes, d=acme\.example s=proscai/);
    expect(enveloped.stdout).toContain(path.join(path.dirname(setup.config), 'sobre.html'));
    const unsigned = await runCli(['check', 'S1', '--config', setup.config], setup.env);
    expect(unsigned.stdout).toMatch(/Firma DKIM:\s+no/);
    const json = await runCli(['check', 'O1', '--config', setup.config, '--json'], setup.env);
    expect(JSON.parse(json.stdout).order.dkim).toEqual({ domain: 'otra.example', selector: 's2026' });
    for (const out of [signed, enveloped, unsigned, json]) {
      expect(out.stdout + out.stderr).not.toContain(ACME.privateKey.split('\n')[1]!);
      expect(out.stdout + out.stderr).not.toContain(OTRA.privateKey.split('\n')[1]!);
    }
  }, 120_000);

  it('`send-test --company` signs the test message like the company\'s orders', async () => {
    const before = sink.messages.length;
    const result = await runCli(['send-test', '--config', setup.config, '--company', 'OTRA', '--to', 'prueba@ferreteria.example'], setup.env);
    expect(result.code).toBe(0);
    const [test] = await sink.waitForMessages(before + 1).then((all) => all.slice(before));
    expect(test!.envelope.to).toEqual(['prueba@ferreteria.example']);
    expect(await verify(test!.raw)).toEqual(['pass d=otra.example s=s2026']);
  }, 60_000);

  it('`config` shows d= and s= of each company, masks the key, and exits 2 naming the company and file of a key that cannot be read', async () => {
    const shown = await runCli(['config', '--config', setup.config], setup.env);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain('# Firma DKIM de ACME: d=acme.example s=proscai (la clave no se muestra)');
    expect(shown.stdout).toContain('# Firma DKIM de OTRA: d=otra.example s=s2026 (la clave no se muestra)');
    expect(shown.stdout).toContain('# Sin firma DKIM: SINFIRMA');
    expect(shown.stdout).toContain('companies.ACME.dkim.privateKey = ********');
    expect(shown.stdout).not.toContain(ACME.privateKey.split('\n')[1]!);
    expect(shown.stdout).not.toContain(OTRA.privateKey.split('\n')[1]!);

    const keyFile = path.join(path.dirname(setup.config), 'claves', 'acme.pem');
    await rm(keyFile);
    try {
      for (const command of ['config', 'once']) {
        const refused = await runCli([command, '--config', setup.config], setup.env);
        expect(refused.code).toBe(2);
        expect(refused.stderr).toContain(`companies.ACME.dkim.privateKeyFile: el archivo de clave DKIM ${keyFile} no existe`);
      }
    } finally {
      await writeFile(keyFile, ACME.privateKey);
    }
  }, 120_000);
});

describe('once: a missing HTML envelope', () => {
  it('fails that company\'s HTML order with a note naming the file, and still sends its plain-text order', async () => {
    const sink = await startSmtpSink();
    try {
      const setup = await setUp(sink, 'falta.html');
      await writeFile(path.join(setup.dir, '_CFD_MAIL_REQ_H1.XML'), order({ company: 'ACME', subject: 'Ticket', body: 'HTML <![CDATA[<p>Ticket 1</p>]]>' }));
      await writeFile(path.join(setup.dir, '_CFD_MAIL_REQ_T1.XML'), order({ company: 'ACME', subject: 'Texto', body: 'Sin sobre' }));
      const result = await runCli(['once', '--config', setup.config], setup.env);
      expect(result.code).toBe(1);
      const missing = path.join(path.dirname(setup.config), 'falta.html');
      const sent = sink.messages.filter((m) => m.envelope.to.includes('cuentas@ferreteria.example'));
      expect(sent.map((m) => m.parsed.subject)).toEqual(['Texto']);
      expect(await readdir(path.join(setup.dir, 'errores'))).toEqual(['_CFD_MAIL_REQ_H1.XML', '_CFD_MAIL_REQ_H1.XML.error.txt']);
      const note = await readFile(path.join(setup.dir, 'errores', '_CFD_MAIL_REQ_H1.XML.error.txt'), 'utf8');
      expect(note).toContain(`El sobre HTML de la empresa no existe: se buscó en ${missing} («companies.ACME.htmlEnvelope» en la configuración); no se envió nada`);
      expect(note).toContain('Ponga el archivo del sobre HTML en la ruta indicada');
      // The failure notice to the order's error address says the same.
      const notice = sink.messages.find((m) => m.envelope.to.includes('sistemas@acme.example'));
      expect(notice?.parsed.text).toContain(missing);
      // `check` reads the envelope as a send would, and says so.
      const checked = await runCli(['check', 'H1', '--config', setup.config], setup.env);
      expect(checked.stdout).toContain('NO se puede enviar');
      expect(checked.stdout).toContain(`El sobre HTML de la empresa no existe: se buscó en ${missing}`);
    } finally {
      await sink.close();
    }
  }, 120_000);
});
