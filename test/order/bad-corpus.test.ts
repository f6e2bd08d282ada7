/**
 * Every file in test/fixtures/orders/bad/ must be refused with the expected
 * reasons, never throw, and name a field unless the reason is about the file as
 * a whole. Expectations are written here by hand (not derived from output);
 * a new bad file without an expectation fails the suite.
 */
import { describe, it, expect } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { parseOrder } from '../../src/order/parse.js';
import type { ErrorCode } from '../../src/errors.js';
import { FIXTURES } from './helpers.js';

const BAD = `${FIXTURES}bad/`;

/** `code@field` of every error, in order; `@` alone means no field (a file-level reason). */
const EXPECTED: Record<string, string[]> = {
  'bad-port.XML': ['ORDER_FIELD_INVALID@SMTP/Puerto'],
  'binary.XML': ['ORDER_NOT_XML@'],
  'doctype-no-subset.XML': ['ORDER_DOCTYPE@'],
  'empty.XML': ['ORDER_EMPTY@'],
  'entity-bomb.XML': ['ORDER_DOCTYPE@'],
  'external-entity.XML': ['ORDER_DOCTYPE@'],
  'huge-subject.XML': ['ORDER_FIELD_INVALID@Asunto'],
  'injection-asunto.XML': ['ORDER_HEADER_INJECTION@Asunto'],
  'injection-para.XML': ['ORDER_HEADER_INJECTION@Para'],
  'invalid-addresses.XML': ['ORDER_ADDRESS_INVALID@Para', 'ORDER_ADDRESS_INVALID@Para'],
  'not-xml.XML': ['ORDER_NOT_XML@'],
  'repeated-para.XML': ['ORDER_FIELD_INVALID@Para'],
  'truncated.XML': ['ORDER_XML_MALFORMED@'],
  'two-roots.XML': ['ORDER_XML_MALFORMED@'],
  'undefined-entity.XML': ['ORDER_XML_MALFORMED@Asunto'],
  'unknown-encoding.XML': ['ORDER_ENCODING@'],
  'whitespace-only.XML': ['ORDER_EMPTY@'],
  'wrong-root.XML': ['ORDER_ROOT@'],
};

/** Reasons about the file as a whole, which need not name a field. */
const FILE_LEVEL: ErrorCode[] = [
  'ORDER_EMPTY',
  'ORDER_NOT_XML',
  'ORDER_XML_MALFORMED',
  'ORDER_DOCTYPE',
  'ORDER_ROOT',
  'ORDER_ENCODING',
  'ORDER_TOO_LARGE',
];

const files = readdirSync(BAD).sort();

describe('bad-input corpus', () => {
  it('has an expectation for every file and a file for every expectation', () => {
    expect(files).toEqual(Object.keys(EXPECTED).sort());
  });

  it('includes a subject of about 1 MB', () => {
    expect(readFileSync(`${BAD}huge-subject.XML`).length).toBeGreaterThan(1_000_000);
  });

  it.each(files)('%s is refused with the expected reasons', (file) => {
    let result: ReturnType<typeof parseOrder> | undefined;
    expect(() => {
      result = parseOrder(readFileSync(`${BAD}${file}`), file);
    }).not.toThrow();
    if (!result || result.ok) return expect.fail(`${file} was accepted`);
    expect(result.errors.map((e) => `${e.code}@${e.field ?? ''}`)).toEqual(EXPECTED[file]);
    expect(result.partial.fileName).toBe(file);
    for (const error of result.errors) {
      expect(error.message.length).toBeGreaterThan(0);
      // Shortened by MailerError: a 1 MB value never reaches a note or a log line whole.
      expect((error.value ?? '').length).toBeLessThan(300);
      if (!FILE_LEVEL.includes(error.code)) expect(error.field, `${file}: ${error.code} must name its field`).toBeTruthy();
    }
  });

  it('refuses a file over the size limit without reading it as XML', () => {
    const big = Buffer.alloc(10 * 1024 * 1024 + 1, 0x20);
    big.write('<OrdenEnvio>', 0);
    const result = parseOrder(big, '_CFD_MAIL_REQ_BIG.XML');
    expect(!result.ok && result.errors.map((e) => e.code)).toEqual(['ORDER_TOO_LARGE']);
  });

  it('never throws on arbitrary truncations of a valid order', () => {
    const sample = readFileSync(`${FIXTURES}samples/_CFD_MAIL_REQ_0042_20261127093015.XML`);
    for (let cut = 0; cut < sample.length; cut += 7) {
      const result = parseOrder(sample.subarray(0, cut), 'cut.XML');
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.errors.length).toBeGreaterThan(0);
    }
  });
});
