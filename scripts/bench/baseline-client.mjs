/**
 * The baseline, run as its own process like the CLI is: the same messages
 * the mailer composes for the benchmark orders (same headers, same two
 * attachments streamed from the same files, base64) handed straight to a
 * nodemailer pool with 2 connections. No order files, no parsing, no
 * state machines, no archiving: what "just sending" costs on this machine.
 *
 * Usage: node baseline-client.mjs <port> <count> <xml path> <pdf path> [maxConnections]
 */
import nodemailer from 'nodemailer';

const [port, count, xml, pdf, maxConnections = '2'] = process.argv.slice(2);

const transport = nodemailer.createTransport({
  pool: true,
  host: '127.0.0.1',
  port: Number(port),
  secure: false,
  ignoreTLS: true,
  maxConnections: Number(maxConnections),
  maxMessages: Number.MAX_SAFE_INTEGER,
  logger: false,
  debug: false,
});

function message(n) {
  return {
    from: { name: 'Facturación ACME', address: 'facturas@acme.example' },
    to: ['pagos@cliente.example'],
    subject: `Factura B-${n}`,
    messageId: `<proscai.BENCH_${n}@acme.example>`,
    headers: { 'X-Proscai-Order': `BENCH_${n}` },
    text: 'Adjuntamos su CFDI.',
    attachments: [
      { filename: 'F-BENCH.xml', path: xml, contentType: 'application/xml', contentTransferEncoding: 'base64', contentDisposition: 'attachment' },
      { filename: 'F-BENCH.pdf', path: pdf, contentType: 'application/pdf', contentTransferEncoding: 'base64', contentDisposition: 'attachment' },
    ],
    disableUrlAccess: true,
  };
}

const sends = [];
for (let n = 1; n <= Number(count); n++) sends.push(transport.sendMail(message(n)));
const results = await Promise.allSettled(sends);
transport.close();
const failed = results.filter((r) => r.status === 'rejected');
if (failed.length > 0) {
  process.stderr.write(`baseline: ${failed.length} sends failed, first: ${failed[0].reason?.message}\n`);
  process.exitCode = 1;
}
