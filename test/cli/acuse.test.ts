/**
 * The acuse de envío through the real CLI (issue 17, item 2): `once` sends
 * orders through a real smtp-server (STARTTLS with the test certificate, a
 * queue id in its final reply), then `acuse <id>` shows, for each order, the
 * size and SHA-256 of exactly what the server received, the server's reply
 * as it sent it, the connection's TLS protocol and every attachment's digest;
 * kept beside the archived order for CONSERVAR and in the work area for
 * ELIMINAR; `keepEml` keeps the message as sent. A record that cannot be
 * written costs the order nothing: it is sent and archived, and the log says
 * `acuse.missing`.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { SMTPServer } from 'smtp-server';
import { afterAll, describe, expect, it } from 'vitest';

import type { AcuseRecord } from '../../src/order/acuse.js';
import { runCli } from '../helpers/cli.js';
import { afterThisTest } from '../helpers/scoped.js';
import { SINK_CERT, SINK_KEY } from '../helpers/smtp-sink.js';
import { makeTmpDir, removeTmpDirs } from '../helpers/tmp.js';

afterAll(removeTmpDirs);

const CA_FILE = fileURLToPath(new URL('../fixtures/tls/cert.pem', import.meta.url));
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

interface Received {
  raw: Buffer;
  reply: string;
  secure: boolean;
  messageId: string;
}

/** A real smtp-server offering STARTTLS whose final reply names a queue id, as Postfix's does; keeps each message with the reply it got. */
async function queueingServer(): Promise<{ port: number; received: Received[] }> {
  const received: Received[] = [];
  const server = new SMTPServer({
    logger: false,
    disableReverseLookup: true,
    key: SINK_KEY,
    cert: SINK_CERT,
    authOptional: true,
    disabledCommands: ['AUTH'],
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks);
        const text = `2.0.0 Ok: queued as 4Q${received.length + 1}XZ7`;
        received.push({ raw, reply: `250 ${text}`, secure: session.secure === true, messageId: /^Message-ID:\s*(\S+)/im.exec(raw.toString('latin1'))?.[1] ?? '' });
        callback(null, text);
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  afterThisTest(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { port: (server.server.address() as AddressInfo).port, received };
}

function order(id: string, afterSend: string, attachments: string[] = []): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<OrdenEnvio>
  <Empresa>ACME</Empresa>
  <Remitente>Facturación ACME &lt;facturas@acme.example&gt;</Remitente>
  <Para>pagos@cliente.example</Para>
  <Asunto>CFDI ${id} — año fiscal</Asunto>
  <Cuerpo>Adjuntamos su CFDI. Saludos, señor Núñez.</Cuerpo>
  <Adjuntos>${attachments.map((a) => `<Archivo>${a}</Archivo>`).join('')}</Adjuntos>
  <DespuesDeEnviar>${afterSend}</DespuesDeEnviar>
</OrdenEnvio>
`;
}

/** A folder with a kept order (two attachments, one streamed from its file) and a deleted one; a config sending through `port` with STARTTLS. */
async function world(port: number, extra: Record<string, unknown> = {}) {
  const root = await makeTmpDir('proscai-acuse-');
  const dir = path.join(root, 'envio');
  await mkdir(path.join(dir, 'C1'), { recursive: true });
  const files = {
    'A-1.xml': Buffer.from('\uFEFF<?xml version="1.0" encoding="UTF-8"?><cfdi:Comprobante Total="1160.00"/>', 'utf8'),
    'A-1.pdf': Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.alloc(300 * 1024, 7)]),
  };
  for (const [name, bytes] of Object.entries(files)) await writeFile(path.join(dir, 'C1', name), bytes);
  await writeFile(path.join(dir, '_CFD_MAIL_REQ_A1.XML'), order('A1', 'CONSERVAR', ['C1\\A-1.xml', 'C1\\A-1.pdf']));
  await writeFile(path.join(dir, '_CFD_MAIL_REQ_B2.XML'), order('B2', 'ELIMINAR'));
  const config = path.join(root, 'config.json');
  await writeFile(
    config,
    JSON.stringify({ dir, companies: { ACME: { smtp: { host: '127.0.0.1', port, security: 'STARTTLS', ca: CA_FILE } } }, ...extra }, null, 2),
  );
  return { root, dir, config, files, workDir: path.join(dir, '.proscai-mailer') };
}

async function acuseJson(config: string, id: string): Promise<AcuseRecord> {
  const result = await runCli(['acuse', id, '--json', '--config', config]);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as AcuseRecord;
}

describe('acuse <id> after real sends', () => {
  it('one acuse per sent order: digest and size of what the server received, its reply in full, TLS and attachments; where each is kept; keepEml', async () => {
    const server = await queueingServer();
    const w = await world(server.port, { keepEml: true });
    const sent = await runCli(['once', '--config', w.config]);
    expect(sent.code, sent.stderr).toBe(0);
    expect(server.received).toHaveLength(2);

    for (const [id, folder] of [
      ['A1', path.join(w.dir, 'enviados')],
      ['B2', path.join(w.workDir, 'acuses')],
    ] as const) {
      const record = await acuseJson(w.config, id);
      const got = server.received.find((r) => r.messageId === record.messageId)!;
      expect(got, id).toBeDefined();
      expect(record).toMatchObject({ orderId: id, fileName: `_CFD_MAIL_REQ_${id}.XML`, company: 'ACME', messageId: `<proscai.${id}@acme.example>` });
      expect(record.tries).toHaveLength(1);
      const [attempt] = record.tries;
      expect(attempt!.outcome).toBe('accepted');
      expect(attempt!.message).toEqual({ size: got.raw.length, sha256: sha256(got.raw) });
      expect(attempt!.response).toBe(got.reply);
      expect(attempt!.tls!.used).toBe(got.secure);
      expect(attempt!.tls!.protocol).toMatch(/^TLSv1\.[23]$/);
      expect(attempt!.server).toEqual({ host: '127.0.0.1', port: server.port });
      expect(attempt!.envelopeFrom).toBe('facturas@acme.example');
      expect(attempt!.accepted).toEqual(['pagos@cliente.example']);
      expect(attempt!.refused).toEqual([]);
      const detected = Date.parse(record.detectedAt!);
      expect(detected).toBeLessThanOrEqual(Date.parse(attempt!.startedAt));
      expect(Date.parse(attempt!.startedAt)).toBeLessThanOrEqual(Date.parse(attempt!.acceptedAt!));
      // Kept where the order's DespuesDeEnviar says, with the message exactly as sent beside it.
      expect(existsSync(path.join(folder, `_CFD_MAIL_REQ_${id}.XML.acuse.json`)), id).toBe(true);
      expect(attempt!.eml).toBe(`_CFD_MAIL_REQ_${id}.XML.eml`);
      expect((await readFile(path.join(folder, attempt!.eml!))).equals(got.raw)).toBe(true);
    }
    const a1 = await acuseJson(w.config, '_CFD_MAIL_REQ_a1.xml');
    expect(a1.tries[0]!.attachments).toEqual([
      { name: 'A-1.xml', size: w.files['A-1.xml'].length, sha256: sha256(w.files['A-1.xml']) },
      { name: 'A-1.pdf', size: w.files['A-1.pdf'].length, sha256: sha256(w.files['A-1.pdf']) },
    ]);
    // The deleted order left no acuse in enviados/ (nor the order itself).
    expect(await readdir(path.join(w.dir, 'enviados'))).toEqual(['_CFD_MAIL_REQ_A1.XML', '_CFD_MAIL_REQ_A1.XML.acuse.json', '_CFD_MAIL_REQ_A1.XML.eml']);

    // In words: Spanish by default, English on request.
    const got = server.received.find((r) => r.messageId === '<proscai.A1@acme.example>')!;
    const es = await runCli(['acuse', 'A1', '--config', w.config]);
    expect(es.code).toBe(0);
    expect(es.stdout).toContain('Acuse de envío de la orden A1 (_CFD_MAIL_REQ_A1.XML)');
    expect(es.stdout).toContain('Intento 1 de 1: el servidor lo aceptó');
    expect(es.stdout).toContain(`Respuesta del servidor: ${got.reply}`);
    expect(es.stdout).toContain(`Mensaje: ${got.raw.length} bytes, SHA-256 ${sha256(got.raw)}`);
    expect(es.stdout).toMatch(/Servidor: 127\.0\.0\.1 puerto \d+, cifrado con TLS \(TLSv1\.[23]\)/);
    expect(es.stdout).toContain(`A-1.pdf — ${w.files['A-1.pdf'].length} bytes, SHA-256 ${sha256(w.files['A-1.pdf'])}`);
    const en = await runCli(['acuse', 'A1', '--language', 'en', '--config', w.config]);
    expect(en.code).toBe(0);
    expect(en.stdout).toContain('Proof of sending (acuse) of order A1');
    expect(en.stdout).toContain("Try 1 of 1: the server accepted it");
    expect(en.stdout).toContain(`Server's reply: ${got.reply}`);
  }, 60_000);

  it('killed after the server accepted and before archiving, then restarted: the acuse records both tries, same Message-ID, each with its own digest', async () => {
    const server = await queueingServer();
    const w = await world(server.port);
    const killed = await runCli(['once', '--config', w.config], { PROSCAI_MAILER_TEST_DIE_AFTER_SEND: 'A1' });
    expect(killed.code).not.toBe(0);
    // Not archived: the order is still claimed, and sent once.
    expect(existsSync(path.join(w.dir, 'enviados', '_CFD_MAIL_REQ_A1.XML'))).toBe(false);
    expect(server.received.filter((r) => r.messageId === '<proscai.A1@acme.example>')).toHaveLength(1);

    const restart = await runCli(['once', '--config', w.config]);
    expect(restart.code, restart.stderr).toBe(0);
    const copies = server.received.filter((r) => r.messageId === '<proscai.A1@acme.example>');
    expect(copies).toHaveLength(2);
    const record = await acuseJson(w.config, 'A1');
    expect(record.tries.map((t) => [t.outcome, t.messageId])).toEqual([
      ['accepted', '<proscai.A1@acme.example>'],
      ['accepted', '<proscai.A1@acme.example>'],
    ]);
    expect(record.tries.map((t) => t.message!.sha256)).toEqual(copies.map((c) => sha256(c.raw)));
    expect(record.tries.map((t) => t.response)).toEqual(copies.map((c) => c.reply));
    const es = await runCli(['acuse', 'A1', '--config', w.config]);
    expect(es.stdout).toContain('Intento 2 de 2: el servidor lo aceptó');
    expect(es.stdout).toContain('El servidor aceptó el mensaje 2 veces, siempre con el mismo Message-ID');
  }, 60_000);

  it('a company that signs with DKIM: the digest covers the DKIM-Signature header the server received', async () => {
    const server = await queueingServer();
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const keyDir = await makeTmpDir('proscai-dkim-');
    const keyFile = path.join(keyDir, 'mailer.pem');
    await writeFile(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const w = await world(server.port, {
      companies: {
        ACME: {
          smtp: { host: '127.0.0.1', port: server.port, security: 'STARTTLS', ca: CA_FILE },
          dkim: { domain: 'acme.example', selector: 'mailer', privateKeyFile: keyFile },
        },
      },
    });
    const sent = await runCli(['once', '--config', w.config]);
    expect(sent.code, sent.stderr).toBe(0);
    for (const id of ['A1', 'B2']) {
      const record = await acuseJson(w.config, id);
      const got = server.received.find((r) => r.messageId === record.messageId)!;
      expect(got.raw.toString('latin1'), id).toMatch(/^DKIM-Signature: .*d=acme\.example/m);
      expect(record.tries[0]!.message).toEqual({ size: got.raw.length, sha256: sha256(got.raw) });
    }
  }, 60_000);

  it('an order without an acuse: exit 1 with a sentence, in either language', async () => {
    const server = await queueingServer();
    const w = await world(server.port);
    const es = await runCli(['acuse', 'NOPE', '--config', w.config]);
    expect(es.code).toBe(1);
    expect(es.stdout).toBe('');
    expect(es.stderr).toContain('No hay acuse de envío de la orden «NOPE»');
    const en = await runCli(['acuse', 'NOPE', '--json', '--language', 'en', '--config', w.config]);
    expect(en.code).toBe(1);
    expect(en.stderr).toContain('There is no proof of sending (acuse) of order "NOPE"');
  }, 30_000);

  it('a record that cannot be written (its folder is a file): the order is still sent and archived, the log says acuse.missing', async () => {
    const server = await queueingServer();
    const w = await world(server.port);
    await mkdir(w.workDir, { recursive: true });
    await writeFile(path.join(w.workDir, 'acuses'), 'not a folder');
    const sent = await runCli(['once', '--config', w.config]);
    expect(sent.code, sent.stderr).toBe(0);
    expect(server.received).toHaveLength(2);
    expect(existsSync(path.join(w.dir, '_CFD_MAIL_REQ_B2.XML'))).toBe(false);
    const log = (await readFile(path.join(w.workDir, 'logs', 'mailer.log'), 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const missing = log.filter((l) => l.event === 'acuse.missing');
    expect(missing.map((l) => l.fileName)).toEqual(['_CFD_MAIL_REQ_B2.XML']);
    expect(missing[0]!.level).toBe(50); // error
    // The other order's acuse (beside it in enviados/) was written as usual.
    expect((await acuseJson(w.config, 'A1')).tries).toHaveLength(1);
  }, 60_000);
});
