/**
 * The acuse's facts of a send (io/smtp/proof.ts through the pools): the size
 * and SHA-256 of the bytes a real smtp-server received after DATA (DKIM
 * signature included), the TLS state and protocol of the connection that
 * carried them, and each attachment's digest; through the worker threads too.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';

import type { SendMailOptions } from 'nodemailer';
import { describe, expect, it } from 'vitest';

import { createTransportPool } from '../../../src/io/smtp/pool.js';
import { createThreadedTransportPool } from '../../../src/io/smtp/threads.js';
import type { TransportPool, TransportPoolOptions } from '../../../src/io/smtp/transport-pool.js';
import { afterThisTest, scopedSink as sink } from '../../helpers/scoped.js';
import { sourceWorker } from '../../helpers/source-worker.js';
import { makeTmpDir } from '../../helpers/tmp.js';
import { makeSmtp } from './send-fixtures.js';

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

function pool(options: TransportPoolOptions = {}): TransportPool {
  const p = createTransportPool(options);
  afterThisTest(() => p.closeAll());
  return p;
}

/** A CFDI-like attachment in memory and a larger one read from its file at send time. */
async function message(extra: Partial<SendMailOptions> = {}): Promise<{ message: SendMailOptions; files: { name: string; bytes: Buffer }[] }> {
  const dir = await makeTmpDir('proof-');
  const xml = Buffer.from('\uFEFF<?xml version="1.0"?><cfdi:Comprobante Total="1160.00"/>\r\n', 'utf8');
  const pdf = Buffer.alloc(300_000);
  for (let i = 0; i < pdf.length; i++) pdf[i] = (i * 31) % 256;
  const pdfPath = path.join(dir, 'factura.pdf');
  await writeFile(pdfPath, pdf);
  return {
    message: {
      from: 'facturas@acme.example',
      to: ['pagos@cliente.example'],
      subject: 'Factura A-1234 añadida',
      messageId: '<proscai.0042@acme.example>',
      text: 'Estimado cliente: adjuntamos su CFDI.\r\n.\r\nUna línea con punto.',
      attachments: [
        { filename: 'A-1234.xml', content: xml, contentType: 'text/xml', contentTransferEncoding: 'base64' },
        { filename: 'A-1234.pdf', path: pdfPath, contentType: 'application/pdf', contentTransferEncoding: 'base64' },
      ],
      ...extra,
    },
    files: [
      { name: 'A-1234.xml', bytes: xml },
      { name: 'A-1234.pdf', bytes: pdf },
    ],
  };
}

describe('the proof of a send', () => {
  it('plain: size and SHA-256 of what the server received, the server, no TLS, each attachment digested', async () => {
    const s = await sink();
    const { message: m, files } = await message();
    const info = await pool().send(makeSmtp(s.port), 'ACME', 1, m);
    const [received] = await s.waitForMessages(1);
    const proof = info.proof!;
    expect(proof.sha256).toBe(sha256(received!.raw));
    expect(proof.size).toBe(received!.raw.length);
    expect(proof.tls).toEqual({ used: false, protocol: null });
    expect(proof.server).toEqual({ host: '127.0.0.1', port: s.port });
    expect(proof.envelopeFrom).toBe('facturas@acme.example');
    expect(proof.attachments).toEqual(files.map((f) => ({ name: f.name, size: f.bytes.length, sha256: sha256(f.bytes) })));
    expect(proof.eml).toBeUndefined();
    expect(proof.acceptedAt).toBeLessThanOrEqual(Date.now());
  });

  it('STARTTLS: the connection that sent it was upgraded, with its protocol', async () => {
    const s = await sink({ tls: 'starttls' });
    const { message: m } = await message();
    const info = await pool().send(makeSmtp(s.port, { security: 'STARTTLS', rejectUnauthorized: false }), 'ACME', 1, m);
    const [received] = await s.waitForMessages(1);
    expect(received!.secure).toBe(true);
    expect(info.proof!.tls.used).toBe(true);
    expect(info.proof!.tls.protocol).toMatch(/^TLSv1\.[23]$/);
    expect(info.proof!.sha256).toBe(sha256(received!.raw));
  });

  it('implicit TLS (SSL) is TLS too; STARTTLS offered but ignored (NINGUNA) is not', async () => {
    const implicit = await sink({ tls: 'implicit' });
    const p = pool();
    const a = await p.send(makeSmtp(implicit.port, { security: 'SSL', rejectUnauthorized: false }), 'ACME', 1, (await message()).message);
    expect(a.proof!.tls.used).toBe(true);
    expect(a.proof!.tls.protocol).toMatch(/^TLSv1\.[23]$/);
    const offered = await sink({ tls: 'starttls' });
    const b = await p.send(makeSmtp(offered.port, { security: 'NINGUNA' }), 'ACME', 1, (await message()).message);
    expect((await offered.waitForMessages(1))[0]!.secure).toBe(false);
    expect(b.proof!.tls).toEqual({ used: false, protocol: null });
  });

  it('a DKIM-signed message: the digest covers the DKIM-Signature header the server received', async () => {
    const s = await sink();
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const dkim = { domainName: 'acme.example', keySelector: 'mailer', privateKey: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString() };
    const { message: m } = await message({ dkim });
    const info = await pool().send(makeSmtp(s.port), 'ACME', 1, m);
    const [received] = await s.waitForMessages(1);
    expect(received!.raw.toString('latin1')).toMatch(/^DKIM-Signature: /m);
    expect(info.proof!.sha256).toBe(sha256(received!.raw));
    expect(info.proof!.size).toBe(received!.raw.length);
  });

  it('keepMessage: the exact bytes sent come back with the proof', async () => {
    const s = await sink();
    const { message: m } = await message();
    const info = await pool({ keepMessage: true }).send(makeSmtp(s.port), 'ACME', 1, m);
    const [received] = await s.waitForMessages(1);
    expect(Buffer.from(info.proof!.eml!).equals(received!.raw)).toBe(true);
  });

  it('through the worker threads: the proof and the kept bytes cross to the main thread', async () => {
    const s = await sink({ tls: 'starttls' });
    const p = createThreadedTransportPool({ worker: sourceWorker('io/smtp/worker.ts'), keepMessage: true });
    afterThisTest(() => p.closeAll());
    const { message: m, files } = await message();
    const info = await p.send(makeSmtp(s.port, { security: 'STARTTLS', rejectUnauthorized: false }), 'ACME', 2, m);
    const [received] = await s.waitForMessages(1);
    expect(info.proof!.sha256).toBe(sha256(received!.raw));
    expect(info.proof!.tls.used).toBe(true);
    expect(info.proof!.attachments.map((a) => a.sha256)).toEqual(files.map((f) => sha256(f.bytes)));
    expect(Buffer.from(info.proof!.eml!).equals(received!.raw)).toBe(true);
  });
});
