/**
 * Order folders for the benchmark: the attachments (a 30 KB CFDI-like XML
 * and a 100 KB PDF-like binary, written once per folder and shared by every
 * order) and the order files themselves, written synchronously in a loop
 * before any clock starts.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Attachment sizes: `large` is what the spec's throughput target is about; `small` only for memory runs when asked. */
export const ATTACHMENT_SIZES = {
  large: { xml: 30 * 1024, pdf: 100 * 1024 },
  small: { xml: 1024, pdf: 2 * 1024 },
};

/** Paths as the ERP writes them (Windows separators, relative to the attachment folder = the order folder). */
export const ATTACHMENT_REFS = ['adjuntos\\F-BENCH.xml', 'adjuntos\\F-BENCH.pdf'];

/** An XML document of exactly `size` bytes. */
function xmlOfSize(size) {
  const head = '<?xml version="1.0" encoding="UTF-8"?>\n<cfdi:Comprobante Total="1160.00">\n';
  const tail = '</cfdi:Comprobante>\n';
  const line = '  <cfdi:Concepto Descripcion="Servicio de prueba" Importe="1000.00"/>\n';
  let body = '';
  while (head.length + body.length + line.length + tail.length <= size) body += line;
  body += ' '.repeat(size - head.length - body.length - tail.length);
  return Buffer.from(head + body + tail);
}

/**
 * Writes the two attachments under `<dir>/adjuntos/`.
 * @param {string} dir
 * @param {'large'|'small'} kind
 * @returns {{ xml: string, pdf: string }} their absolute paths
 */
export function writeAttachments(dir, kind = 'large') {
  const sizes = ATTACHMENT_SIZES[kind];
  const folder = path.join(dir, 'adjuntos');
  mkdirSync(folder, { recursive: true });
  const xml = path.join(folder, 'F-BENCH.xml');
  const pdf = path.join(folder, 'F-BENCH.pdf');
  writeFileSync(xml, xmlOfSize(sizes.xml));
  const header = Buffer.from('%PDF-1.4\n');
  writeFileSync(pdf, Buffer.concat([header, randomBytes(sizes.pdf - header.length)]));
  return { xml, pdf };
}

/** The order file name of the n-th benchmark order. */
export function orderName(n) {
  return `_CFD_MAIL_REQ_BENCH_${String(n).padStart(6, '0')}.XML`;
}

/** A valid UTF-8 order for the sink on `port` with the two shared attachments. */
export function orderXml(port, n) {
  return `<?xml version="1.0" encoding="UTF-8"?>
<OrdenEnvio>
  <Empresa>ACME</Empresa>
  <SMTP><Servidor>127.0.0.1</Servidor><Puerto>${port}</Puerto><Seguridad>NINGUNA</Seguridad></SMTP>
  <Remitente>Facturación ACME &lt;facturas@acme.example&gt;</Remitente>
  <Para>pagos@cliente.example</Para>
  <Asunto>Factura B-${n}</Asunto>
  <Cuerpo>Adjuntamos su CFDI.</Cuerpo>
  <Adjuntos>${ATTACHMENT_REFS.map((a) => `<Archivo>${a}</Archivo>`).join('')}</Adjuntos>
</OrdenEnvio>
`;
}

/**
 * Makes `<root>/<name>/` with the attachments and `count` orders waiting in it.
 * @returns {{ dir: string, attachments: { xml: string, pdf: string } }}
 */
export function makeOrderFolder(root, name, { port, count, kind = 'large' }) {
  const dir = path.join(root, name);
  mkdirSync(dir, { recursive: true });
  const attachments = writeAttachments(dir, kind);
  for (let n = 1; n <= count; n++) writeFileSync(path.join(dir, orderName(n)), orderXml(port, n));
  return { dir, attachments };
}
