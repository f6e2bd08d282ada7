import { describe, expect, it } from 'vitest';

import { afterThisTest } from './scoped.js';

// The helpers' own contract: what a test registers runs after that test, last first.
const ran: string[] = [];

describe('afterThisTest', () => {
  it('registers cleanups', () => {
    afterThisTest(() => ran.push('first'));
    afterThisTest(async () => {
      await new Promise((r) => setTimeout(r, 5));
      ran.push('second');
    });
    expect(ran).toEqual([]);
  });

  it('ran them after the previous test, last registered first', () => {
    expect(ran).toEqual(['second', 'first']);
  });
});
