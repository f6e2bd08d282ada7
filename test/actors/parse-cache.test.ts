import { describe, expect, it } from 'vitest';
import { MAX_ENTRY_BYTES, RecentParses } from '../../src/actors/parse-cache.js';
import { parseOrder } from '../../src/order/parse.js';

const xml = (to: string) => Buffer.from(`<OrdenEnvio><Para>${to}</Para></OrdenEnvio>`);

describe('RecentParses', () => {
  it('gives back the parse of identical bytes once, and nothing for bytes that changed', () => {
    const cache = new RecentParses();
    const bytes = xml('a@b.mx');
    const parsed = parseOrder(bytes, '_CFD_MAIL_REQ_1.XML');
    cache.remember('_CFD_MAIL_REQ_1.XML', bytes, parsed);
    expect(cache.take('_CFD_MAIL_REQ_1.XML', Buffer.from(bytes))).toBe(parsed);
    expect(cache.take('_CFD_MAIL_REQ_1.XML', bytes)).toBeUndefined(); // taken once

    cache.remember('_CFD_MAIL_REQ_2.XML', bytes, parsed);
    expect(cache.take('_CFD_MAIL_REQ_2.XML', xml('otro@b.mx'))).toBeUndefined(); // rewritten in between
    expect(cache.size).toBe(0);
  });

  it('holds at most max entries, dropping the oldest', () => {
    const cache = new RecentParses(3);
    const bytes = xml('a@b.mx');
    const parsed = parseOrder(bytes, 'x');
    for (let i = 0; i < 5; i++) cache.remember(`f${i}`, bytes, parsed);
    expect(cache.size).toBe(3);
    expect(cache.take('f0', bytes)).toBeUndefined();
    expect(cache.take('f1', bytes)).toBeUndefined();
    expect(cache.take('f4', bytes)).toBe(parsed);
  });
});

describe('RecentParses: memory', () => {
  const parsedOf = (bytes: Buffer) => parseOrder(bytes, 'x');

  it('never keeps an order of MAX_ENTRY_BYTES or more: parsing it again costs less than holding it', () => {
    const cache = new RecentParses();
    const big = Buffer.concat([xml('a@b.mx'), Buffer.alloc(MAX_ENTRY_BYTES, 0x20)]);
    cache.remember('big', big, parsedOf(xml('a@b.mx')));
    expect(cache.size).toBe(0);
    expect(cache.take('big', big)).toBeUndefined();
  });

  it('holds at most maxBytes of orders together, dropping the oldest', () => {
    const cache = new RecentParses(1024, 1000);
    const bytes = Buffer.concat([xml('a@b.mx'), Buffer.alloc(400 - xml('a@b.mx').length, 0x20)]);
    const parsed = parsedOf(bytes);
    for (let i = 0; i < 4; i++) cache.remember(`f${i}`, bytes, parsed);
    expect(cache.size).toBe(2);
    expect(cache.bytes).toBe(800);
    expect(cache.take('f1', bytes)).toBeUndefined();
    expect(cache.take('f3', bytes)).toBe(parsed);
    expect(cache.bytes).toBe(400);
  });
});
