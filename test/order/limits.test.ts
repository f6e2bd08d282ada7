/**
 * Orders of megabytes, read in time and memory proportional to their size:
 * every field's reader is linear and keeps what it needs, and the counts the
 * format sets (addresses per field, attachments, listed errors) bound what a
 * legal-looking file can make the mailer hold. The real CLI under the
 * service's heap cap is in test/reliability/poison.test.ts; here the parser
 * alone, so each rule is named. The quadratic cases these guard against took
 * minutes (a `nombre` of 400,000 ". ": 71 s) or exhausted a 192 MB heap (a
 * 9 MB Para, 1.5 million invalid addresses), so the test timeout is their
 * assertion.
 */
import { describe, expect, it } from 'vitest';
import { MAX_ADDRESSES, MAX_LISTED_INVALID } from '../../src/order/addresses.js';
import { parseBody, trimBody } from '../../src/order/body.js';
import { MAX_ATTACHMENTS, MAX_KEPT_NAMES, MAX_TREE_ERRORS } from '../../src/order/tree.js';
import { codes, orderXml, parseFail, parseOk, parseText } from './helpers.js';

const MB = 1024 * 1024;

describe('orders of megabytes', () => {
  it('9.5 MB of unknown elements: read, one short warning, the first MAX_KEPT_NAMES paths kept', () => {
    const count = Math.floor((9.5 * MB) / '<Extra>x</Extra>\n'.length);
    const result = parseText(orderXml('<Cuerpo>hola</Cuerpo>' + '<Extra>x</Extra>\n'.repeat(count)));
    if (!result.ok) return expect.fail(JSON.stringify(result.errors));
    expect(result.order.unknownElements).toHaveLength(MAX_KEPT_NAMES);
    expect(result.warnings).toEqual([`unknown elements ignored: Extra (${count} in all, 1 distinct)`]);
  });

  it('a plain body of 9 MB is kept exactly, and its trailing white space goes in linear time', () => {
    const body = 'Línea con acentos: canción.\n'.repeat(Math.floor((9 * MB) / 30));
    expect(parseOk(orderXml(`<Cuerpo>${body}</Cuerpo>`)).body).toEqual({ kind: 'text', text: body.trimEnd() });
    // `/\s+$/` took 0.8 s for 50,000 spaces followed by a letter, and grows with the square.
    expect(trimBody(`a${' '.repeat(2_000_000)}b  \n`)).toBe(`a${' '.repeat(2_000_000)}b`);
  });

  it('an HTML body of 4 MB gets its text alternative from the streamed rendering', () => {
    const row = '<tr><td>1</td><td>Tornillo</td></tr>';
    const body = parseBody(`HTML <table>${row.repeat(Math.floor((4 * MB) / row.length))}</table>`);
    expect(body.kind === 'html' && body.text.split('\n').slice(0, 2)).toEqual(['1\tTornillo', '1\tTornillo']);
  });

  it(`more than ${MAX_ADDRESSES} addresses in a field: refused as a whole, not read one by one`, () => {
    const list = Array.from({ length: MAX_ADDRESSES + 1 }, (_, i) => `c${i}@cliente.example`).join(', ');
    expect(codes(parseFail(orderXml(`<Para>${list}</Para>`, { withPara: false })))).toEqual(['ORDER_FIELD_INVALID@Para']);
    const exactly = Array.from({ length: MAX_ADDRESSES }, (_, i) => `c${i}@cliente.example`).join(', ');
    expect(parseOk(orderXml(`<Para>${exactly}</Para>`, { withPara: false })).to).toHaveLength(MAX_ADDRESSES);
    expect(codes(parseFail(orderXml(`<CC>${'malo,'.repeat(1_500_000)}</CC>`)))).toEqual(['ORDER_FIELD_INVALID@CC']);
  });

  it(`lists the first ${MAX_LISTED_INVALID} invalid addresses of a field and counts the rest in one more`, () => {
    const errors = parseFail(orderXml(`<CC>${Array.from({ length: 30 }, (_, i) => `malo${i}`).join(';')}</CC>`));
    expect(errors).toHaveLength(MAX_LISTED_INVALID + 1);
    expect(errors[MAX_LISTED_INVALID]!.message).toBe('CC: 10 more invalid addresses');
  });

  it('one address of 9 MB: refused with a short message (the value is cut, the log line stays short)', () => {
    const errors = parseFail(orderXml(`<Para>${'x'.repeat(9 * MB)}</Para>`, { withPara: false }));
    expect(codes(errors)).toEqual(['ORDER_ADDRESS_INVALID@Para']);
    expect(errors[0]!.message.length).toBeLessThan(300);
    expect((errors[0]!.value ?? '').length).toBeLessThan(300);
  });

  it('a subject of 9 MB: refused without counting its characters one by one, with a short message', () => {
    const errors = parseFail(orderXml(`<Asunto>${'x'.repeat(9 * MB)}</Asunto>`));
    expect(codes(errors)).toEqual(['ORDER_FIELD_INVALID@Asunto']);
    expect(errors[0]!.message.length).toBeLessThan(300);
  });

  it(`more than ${MAX_ATTACHMENTS} attachments: refused as a whole`, () => {
    const files = (n: number) => `<Adjuntos>${'<Archivo>a.pdf</Archivo>'.repeat(n)}</Adjuntos>`;
    expect(codes(parseFail(orderXml(files(350_000))))).toEqual(['ORDER_FIELD_INVALID@Adjuntos/Archivo']);
    expect(parseOk(orderXml(files(MAX_ATTACHMENTS))).attachments).toHaveLength(MAX_ATTACHMENTS);
  });

  it('a nombre of 800,000 characters of dots and spaces is made a safe name in linear time', () => {
    const order = parseOk(orderXml(`<Adjuntos><Archivo nombre="a${' .'.repeat(400_000)}b.pdf">a.pdf</Archivo></Adjuntos>`));
    expect(order.attachments[0]!.filename!.length).toBeLessThanOrEqual(255);
    expect(order.attachments[0]!.filename!.endsWith('.pdf')).toBe(true);
  });

  it(`600,000 undefined references: the first ${MAX_TREE_ERRORS} listed, the rest counted in one more error`, () => {
    const errors = parseFail(orderXml('<X>&nbsp;</X>'.repeat(600_000)));
    expect(errors).toHaveLength(MAX_TREE_ERRORS + 1);
    expect(errors[0]!.field).toBe('X');
    expect(errors[MAX_TREE_ERRORS]!.message).toBe(`… and ${600_000 - MAX_TREE_ERRORS} more elements with references XML does not define`);
    expect(errors[MAX_TREE_ERRORS]!.xml).toEqual({ kind: 'moreReferencesUndefined', count: 600_000 - MAX_TREE_ERRORS });
  });
});
