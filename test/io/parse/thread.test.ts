/**
 * io/parse/thread.ts: large orders are parsed in a worker thread, with the
 * same result as here; an order whose reading exhausts the worker's memory
 * or time is refused with ORDER_TOO_COMPLEX while the mailer (this process)
 * goes on, and the next order gets a new worker.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createParseThread, OFFLOAD_BYTES, type ParseThread } from '../../../src/io/parse/thread.js';
import { parseOrder } from '../../../src/order/parse.js';
import { sourceWorker } from '../../helpers/source-worker.js';

const order = (inner = '', extra = '') =>
  Buffer.from(`<?xml version="1.0" encoding="UTF-8"?><OrdenEnvio><Empresa>ACME</Empresa><Para>a@b.mx</Para><Asunto>Hola</Asunto><Cuerpo>${inner}</Cuerpo>${extra}</OrdenEnvio>`);
const big = () => order('texto '.repeat(OFFLOAD_BYTES / 3));

/** Worker code (evaluated) answering every request with a refusal. */
const REFUSING_WORKER = `const { parentPort } = require('node:worker_threads');
parentPort.on('message', ({ id, fileName }) => parentPort.postMessage({ id, result: { ok: false, errors: [{ code: 'INTERNAL', message: 'from the worker' }], partial: { id: 'x', fileName } } }));`;

/** Worker code (evaluated) that allocates without end on an order named POISON and accepts the others. */
const GREEDY_WORKER = `const { parentPort } = require('node:worker_threads');
parentPort.on('message', ({ id, fileName }) => {
  if (fileName.includes('POISON')) { const hoard = []; for (;;) hoard.push({ fileName, n: hoard.length, s: 'x' + hoard.length }); }
  parentPort.postMessage({ id, result: { ok: true, order: { id: 'ok' }, warnings: [] } });
});`;

/** The real worker, from the sources. */
const PARSE_WORKER = sourceWorker('io/parse/worker.ts');

let thread: ParseThread | undefined;
afterEach(async () => {
  await thread?.close();
  thread = undefined;
});

describe('parse thread', () => {
  it('parses a large order in the worker with the same result as here, errors included', async () => {
    thread = createParseThread({ entry: PARSE_WORKER });
    const bytes = big();
    expect(bytes.length).toBeGreaterThanOrEqual(OFFLOAD_BYTES);
    expect(await thread.parse(bytes, '_CFD_MAIL_REQ_1.XML')).toEqual(parseOrder(bytes, '_CFD_MAIL_REQ_1.XML'));
    const refused = await thread.parseIsolated(order('x', '<Para>otra@b.mx</Para>'), '_CFD_MAIL_REQ_2.XML');
    expect(refused.ok).toBe(false);
    if (refused.ok) return;
    expect(refused.errors.map((e) => [e.code, e.field])).toEqual([['ORDER_FIELD_INVALID', 'Para']]);
    expect(refused.errors[0]!.toJSON).toBeTypeOf('function'); // MailerErrors again, not plain objects
  });

  it('parses small orders here, without starting a worker', async () => {
    // A worker that would answer every order with a refusal: a small order must never reach it.
    thread = createParseThread({ entry: { url: REFUSING_WORKER, eval: true } });
    expect((await thread.parse(order('hola'), '_CFD_MAIL_REQ_3.XML')).ok).toBe(true);
    expect((await thread.parseIsolated(order('hola'), '_CFD_MAIL_REQ_3.XML')).ok).toBe(false);
  });

  it('refuses an order whose reading exhausts the worker heap with ORDER_TOO_COMPLEX, and reads the next one in a new worker', async () => {
    // A worker that runs out of memory on the order named POISON and reads the others.
    thread = createParseThread({ entry: { url: GREEDY_WORKER, eval: true }, resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 } });
    const result = await thread.parseIsolated(order('x'), '_CFD_MAIL_REQ_POISON.XML');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.map((e) => e.code)).toEqual(['ORDER_TOO_COMPLEX']);
    expect(result.errors[0]!.message).toContain('more memory than the heap holds');
    expect(result.partial).toEqual({ id: 'POISON', fileName: '_CFD_MAIL_REQ_POISON.XML' });
    expect((await thread.parseIsolated(order('hola'), '_CFD_MAIL_REQ_5.XML')).ok).toBe(true);
  });

  it('refuses an order whose reading takes longer than the time allowed, and goes on with the next in a new worker', async () => {
    thread = createParseThread({ entry: PARSE_WORKER, timeoutMs: 1 });
    const slow = thread.parseIsolated(big(), '_CFD_MAIL_REQ_6.XML');
    const result = await slow;
    expect(!result.ok && result.errors.map((e) => [e.code, e.message.includes('took more than')])).toEqual([['ORDER_TOO_COMPLEX', true]]);
    await thread.close();
    thread = createParseThread({ entry: PARSE_WORKER, timeoutMs: 30_000 });
    expect((await thread.parseIsolated(big(), '_CFD_MAIL_REQ_7.XML')).ok).toBe(true);
  });

  it('reads the order here when the worker cannot run at all (no reason to refuse the order)', async () => {
    thread = createParseThread({ entry: { url: 'process.exit(3)', eval: true } });
    const bytes = big();
    expect(await thread.parseIsolated(bytes, '_CFD_MAIL_REQ_8.XML')).toEqual(parseOrder(bytes, '_CFD_MAIL_REQ_8.XML'));
  });
});
