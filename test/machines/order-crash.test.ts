/**
 * The crash count of order-context.ts: what a start makes of the state found
 * beside a claimed order, and what a normal outcome leaves of it. The whole
 * machine is walked by test/model; the real CLI by test/reliability/quarantine.
 */
import { describe, expect, it } from 'vitest';
import { TurnGate } from '../../src/actors/order-actors.js';
import { CRASH_LIMIT, crashError, inFlightStateOf, persistedStateOf, restoredAtClaim, restoredAtStart, type OrderContext } from '../../src/machines/order-context.js';

const context = (extra: Partial<OrderContext> = {}): OrderContext => ({
  fileName: '_CFD_MAIL_REQ_1.XML',
  orderId: '1',
  company: 'ACME',
  location: 'claimed',
  retrySchedule: [60],
  attempts: 1,
  crashes: 0,
  persisted: true,
  firstSeenAt: 1000,
  errors: [],
  ...extra,
});

describe('crash count', () => {
  it('a claimed order without a state file was in flight when the process ended: one crash', () => {
    expect(restoredAtStart(undefined)).toEqual({ crashes: 1, persisted: false });
  });

  it('an in-flight mark adds one to the count found; a waiting order (no mark) counts nothing', () => {
    expect(restoredAtStart({ attempts: 0, firstSeenAt: 1, inFlightSince: 5, crashes: 1 })).toMatchObject({ crashes: 2, persisted: true });
    expect(restoredAtStart({ attempts: 2, firstSeenAt: 1, nextTryAt: 9 })).toMatchObject({ crashes: 0, attempts: 2, nextTryAt: 9, persisted: true });
    expect(CRASH_LIMIT).toBe(2);
  });

  it('a claim from the order folder counts a crash only from the state handed over with it', () => {
    expect(restoredAtClaim(undefined)).toEqual({});
    expect(restoredAtClaim({ attempts: 1, firstSeenAt: 1, inFlightSince: 5 })).toMatchObject({ crashes: 1, persisted: true });
  });

  it('the in-flight state carries the mark and the count; the waiting state neither (a normal outcome ends the run of crashes)', () => {
    expect(inFlightStateOf(context({ crashes: 1 }), 42)).toMatchObject({ attempts: 1, inFlightSince: 42, crashes: 1 });
    expect(inFlightStateOf(context(), 42)).not.toHaveProperty('crashes');
    const waiting = persistedStateOf(context({ crashes: 1, nextTryAt: 99 }));
    expect(waiting).not.toHaveProperty('inFlightSince');
    expect(waiting).not.toHaveProperty('crashes');
  });

  it('names the count in its error', () => {
    expect(crashError(2)).toMatchObject({ code: 'ORDER_CRASHED_MAILER', value: '2' });
  });
});

describe('TurnGate (the turn of orders found in flight at a crash)', () => {
  it('grants one turn at a time, first come first served; a withdrawn request is skipped; giving back twice is harmless', () => {
    const gate = new TurnGate();
    const granted: string[] = [];
    const a = gate.take(() => granted.push('a'));
    const b = gate.take(() => granted.push('b'));
    const c = gate.take(() => granted.push('c'));
    expect(granted).toEqual(['a']);
    b(); // withdrawn while waiting
    a();
    a();
    expect(granted).toEqual(['a', 'c']);
    c();
    gate.take(() => granted.push('d'));
    expect(granted).toEqual(['a', 'c', 'd']);
  });
});
