/**
 * The order machine's state names and tags as other modules read them: the
 * runtime list of names (log readers check a logged `to` against it), and
 * the `idle` tag a STOP relies on (the supervisor stops an order in an idle
 * state instead of waiting for it, so no idle state may have work in flight).
 */
import { describe, expect, it } from 'vitest';
import type { AnyStateNode } from 'xstate';
import { ORDER_STATES, orderMachine, orderStateOf } from '../../src/machines/order.js';

const nodes = (): AnyStateNode[] => Object.values(orderMachine.root.states);
const tagged = (tag: string): string[] => nodes().filter((node) => node.tags.includes(tag)).map((node) => node.key).sort();

describe('order machine: state names and tags', () => {
  it('lists every state of the machine, and only those', () => {
    expect([...ORDER_STATES].sort()).toEqual(nodes().map((node) => node.key).sort());
    expect(nodes().every((node) => Object.keys(node.states).length === 0)).toBe(true);
  });

  it('reads a logged name as a state only when the machine has it', () => {
    expect(orderStateOf('deferred')).toBe('deferred');
    expect(orderStateOf('someFutureState')).toBeUndefined();
    expect(orderStateOf(undefined)).toBeUndefined();
    expect(orderStateOf({ nested: 'state' })).toBeUndefined();
  });

  it('tags idle exactly the states that wait on a timer or a slot with nothing in flight', () => {
    expect(tagged('idle')).toEqual(['archiveBlocked', 'archiveFailedBlocked', 'deferred', 'loadBlocked', 'waiting']);
    // Nothing runs there: no invoked actor other than the state write that marks it waiting, no pending send or move.
    for (const node of nodes().filter((n) => n.tags.includes('idle'))) {
      expect(node.invoke.map((i) => i.src), node.key).toEqual(node.key === 'loadBlocked' || node.key === 'archiveFailedBlocked' ? ['saveState'] : []);
    }
  });

  it('tags terminal the states where the actor ends: its outcome is decided', () => {
    expect(tagged('terminal')).toEqual(['done', 'lost', 'skipped']);
  });
});
