/**
 * The acuse book (io/store/acuse.ts) on real temp folders: a try is on record
 * (outcome unknown) before the message is handed over, so a process that
 * ends meanwhile leaves it and the next try is added beside it; a failed try
 * is taken out again; writes that fail are reported, never thrown; the work
 * area's records are pruned after the log's retention, those in enviados/
 * never; the lookup finds a record by id ignoring case.
 */
import { mkdir, readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { createAcuseBook, findAcuses, type AcuseStep } from '../../../src/io/store/acuse.js';
import type { AcuseOrder, AcuseRecord } from '../../../src/order/acuse.js';
import type { SendResult } from '../../../src/ports.js';
import { makeTmpDir, removeTmpDirs } from '../../helpers/tmp.js';
import { makeOrder, makeSmtp } from '../smtp/send-fixtures.js';

afterAll(removeTmpDirs);

function acuseOrder(afterSend: 'CONSERVAR' | 'ELIMINAR' = 'ELIMINAR', id = '0042'): AcuseOrder {
  const order = makeOrder({ id });
  return {
    resolved: {
      order,
      company: 'ACME',
      smtp: makeSmtp(2525, { host: 'smtp.acme.example' }),
      from: { name: '', address: 'facturas@acme.example' },
      afterSend,
      logSuccess: false,
      errorMail: [],
      messageId: `<proscai.${id}@acme.example>`,
    },
    detectedAt: Date.parse('2026-12-03T10:00:00Z'),
  };
}

const result: SendResult = {
  messageId: '<proscai.0042@acme.example>',
  accepted: ['pagos@cliente.example'],
  rejected: [],
  response: '250 2.0.0 Ok: queued as 4QXZ7',
  proof: {
    size: 1234,
    sha256: 'a'.repeat(64),
    acceptedAt: Date.parse('2026-12-03T10:00:05Z'),
    server: { host: 'smtp.acme.example', port: 2525 },
    tls: { used: true, protocol: 'TLSv1.3' },
    envelopeFrom: 'facturas@acme.example',
    attachments: [],
    eml: Buffer.from('Subject: x\r\n\r\nhola\r\n'),
  },
};

async function folders() {
  const dir = await makeTmpDir('proscai-acuse-book-');
  return { dir, workDir: path.join(dir, '.proscai-mailer') };
}

function book(where: { dir: string; workDir: string }, extra: { keepEml?: boolean; now?: () => number } = {}) {
  const problems: { step: AcuseStep; fileName: string }[] = [];
  const b = createAcuseBook({ ...where, keepEml: extra.keepEml ?? false, keepDays: 30, onProblem: (step, fileName) => problems.push({ step, fileName }), ...(extra.now && { now: extra.now }) });
  return { book: b, problems };
}

const recordAt = async (file: string): Promise<AcuseRecord> => JSON.parse(await readFile(file, 'utf8')) as AcuseRecord;

describe('the acuse book', () => {
  it('a try is on record before sending; a process that ended then leaves it "unknown", and the re-send is added beside it', async () => {
    const where = await folders();
    const file = path.join(where.workDir, 'acuses', '_CFD_MAIL_REQ_0042.XML.acuse.json');
    let clock = Date.parse('2026-12-03T10:00:01Z');
    const first = book(where, { now: () => clock });
    await first.book.begin(acuseOrder());
    expect((await recordAt(file)).tries).toEqual([
      { outcome: 'unknown', startedAt: '2026-12-03T10:00:01.000Z', messageId: '<proscai.0042@acme.example>', server: { host: 'smtp.acme.example', port: 2525 } },
    ]);
    // The process ended there. The next one sends again.
    clock += 60_000;
    const second = book(where, { now: () => clock });
    const startedAt = await second.book.begin(acuseOrder());
    expect(await second.book.accepted(acuseOrder(), startedAt, result)).toBe(true);
    const record = await recordAt(file);
    expect(record).toMatchObject({ kind: 'proscai-mailer/acuse', orderId: '0042', company: 'ACME', detectedAt: '2026-12-03T10:00:00.000Z' });
    expect(record.tries.map((t) => t.outcome)).toEqual(['unknown', 'accepted']);
    expect(record.tries[1]).toMatchObject({ response: result.response, message: { size: 1234, sha256: 'a'.repeat(64) }, tls: { used: true, protocol: 'TLSv1.3' } });
    expect(second.problems).toEqual([]);
  });

  it('a try that failed is taken out again; the record goes when no try is left', async () => {
    const where = await folders();
    const { book: b } = book(where);
    const startedAt = await b.begin(acuseOrder('CONSERVAR'));
    const file = path.join(where.dir, 'enviados', '_CFD_MAIL_REQ_0042.XML.acuse.json');
    expect((await recordAt(file)).tries).toHaveLength(1);
    await b.abandon(acuseOrder('CONSERVAR'), startedAt);
    expect(await readdir(path.join(where.dir, 'enviados'))).toEqual([]);
  });

  it('keepEml keeps the bytes beside the record and names them in it', async () => {
    const where = await folders();
    const { book: b } = book(where, { keepEml: true });
    const startedAt = await b.begin(acuseOrder('CONSERVAR'));
    await b.accepted(acuseOrder('CONSERVAR'), startedAt, result);
    const sent = path.join(where.dir, 'enviados');
    expect((await readdir(sent)).sort()).toEqual(['_CFD_MAIL_REQ_0042.XML.acuse.json', '_CFD_MAIL_REQ_0042.XML.eml']);
    expect((await readFile(path.join(sent, '_CFD_MAIL_REQ_0042.XML.eml'))).equals(Buffer.from(result.proof!.eml!))).toBe(true);
    expect((await recordAt(path.join(sent, '_CFD_MAIL_REQ_0042.XML.acuse.json'))).tries[0]!.eml).toBe('_CFD_MAIL_REQ_0042.XML.eml');
    // A re-send keeps its own copy beside the first.
    const again = await b.begin(acuseOrder('CONSERVAR'));
    const second = Buffer.from('Subject: x\r\n\r\nhola otra vez\r\n');
    await b.accepted(acuseOrder('CONSERVAR'), again, { ...result, proof: { ...result.proof!, eml: second } });
    expect((await recordAt(path.join(sent, '_CFD_MAIL_REQ_0042.XML.acuse.json'))).tries.map((t) => t.eml)).toEqual([
      '_CFD_MAIL_REQ_0042.XML.eml',
      '_CFD_MAIL_REQ_0042.XML.2.eml',
    ]);
    expect((await readFile(path.join(sent, '_CFD_MAIL_REQ_0042.XML.2.eml'))).equals(second)).toBe(true);
    expect((await readFile(path.join(sent, '_CFD_MAIL_REQ_0042.XML.eml'))).equals(Buffer.from(result.proof!.eml!))).toBe(true);
  });

  it('writes that fail are reported, never thrown (the order goes on)', async () => {
    const where = await folders();
    await mkdir(where.workDir, { recursive: true });
    await writeFile(path.join(where.workDir, 'acuses'), 'a file where the folder should be');
    const { book: b, problems } = book(where, { keepEml: true });
    const startedAt = await b.begin(acuseOrder());
    expect(await b.accepted(acuseOrder(), startedAt, result)).toBe(false);
    expect(problems.map((p) => p.step)).toEqual(['begin', 'eml', 'accepted']);
    expect(problems.every((p) => p.fileName === '_CFD_MAIL_REQ_0042.XML')).toBe(true);
  });

  it('prunes the work area after keepDays, and never enviados/', async () => {
    const where = await folders();
    const { book: b } = book(where);
    for (const [afterSend, id] of [['ELIMINAR', 'OLD'], ['ELIMINAR', 'NEW'], ['CONSERVAR', 'KEPT']] as const) {
      const startedAt = await b.begin(acuseOrder(afterSend, id));
      await b.accepted(acuseOrder(afterSend, id), startedAt, result);
    }
    const old = new Date(Date.now() - 31 * 24 * 60 * 60 * 1000);
    await utimes(path.join(where.workDir, 'acuses', '_CFD_MAIL_REQ_OLD.XML.acuse.json'), old, old);
    await utimes(path.join(where.dir, 'enviados', '_CFD_MAIL_REQ_KEPT.XML.acuse.json'), old, old);
    expect(await b.prune()).toBe(1);
    expect(await readdir(path.join(where.workDir, 'acuses'))).toEqual(['_CFD_MAIL_REQ_NEW.XML.acuse.json']);
    expect(await readdir(path.join(where.dir, 'enviados'))).toEqual(['_CFD_MAIL_REQ_KEPT.XML.acuse.json']);
  });

  it('finds a record by id ignoring case, in either place', async () => {
    const where = await folders();
    const { book: b } = book(where);
    const startedAt = await b.begin(acuseOrder('CONSERVAR', 'Ab12'));
    await b.accepted(acuseOrder('CONSERVAR', 'Ab12'), startedAt, result);
    const [found] = await findAcuses([where], 'aB12');
    expect(found!.file).toBe(path.join(where.dir, 'enviados', '_CFD_MAIL_REQ_Ab12.XML.acuse.json'));
    expect(found!.record.orderId).toBe('Ab12');
    expect(await findAcuses([where], 'other')).toEqual([]);
  });
});
