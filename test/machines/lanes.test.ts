/**
 * The lanes (src/machines/lanes.ts), exactly: how many orders of one company
 * hold a slot at once (its window), how its sends are spaced by `perMinute`
 * (time is a number the test passes: a fake clock), the order in which a
 * company's work is granted, and that one company's lane never changes when
 * another's orders are granted.
 */
import { describe, expect, it } from 'vitest';
import { LaneScheduler, windowFor, type Grant, type LaneLimits, type PendingOrder } from '../../src/machines/lanes.js';

const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);
const MINUTE = 60_000;

const order = (company: string, n: number): PendingOrder => ({
  fileName: `_CFD_MAIL_REQ_${company}${n}.XML`,
  orderId: `${company}${n}`,
  company,
  location: 'inbox',
});
/** Grants as short names: `A1` for a first slot, `resume:A1` for a due retry. */
const named = (grants: Grant[]) => grants.map((g) => (g.kind === 'spawn' ? g.order.orderId : `resume:${g.fileName.slice(14, -4)}`));
const lanes = (limits: Record<string, LaneLimits>) => new LaneScheduler((company) => limits[company]!);

describe('lanes: the window', () => {
  for (const maxConnections of [1, 2, 3, 4, 7, 10]) {
    it(`maxConnections ${maxConnections}: exactly ${2 * maxConnections} orders hold a slot at once, and one more for each released`, () => {
      const limits = { maxConnections, perMinute: null };
      expect(windowFor(limits)).toBe(2 * maxConnections);
      const s = lanes({ A: limits });
      for (let i = 1; i <= 3 * maxConnections + 2; i++) s.enqueue(order('A', i));
      expect(s.grant(T0)).toHaveLength(2 * maxConnections);
      expect(s.grant(T0)).toEqual([]);
      s.release('A');
      expect(named(s.grant(T0))).toEqual([`A${2 * maxConnections + 1}`]);
      expect(s.grant(T0)).toEqual([]);
      for (let i = 0; i < 3; i++) s.release('A');
      expect(s.grant(T0)).toHaveLength(Math.min(3, maxConnections + 1));
      expect(s.nextWakeAt(T0)).toBeUndefined(); // waits on releases, not on time
    });
  }

  it("each company has its own window, from its own limits", () => {
    const s = lanes({ A: { maxConnections: 1, perMinute: null }, B: { maxConnections: 3, perMinute: null } });
    for (let i = 1; i <= 10; i++) {
      s.enqueue(order('A', i));
      s.enqueue(order('B', i));
    }
    const first = named(s.grant(T0));
    expect(first.filter((n) => n.startsWith('A'))).toEqual(['A1', 'A2']);
    expect(first.filter((n) => n.startsWith('B'))).toEqual(['B1', 'B2', 'B3', 'B4', 'B5', 'B6']);
    s.release('B');
    expect(named(s.grant(T0))).toEqual(['B7']);
  });

  it('a due retry takes a slot like a new order, and counts against the window', () => {
    const s = lanes({ A: { maxConnections: 1, perMinute: null } });
    s.enqueue(order('A', 1));
    s.enqueue(order('A', 2));
    expect(named(s.grant(T0))).toEqual(['A1', 'A2']);
    s.release('A'); // A1 deferred: gives its slot back
    s.requestResume(order('A', 1).fileName, 'A');
    s.enqueue(order('A', 3));
    expect(named(s.grant(T0))).toEqual(['resume:A1']);
    s.release('A');
    expect(named(s.grant(T0))).toEqual(['A3']);
  });
});

describe('lanes: perMinute (fake clock)', () => {
  it('perMinute 3: three sends start in each minute, the next exactly when the first of them is a minute old', () => {
    const s = lanes({ A: { maxConnections: 10, perMinute: 3 } });
    for (let i = 1; i <= 10; i++) s.enqueue(order('A', i));
    const starts: number[] = [];
    let now = T0;
    for (;;) {
      for (const g of named(s.grant(now))) {
        starts.push(now);
        expect(g).toBe(`A${starts.length}`);
        s.release('A'); // each send ends at once: only the rate holds the lane back
      }
      const wake = s.nextWakeAt(now);
      if (wake === undefined) break;
      // Nothing is granted a millisecond before the wake time.
      expect(s.grant(wake - 1)).toEqual([]);
      now = wake;
    }
    const offsets = starts.map((t) => t - T0);
    expect(offsets).toEqual([0, 0, 0, MINUTE, MINUTE, MINUTE, 2 * MINUTE, 2 * MINUTE, 2 * MINUTE, 3 * MINUTE]);
  });

  it('perMinute 2 counts any 60-second span, not calendar minutes', () => {
    const s = lanes({ A: { maxConnections: 10, perMinute: 2 } });
    s.enqueue(order('A', 1));
    expect(named(s.grant(T0))).toEqual(['A1']);
    s.enqueue(order('A', 2));
    expect(named(s.grant(T0 + 30_000))).toEqual(['A2']);
    for (let i = 3; i <= 5; i++) s.enqueue(order('A', i));
    expect(s.grant(T0 + 40_000)).toEqual([]);
    expect(s.nextWakeAt(T0 + 40_000)).toBe(T0 + MINUTE);
    expect(s.grant(T0 + MINUTE - 1)).toEqual([]);
    expect(named(s.grant(T0 + MINUTE))).toEqual(['A3']);
    expect(s.nextWakeAt(T0 + MINUTE)).toBe(T0 + 30_000 + MINUTE);
    expect(named(s.grant(T0 + 30_000 + MINUTE))).toEqual(['A4']);
    expect(s.nextWakeAt(T0 + 30_000 + MINUTE)).toBe(T0 + 2 * MINUTE);
    expect(named(s.grant(T0 + 2 * MINUTE))).toEqual(['A5']);
    expect(s.nextWakeAt(T0 + 2 * MINUTE)).toBeUndefined();
  });

  it('a lane whose window is full waits on a release, not on the clock', () => {
    const s = lanes({ A: { maxConnections: 1, perMinute: 2 } });
    for (let i = 1; i <= 4; i++) s.enqueue(order('A', i));
    expect(named(s.grant(T0))).toEqual(['A1', 'A2']);
    expect(s.nextWakeAt(T0)).toBeUndefined();
    expect(s.grant(T0 + 5 * MINUTE)).toEqual([]);
  });
});

describe('lanes: order within a company', () => {
  it('first in, first granted: new orders and due retries in the order they arrived', () => {
    const s = lanes({ A: { maxConnections: 1, perMinute: null } });
    s.enqueue(order('A', 1));
    s.enqueue(order('A', 2));
    s.requestResume(order('A', 9).fileName, 'A');
    s.enqueue(order('A', 3));
    s.requestResume(order('A', 8).fileName, 'A');
    s.enqueue(order('A', 4));
    const granted: string[] = [...named(s.grant(T0))];
    while (granted.length < 6) {
      s.release('A');
      granted.push(...named(s.grant(T0)));
    }
    expect(granted).toEqual(['A1', 'A2', 'resume:A9', 'A3', 'resume:A8', 'A4']);
  });

  it('keeps its order over a long backlog (thousands, past the queue compaction)', () => {
    const s = lanes({ A: { maxConnections: 2, perMinute: null } });
    for (let i = 1; i <= 5000; i++) s.enqueue(order('A', i));
    const granted: string[] = [...named(s.grant(T0))];
    while (granted.length < 5000) {
      s.release('A');
      granted.push(...named(s.grant(T0)));
    }
    expect(granted).toEqual(Array.from({ length: 5000 }, (_, i) => `A${i + 1}`));
  });
});

describe('lanes: independence', () => {
  it("a company whose server stalls (its slots never come back, a backlog of thousands) never delays another's order", () => {
    const s = lanes({ SLOW: { maxConnections: 1, perMinute: null }, FAST: { maxConnections: 1, perMinute: null } });
    for (let i = 1; i <= 5000; i++) s.enqueue(order('SLOW', i));
    expect(named(s.grant(T0))).toEqual(['SLOW1', 'SLOW2']);
    // Each FAST order is granted in the very round after it arrives, whatever SLOW holds or waits for.
    for (let i = 1; i <= 50; i++) {
      s.enqueue(order('FAST', i));
      expect(named(s.grant(T0 + i))).toEqual([`FAST${i}`]);
      s.release('FAST');
    }
    // FAST's own window bounds it: a third order waits for one of FAST's own releases, never for SLOW's.
    s.enqueue(order('FAST', 51));
    s.enqueue(order('FAST', 52));
    s.enqueue(order('FAST', 53));
    expect(named(s.grant(T0 + 100))).toEqual(['FAST51', 'FAST52']);
    s.release('FAST');
    expect(named(s.grant(T0 + 101))).toEqual(['FAST53']);
  });

  it("a company held back by its perMinute neither delays another's order nor sets the other's wake time", () => {
    const s = lanes({ SLOW: { maxConnections: 5, perMinute: 1 }, FAST: { maxConnections: 1, perMinute: 60 } });
    for (let i = 1; i <= 100; i++) s.enqueue(order('SLOW', i));
    expect(named(s.grant(T0))).toEqual(['SLOW1']);
    expect(s.nextWakeAt(T0)).toBe(T0 + MINUTE); // SLOW's
    s.enqueue(order('FAST', 1));
    expect(named(s.grant(T0 + 1))).toEqual(['FAST1']);
    s.release('FAST');
    s.enqueue(order('FAST', 2));
    expect(named(s.grant(T0 + 2))).toEqual(['FAST2']);
    expect(s.nextWakeAt(T0 + 2)).toBe(T0 + MINUTE); // still SLOW's: FAST has nothing waiting
    expect(named(s.grant(T0 + MINUTE))).toEqual(['SLOW2']);
  });
});
