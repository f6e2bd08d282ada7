import { randomBytes } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { ErrorCodes, MailerError } from '../../../src/errors.js';
import { connectionsOfWorker, createThreadedTransportPool, defaultWorkers, type ThreadedPoolOptions } from '../../../src/io/smtp/threads.js';
import type { TransportPool } from '../../../src/io/smtp/transport-pool.js';
import { afterThisTest, mailerFailure as failure, scopedSink as sink } from '../../helpers/scoped.js';
import { sourceWorker } from '../../helpers/source-worker.js';
import { makeTmpDir } from '../../helpers/tmp.js';
import { makeSmtp } from './send-fixtures.js';

/** The real worker, from the sources. */
const SMTP_WORKER = sourceWorker('io/smtp/worker.ts');

function pool(options: ThreadedPoolOptions = {}): TransportPool {
  const p = createThreadedTransportPool({ worker: SMTP_WORKER, ...options });
  afterThisTest(() => p.closeAll());
  return p;
}

const fixtureWorker = (name: string) => ({ url: new URL(`../../fixtures/workers/${name}`, import.meta.url) });

const message = (n: number, to = ['pagos@cliente.example']) => ({
  from: { name: 'Facturación ACME', address: 'facturas@acme.example' },
  to,
  subject: `Factura ${n}`,
  messageId: `<proscai.T${n}@acme.example>`,
  headers: { 'X-Proscai-Order': `T${n}` },
  text: 'Adjuntamos su CFDI.',
});

describe('createThreadedTransportPool (nodemailer in a worker thread) against a real SMTP server', () => {
  it('sends through the worker and returns what the server said, recipient by recipient', async () => {
    const s = await sink({ rejectRecipients: [{ address: 'nadie@cliente.example', code: 550, message: 'No such user' }] });
    const p = pool();
    const info = await p.send(makeSmtp(s.port), 'ACME', 2, message(1, ['pagos@cliente.example', 'nadie@cliente.example']));
    expect(info.messageId).toBe('<proscai.T1@acme.example>');
    expect(info.accepted).toEqual(['pagos@cliente.example']);
    expect(info.rejected).toEqual(['nadie@cliente.example']);
    expect(info.rejectedErrors?.map((e) => [e.recipient, e.response])).toEqual([['nadie@cliente.example', '550 No such user']]);
    expect(info.response).toMatch(/^250 /);
    const [received] = await s.waitForMessages(1);
    expect(received!.parsed.subject).toBe('Factura 1');
    expect(received!.parsed.headers.get('x-proscai-order')).toBe('T1');
    expect(p.size()).toBe(1);
  });

  it('carries many sends at once over the lane\'s connections, each answered once', async () => {
    const s = await sink();
    const p = pool();
    const infos = await Promise.all(Array.from({ length: 40 }, (_, i) => p.send(makeSmtp(s.port), 'ACME', 2, message(i))));
    expect(new Set(infos.map((i) => i.messageId)).size).toBe(40);
    expect(s.messages).toHaveLength(40);
    expect(s.connectionCount()).toBeLessThanOrEqual(2);
  });

  it('with two workers a lane\'s connections are split between them, never more than its maxConnections in all', async () => {
    const s = await sink();
    const two = pool({ workers: 2 });
    const infos = await Promise.all(Array.from({ length: 30 }, (_, i) => two.send(makeSmtp(s.port), 'ACME', 2, message(300 + i))));
    expect(new Set(infos.map((i) => i.messageId)).size).toBe(30);
    expect(s.connectionCount()).toBeLessThanOrEqual(2);

    const s1 = await sink();
    const single = pool({ workers: 2 });
    await Promise.all(Array.from({ length: 20 }, (_, i) => single.send(makeSmtp(s1.port), 'UNA', 1, message(400 + i))));
    expect(s1.messages).toHaveLength(20);
    expect(s1.connectionCount()).toBe(1);
  });

  it('rejects with the same MailerError codes as the in-process pool, password never in the message', async () => {
    const s = await sink({ auth: { user: 'facturas', pass: 'correcta' } });
    const p = pool();
    const err = await failure(p.send(makeSmtp(s.port, { user: 'facturas', password: 'S3creta-mala' }), 'ACME', 1, message(2)));
    expect(err.code).toBe(ErrorCodes.SMTP_AUTH);
    expect(err.smtp?.responseCode).toBe(535);
    expect(JSON.stringify(err.toJSON())).not.toContain('S3creta-mala');

    const refused = await failure(p.send(makeSmtp(1), 'OTRA', 1, message(3)));
    expect(refused.code).toBe(ErrorCodes.SMTP_CONNECTION);
  });

  it('closeAll resolves only after the sends in flight settled, stops the worker, and a later send starts a new one', async () => {
    const s = await sink();
    const p = pool();
    await p.send(makeSmtp(s.port), 'ACME', 1, message(3));
    const events: string[] = [];
    const inFlight = p.send(makeSmtp(s.port), 'ACME', 1, message(4)).then(
      () => events.push('sent'),
      (e: unknown) => events.push(`failed ${(e as MailerError).code}`),
    );
    await p.closeAll();
    events.push('closed');
    await inFlight;
    // Sent, and before closeAll resolved: a message still queued for its connection is not failed by the close.
    expect(events).toEqual(['sent', 'closed']);
    expect(p.size()).toBe(0);
    await p.send(makeSmtp(s.port), 'ACME', 1, message(5));
    const subjects = s.messages.map((m) => m.parsed.subject);
    expect(subjects).toEqual(['Factura 3', 'Factura 4', 'Factura 5']);
  });

  it('a send posted while the pool is closing is not cut short: closeAll waits for it too', async () => {
    const s = await sink();
    const p = pool();
    await p.send(makeSmtp(s.port), 'ACME', 1, message(10));
    const closing = p.closeAll();
    // A failure notification flushed at shutdown, sent through another lane's transport.
    const late = p.send(makeSmtp(s.port), 'AVISOS', 1, message(11)).then(
      (info) => info.messageId,
      (e: unknown) => `failed: ${(e as Error).message}`,
    );
    await closing;
    expect(await late).toBe('<proscai.T11@acme.example>');
    expect(s.messages.map((m) => m.parsed.subject)).toEqual(['Factura 10', 'Factura 11']);
    expect(p.size()).toBe(0);
  });

  it('a send started while the old worker is being stopped goes to a new worker and is not failed by the old one\'s exit', async () => {
    const s = await sink();
    const p = pool();
    for (let round = 0; round < 5; round++) {
      await p.send(makeSmtp(s.port), 'ACME', 1, message(100 + round));
      const closing = p.closeAll();
      // The close was answered and the old worker is being terminated once the pool forgot its transports.
      while (p.size() > 0) await new Promise((r) => setImmediate(r));
      const late = p.send(makeSmtp(s.port), 'AVISOS', 1, message(200 + round)).then(
        (info) => info.messageId,
        (e: unknown) => `failed: ${(e as Error).message}`,
      );
      await closing;
      expect(await late).toBe(`<proscai.T${200 + round}@acme.example>`);
    }
  });

  it('a worker that dies fails the sends it held with SMTP_CONNECTION (retried), and the next send gets a new worker', async () => {
    const s = await sink();
    const dying = pool({ worker: fixtureWorker('exit-on-send.mjs') });
    const err = await failure(dying.send(makeSmtp(s.port), 'ACME', 1, message(6)));
    expect(err.code).toBe(ErrorCodes.SMTP_CONNECTION);
    expect(err.message).toMatch(/exit 7/);
    // The failed worker is replaced: with the real worker module the pool recovers.
    const p = pool();
    await p.send(makeSmtp(s.port), 'ACME', 1, message(7));
    const again = await failure(dying.send(makeSmtp(s.port), 'ACME', 1, message(8)));
    expect(again.code).toBe(ErrorCodes.SMTP_CONNECTION);
  });

  it('a worker that dies forgets only its own transports: size() still counts those of the other worker', async () => {
    const p = createThreadedTransportPool({ workers: 2, worker: fixtureWorker('exit-on-lane.mjs') });
    afterThisTest(() => p.closeAll());
    // Two sends at once on a 2-connection lane: one in each worker, so both hold a transport for it.
    await Promise.all([p.send(makeSmtp(2525), 'OTRA', 2, message(20)), p.send(makeSmtp(2525), 'OTRA', 2, message(21))]);
    expect(p.size()).toBe(1);
    // A 1-connection lane uses the first worker only; that worker dies on it.
    expect((await failure(p.send(makeSmtp(2525), 'DIES', 1, message(22)))).code).toBe(ErrorCodes.SMTP_CONNECTION);
    expect(p.size()).toBe(1);
  });

  it('a worker that never answers does not hold the order for ever: SMTP_TIMEOUT after the send bound plus grace', async () => {
    const p = pool({ worker: fixtureWorker('never-answers.mjs'), timeoutMs: 200, graceMs: 300 });
    const started = Date.now();
    const err = await failure(p.send(makeSmtp(2525), 'ACME', 1, message(9)));
    const took = Date.now() - started;
    expect(err.code).toBe(ErrorCodes.SMTP_TIMEOUT);
    expect(took).toBeGreaterThanOrEqual(450);
    expect(took).toBeLessThan(5_000);
  });
});

describe('the worker\'s heap limits (WORKER_LIMITS)', () => {
  it('leave room for its working set: invoice-sized sends run without one full collection after another', async () => {
    // Without node's --max-old-space-size (a plain `npx proscai-mailer run`),
    // WORKER_LIMITS is the worker's whole heap. At 12 MB of old generation it
    // ran ~0.3 full collections per message with these attachments (628 for
    // 2,000 in the benchmark), which halved throughput; at 48 MB, 4 for 2,000.
    const s = await sink();
    const dir = await makeTmpDir();
    afterThisTest(() => rm(dir, { recursive: true, force: true }));
    const gcCountFile = path.join(dir, 'major-gcs');
    const p = pool({ worker: fixtureWorker('counting-gc.mjs'), ...({ gcCountFile } as object) });
    const pdf = randomBytes(100 * 1024);
    const xml = Buffer.from(`<cfdi>${'x'.repeat(30 * 1024)}</cfdi>`);
    const withInvoice = (n: number) => ({
      ...message(n),
      attachments: [
        { filename: `F-${n}.xml`, content: xml },
        { filename: `F-${n}.pdf`, content: pdf },
      ],
    });
    const sends = 150;
    for (let n = 0; n < sends; n += 10) {
      await Promise.all(Array.from({ length: 10 }, (_, i) => p.send(makeSmtp(s.port), 'ACME', 2, withInvoice(n + i))));
    }
    expect(s.messages).toHaveLength(sends);
    await p.closeAll();
    const majors = Number(await readFile(gcCountFile, 'utf8').catch(() => '0'));
    expect(majors).toBeLessThan(sends / 15);
  });
});

describe('warmUp', () => {
  it('starts the worker ahead of the first send, and an idle warmed-up pool never keeps the process alive', async () => {
    const { execFile } = await import('node:child_process');
    const dist = new URL('../../../dist/io/smtp/threads.js', import.meta.url).href;
    // A process that only warms the pool up must exit on its own (the worker is unref'd).
    const script = `const { createThreadedTransportPool } = await import(${JSON.stringify(dist)});
      const p = createThreadedTransportPool(); p.warmUp(); p.warmUp();
      setTimeout(() => console.log('warmed'), 300);`;
    const started = Date.now();
    const out = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ['--input-type=module', '-e', script], { timeout: 10_000 }, (err, stdout) =>
        err ? reject(err) : resolve(stdout),
      );
    });
    expect(out.trim()).toBe('warmed');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('a warmed-up pool sends as usual', async () => {
    const s = await sink();
    const p = createThreadedTransportPool({ worker: SMTP_WORKER });
    afterThisTest(() => p.closeAll());
    p.warmUp();
    await p.send(makeSmtp(s.port), 'ACME', 1, message(12));
    expect(s.messages.map((m) => m.parsed.subject)).toEqual(['Factura 12']);
  });
});

describe('defaultWorkers', () => {
  it('is one worker on one or two cores (the main thread needs the other), two from three cores on', () => {
    expect([1, 2, 3, 4, 16].map((cores) => defaultWorkers(cores))).toEqual([1, 1, 2, 2, 2]);
  });
});

describe('connectionsOfWorker', () => {
  it('splits a lane\'s connections so that they add up to exactly its maxConnections', () => {
    for (const m of [1, 2, 3, 5, 8]) {
      for (const n of [1, 2, 3]) {
        const usable = Math.min(n, m);
        const split = Array.from({ length: usable }, (_, i) => connectionsOfWorker(m, usable, i));
        expect(split.reduce((a, b) => a + b, 0)).toBe(m);
        expect(Math.min(...split)).toBeGreaterThanOrEqual(1);
      }
    }
    expect([0, 1].map((i) => connectionsOfWorker(2, 2, i))).toEqual([1, 1]);
    expect([0, 1].map((i) => connectionsOfWorker(3, 2, i))).toEqual([2, 1]);
  });
});
