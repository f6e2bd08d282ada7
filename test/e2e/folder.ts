/**
 * An order folder laid out as the ERP leaves it: the three shared samples
 * (pointed at a test SMTP server's port) and their attachments.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeTmpDir } from '../helpers/tmp.js';

const SAMPLES = fileURLToPath(new URL('../fixtures/orders/samples/', import.meta.url));

export const SAMPLE_INVOICE = '_CFD_MAIL_REQ_0042_20261127093015.XML';
export const SAMPLE_HTML = '_CFD_MAIL_REQ_0107_20261127101500.XML';
export const SAMPLE_NO_RECIPIENT = '_CFD_MAIL_REQ_0107_20261127101612.XML';

export interface SampleFolder {
  dir: string;
  /** Attachment bytes by relative path, to compare with what arrived. */
  files: Record<string, Buffer>;
}

/** Copies a sample, replacing its SMTP port (the bytes stay otherwise untouched, e.g. windows-1252). */
export async function copySample(name: string, dir: string, port: number, as = name): Promise<void> {
  const bytes = await readFile(path.join(SAMPLES, name));
  const text = bytes.toString('latin1').replace('<Puerto>2525</Puerto>', `<Puerto>${port}</Puerto>`);
  await writeFile(path.join(dir, as), Buffer.from(text, 'latin1'));
}

export async function makeSampleFolder(port: number, samples = [SAMPLE_INVOICE, SAMPLE_HTML, SAMPLE_NO_RECIPIENT]): Promise<SampleFolder> {
  const dir = await makeTmpDir('proscai-e2e-');
  const files: Record<string, Buffer> = {
    // A CFDI keeps its UTF-8 BOM: the bytes must arrive unchanged.
    'C00017/F-20931.xml': Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('<?xml version="1.0" encoding="UTF-8"?><cfdi:Comprobante Total="1160.00"/>')]),
    // Over INLINE_ATTACHMENT_MAX (256 KB): streamed from its path by the SMTP worker;
    // the other attachments are small enough to be handed over as bytes. Both must arrive unchanged.
    'C00017/F-20931.pdf': Buffer.concat([Buffer.from('%PDF-1.4\n'), randomBytes(300 * 1024)]),
    'pedidos/P-5521.pdf': Buffer.concat([Buffer.from('%PDF-1.4\n'), randomBytes(20 * 1024)]),
    'estados/ALMGAR-2026-11.pdf': Buffer.concat([Buffer.from('%PDF-1.4\n'), randomBytes(10 * 1024)]),
  };
  for (const [rel, bytes] of Object.entries(files)) {
    await mkdir(path.join(dir, path.dirname(rel)), { recursive: true });
    await writeFile(path.join(dir, rel), bytes);
  }
  for (const sample of samples) await copySample(sample, dir, port);
  return { dir, files };
}

/** A minimal valid UTF-8 order. */
export function simpleOrder(opts: {
  port: number;
  to?: string;
  company?: string;
  subject?: string;
  extra?: string;
  attachments?: string[];
}): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<OrdenEnvio>
  <Empresa>${opts.company ?? 'ACME'}</Empresa>
  <SMTP><Servidor>127.0.0.1</Servidor><Puerto>${opts.port}</Puerto><Seguridad>NINGUNA</Seguridad></SMTP>
  <Remitente>facturas@acme.example</Remitente>
  <Para>${opts.to ?? 'cliente@example.com'}</Para>
  <Asunto>${opts.subject ?? 'Factura'}</Asunto>
  <Cuerpo>Adjuntamos su CFDI.</Cuerpo>
  <Adjuntos>${(opts.attachments ?? []).map((a) => `<Archivo>${a}</Archivo>`).join('')}</Adjuntos>
  ${opts.extra ?? ''}
</OrdenEnvio>
`;
}
