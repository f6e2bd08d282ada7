import { describe, expect, it } from 'vitest';
import { createActor, fromPromise, setup, spawnChild } from 'xstate';

import { createTransitionLogger, type EventLogger } from '../../../src/io/log/transitions.js';
import { MailerError } from '../../../src/errors.js';
import { orderMachine } from '../../../src/machines/order.js';
import type { ClaimOutput, LoadOrderOutput } from '../../../src/machines/order-context.js';
import type { PersistedOrderState, ResolvedOrder } from '../../../src/ports.js';

/** Records what the transition logger writes, level and fields. */
function recorder(): EventLogger & { lines: { level: string; obj: Record<string, unknown>; msg?: string }[] } {
  const lines: { level: string; obj: Record<string, unknown>; msg?: string }[] = [];
  const at = (level: string) => (obj: object, msg?: string) => void lines.push({ level, obj: obj as Record<string, unknown>, ...(msg !== undefined && { msg }) });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

describe('transition logger', () => {
  it('logs internal.error, with the order and its state, when an order actor crashes on a bug', async () => {
    const log = recorder();
    const machine = orderMachine.provide({
      actors: {
        claimOrder: fromPromise<ClaimOutput, { fileName: string }>(async () => true),
        loadState: fromPromise<PersistedOrderState | undefined, { fileName: string }>(async () => undefined),
        loadOrder: fromPromise<LoadOrderOutput, { fileName: string }>(async () => ({ ok: true, resolved: {} as ResolvedOrder, warnings: [] })),
      },
      // A guard that throws stands for any exception in our code during a step.
      guards: { loadOk: () => { throw new Error('bug in loadOk'); } },
    });
    // The supervisor's part, reduced: spawn the order actor, take its crash.
    let crashedWith: unknown;
    const parent = setup({ actors: { order: machine } }).createMachine({
      entry: spawnChild('order', {
        id: 'order:1',
        input: { fileName: '_CFD_MAIL_REQ_7.XML', orderId: '7', company: 'ACME', location: 'inbox', retrySchedule: [] },
      }),
      on: { 'xstate.error.actor.*': { actions: ({ event }) => void (crashedWith = (event as { error?: unknown }).error) } },
    });
    const actor = createActor(parent, { inspect: createTransitionLogger(log) });
    actor.start();
    await new Promise((r) => setTimeout(r, 50));
    expect(String(crashedWith)).toContain('bug in loadOk');
    expect(actor.getSnapshot().status).toBe('active');
    const errors = log.lines.filter((l) => l.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.obj).toMatchObject({ event: 'internal.error', orderId: '7', fileName: '_CFD_MAIL_REQ_7.XML', company: 'ACME', state: 'loading', error: expect.stringContaining('bug in loadOk') });
    expect(errors[0]!.msg).toContain('stays claimed');
    // The steps before the crash are logged as usual.
    expect(log.lines.filter((l) => l.obj.event === 'order.transition').map((l) => l.obj.to)).toEqual(['claiming', 'loading']);
  });

  it('warns about an order whose claim was refused, as order.held when another program holds it, else order.skipped', async () => {
    const skippedWith = async (error: MailerError) => {
      const log = recorder();
      const machine = orderMachine.provide({
        actors: { claimOrder: fromPromise<ClaimOutput, { fileName: string }>(async () => { throw error; }) },
      });
      const actor = createActor(machine, {
        id: 'order:1',
        input: { fileName: '_CFD_MAIL_REQ_7.XML', orderId: '7', company: 'ACME', location: 'inbox', retrySchedule: [] },
        inspect: createTransitionLogger(log),
      });
      actor.start();
      await new Promise((r) => setTimeout(r, 20));
      expect(actor.getSnapshot().output?.outcome).toBe('skipped');
      return log.lines.filter((l) => l.level !== 'debug');
    };
    const held = await skippedWith(new MailerError('FS_HELD', 'held open by another program (EBUSY): C:\\envio\\_CFD_MAIL_REQ_7.XML: claim failed: EBUSY'));
    expect(held).toEqual([
      {
        level: 'warn',
        obj: expect.objectContaining({ event: 'order.held', orderId: '7', fileName: '_CFD_MAIL_REQ_7.XML', errorCode: 'FS_HELD' }),
        msg: '7: held open by another program (EBUSY): C:\\envio\\_CFD_MAIL_REQ_7.XML: claim failed: EBUSY; it stays in the order folder and is tried again on the next pass',
      },
    ]);
    const other = await skippedWith(new MailerError('FS_MOVE_FAILED', 'claim failed (EXDEV): a -> b'));
    expect(other).toHaveLength(1);
    expect(other[0]).toMatchObject({ level: 'warn', obj: { event: 'order.skipped', orderId: '7', errorCode: 'FS_MOVE_FAILED' } });
    expect(other[0]!.msg).toContain('(FS_MOVE_FAILED: claim failed (EXDEV): a -> b)');
  });
});
