import { describe, expect, it } from 'vitest';
import { createActor, fromCallback, fromPromise, toPromise, type AnyActorLogic, type InspectionEvent } from 'xstate';
import { supervisorMachine } from '../../src/machines/supervisor.js';
import type { IntakeEvent, LockResult, ScanResult } from '../../src/machines/supervisor-types.js';
import { onceExitCode } from '../../src/cli/exit-codes.js';
import { orderMachine } from '../../src/machines/order.js';
import type { ArchiveFailedInput, ClaimOutput, LoadOrderOutput, NotifyInput, OrderOutput } from '../../src/machines/order-context.js';
import type { PersistedOrderState, ResolvedOrder, SendResult } from '../../src/ports.js';
import type { AfterSend } from '../../src/order/types.js';
import { MailerError } from '../../src/errors.js';
import { fakeResolved } from '../model/supervisor-world.js';

/**
 * The supervisor and order machines driven with in-memory fakes for every
 * effect: this isolates the scheduling logic (lanes, dedupe, once/stop) from
 * I/O. The real-parts tests live in test/e2e.
 */
function build(opts: {
  files: string[];
  companyOf: (f: string) => string;
  send: (f: string) => Promise<SendResult>;
  retry?: number[];
  maxConnections?: number;
  inspect?: (event: InspectionEvent) => void;
  /** Replaces the order actor (to simulate one that crashes). */
  order?: AnyActorLogic;
  /** Entries named like orders that the scan found not to be files. */
  notFiles?: string[];
  /** Claims fail for these files (held open, access denied): their actors end `skipped`. */
  claimRefused?: (f: string) => boolean;
}) {
  const sent: string[] = [];
  const archived: string[] = [];
  const failed: string[] = [];
  let concurrent = 0;
  let maxConcurrent = 0;
  const order = orderMachine.provide({
    actors: {
      claimOrder: fromPromise<ClaimOutput, { fileName: string }>(async ({ input }) => {
        if (opts.claimRefused?.(input.fileName)) throw new MailerError('FS_HELD', `held open by another program, or access denied (EACCES): ${input.fileName}: claim failed`);
        return true;
      }),
      loadState: fromPromise<PersistedOrderState | undefined, { fileName: string }>(async () => undefined),
      loadOrder: fromPromise<LoadOrderOutput, { fileName: string }>(async ({ input }) => ({
        ok: true,
        resolved: fakeResolved(input.fileName, opts.companyOf(input.fileName)),
        warnings: [],
      })),
      sendOrder: fromPromise<SendResult, { resolved: ResolvedOrder }>(async ({ input }) => {
        concurrent += 1;
        maxConcurrent = Math.max(maxConcurrent, concurrent);
        try {
          const r = await opts.send(input.resolved.order.fileName);
          sent.push(input.resolved.order.fileName);
          return r;
        } finally {
          concurrent -= 1;
        }
      }),
      saveState: fromPromise<void, { fileName: string; state: PersistedOrderState }>(async () => undefined),
      archiveSent: fromPromise<void, { fileName: string; afterSend: AfterSend }>(async ({ input }) => {
        archived.push(input.fileName);
      }),
      archiveFailed: fromPromise<void, ArchiveFailedInput>(async ({ input }) => {
        failed.push(input.fileName);
      }),
      notifyFailure: fromPromise<void, NotifyInput>(async () => undefined),
    },
  });
  const machine = supervisorMachine.provide({
    actors: {
      acquireLock: fromPromise<LockResult, void>(async () => ({ ok: true, handle: { release: async () => {} } })),
      releaseLock: fromPromise<void, { handle?: { release(): Promise<void> } }>(async () => undefined),
      scan: fromPromise<ScanResult, void>(async () => ({ claimed: [], inbox: opts.files, ...(opts.notFiles && { notFiles: opts.notFiles }) })),
      intake: fromCallback<IntakeEvent>(({ receive, sendBack }) => {
        receive((e) => {
          for (const f of e.files) {
            queueMicrotask(() =>
              sendBack({
                type: 'INTAKE.READY',
                order: { fileName: f.fileName, orderId: f.fileName, company: opts.companyOf(f.fileName), location: f.location },
              }),
            );
          }
        });
      }),
      watcher: fromCallback(() => () => {}),
      // A fake order actor only has to finish with an OrderOutput (or crash) as the real one does.
      order: (opts.order ?? order) as typeof order,
    },
  });
  const actor = createActor(machine, {
    input: {
      mode: 'once',
      retrySchedule: opts.retry ?? [],
      limitsFor: () => ({ maxConnections: opts.maxConnections ?? 2, perMinute: null }),
    },
    ...(opts.inspect !== undefined && { inspect: opts.inspect }),
  });
  return { actor, sent, archived, failed, get maxConcurrent() { return maxConcurrent; } };
}

const ok = (f: string): SendResult => ({ messageId: f, accepted: ['x@y.mx'], rejected: [], response: '250 ok' });

describe('supervisor (fake effects)', () => {
  it('once: sends every order, archives each, ends with counts', async () => {
    const files = Array.from({ length: 50 }, (_, i) => `_CFD_MAIL_REQ_${i}.XML`);
    const t = build({ files, companyOf: () => 'ACME', send: async (f) => ok(f) });
    t.actor.start();
    const out = await toPromise(t.actor);
    expect(out.counts).toEqual({ sent: 50, failed: 0, queued: 0, lost: 0, ignored: 0 });
    expect(new Set(t.archived)).toEqual(new Set(files));
    expect(Object.keys(t.actor.getSnapshot().children).filter((k) => k.startsWith('order:'))).toEqual([]);
  });

  it('reuses order actor ids, so the event types the supervisor sees stay bounded however many orders pass', async () => {
    // XState memoizes matching transitions per event type for the machine's
    // lifetime; a done event per unique actor id grew that memo by one entry
    // per order (see src/machines/child-ids.ts).
    const files = Array.from({ length: 400 }, (_, i) => `_CFD_MAIL_REQ_${i}.XML`);
    const doneTypes = new Set<string>();
    const t = build({
      files,
      companyOf: (f) => (Number(/(\d+)/.exec(f)![1]) % 2 === 0 ? 'ACME' : 'OTRA'),
      send: async (f) => {
        await new Promise((r) => setTimeout(r, 1));
        return ok(f);
      },
      inspect: (e) => {
        if (e.type === '@xstate.event' && e.actorRef === t.actor && e.event.type.startsWith('xstate.done.actor.')) doneTypes.add(e.event.type);
      },
    });
    t.actor.start();
    const out = await toPromise(t.actor);
    expect(out.counts.sent).toBe(400);
    // Two lanes with a window of 4 each: at most 8 order actors alive at once.
    const made = t.actor.getSnapshot().context.childIds.made;
    expect(made).toBeGreaterThanOrEqual(2);
    expect(made).toBeLessThanOrEqual(8);
    const orderDoneTypes = [...doneTypes].filter((type) => type.startsWith('xstate.done.actor.order:'));
    expect(orderDoneTypes.length).toBeGreaterThan(0);
    expect(orderDoneTypes.length).toBeLessThanOrEqual(8);
  });

  it('an order actor that crashes (a bug) frees its slot and its id, is counted as queued, and once still ends', async () => {
    // The crashed order's file stays claimed on disk: the next start resumes it.
    const files = Array.from({ length: 12 }, (_, i) => `_CFD_MAIL_REQ_${i}.XML`);
    const crashing = new Set(files.slice(0, 5)); // more than the lane's window of 4
    const order = fromPromise<OrderOutput, { fileName: string; orderId: string; company: string }>(async ({ input }) => {
      if (crashing.has(input.fileName)) throw new Error(`bug while handling ${input.fileName}`);
      return { fileName: input.fileName, orderId: input.orderId, company: input.company, outcome: 'sent', attempts: 1, errors: [] };
    });
    const t = build({ files, companyOf: () => 'ACME', send: async (f) => ok(f), order });
    t.actor.start();
    const out = await toPromise(t.actor);
    expect(out.counts).toEqual({ sent: 7, failed: 0, queued: 5, lost: 0, ignored: 0 });
    expect(Object.keys(t.actor.getSnapshot().children).filter((k) => k.startsWith('order:'))).toEqual([]);
    expect(t.actor.getSnapshot().context.childIds.made).toBeLessThanOrEqual(4);
  });

  it('never runs more sends of one company at once than its lane window', async () => {
    const files = Array.from({ length: 30 }, (_, i) => `_CFD_MAIL_REQ_${i}.XML`);
    const t = build({
      files,
      companyOf: () => 'ACME',
      maxConnections: 3,
      send: async (f) => {
        await new Promise((r) => setTimeout(r, 5));
        return ok(f);
      },
    });
    t.actor.start();
    await toPromise(t.actor);
    // Exactly the window, 2 × maxConnections: every granted order reaches its send before the first (5 ms) ends.
    expect(t.maxConcurrent).toBe(6);
  });

  it("a company whose server stalls holds only its own window: another company's orders are all sent meanwhile", async () => {
    const slow = Array.from({ length: 6 }, (_, i) => `_CFD_MAIL_REQ_SLOW${i}.XML`);
    const fast = Array.from({ length: 20 }, (_, i) => `_CFD_MAIL_REQ_FAST${i}.XML`);
    const stalled: string[] = [];
    const t = build({
      files: [...slow, ...fast],
      companyOf: (f) => (f.includes('SLOW') ? 'SLOW' : 'FAST'),
      maxConnections: 1,
      send: (f) => {
        if (!f.includes('SLOW')) return Promise.resolve(ok(f));
        stalled.push(f);
        return new Promise<SendResult>(() => {}); // its server never answers
      },
    });
    t.actor.start();
    try {
      for (let i = 0; i < 500 && t.sent.length < fast.length; i++) await new Promise((r) => setTimeout(r, 10));
      expect([...t.sent].sort()).toEqual([...fast].sort());
      expect(stalled).toEqual(slow.slice(0, 2)); // SLOW's window (2 × 1), first in first
    } finally {
      t.actor.stop();
    }
  });

  it('once: a temporary failure leaves the order queued (counted), a permanent one fails it', async () => {
    const t = build({
      files: ['_CFD_MAIL_REQ_T.XML', '_CFD_MAIL_REQ_P.XML', '_CFD_MAIL_REQ_OK.XML'],
      companyOf: () => 'ACME',
      retry: [60],
      send: async (f) => {
        if (f.includes('_T.')) throw new MailerError('SMTP_TEMPORARY', '451 try later', { smtp: { responseCode: 451 } });
        if (f.includes('_P.')) throw new MailerError('SMTP_PERMANENT', '550 no', { smtp: { responseCode: 550 } });
        return ok(f);
      },
    });
    t.actor.start();
    const out = await toPromise(t.actor);
    expect(out.counts).toEqual({ sent: 1, failed: 1, queued: 1, lost: 0, ignored: 0 });
    expect(t.failed).toEqual(['_CFD_MAIL_REQ_P.XML']);
  });

  it('once: an order whose claim is refused (held, access denied) stays in the order folder and is counted as queued, so the exit is 4', async () => {
    const t = build({
      files: ['_CFD_MAIL_REQ_RO.XML', '_CFD_MAIL_REQ_OK.XML'],
      companyOf: () => 'ACME',
      send: async (f) => ok(f),
      claimRefused: (f) => f.includes('_RO.'),
    });
    t.actor.start();
    const out = await toPromise(t.actor);
    expect(out.counts).toEqual({ sent: 1, failed: 0, queued: 1, lost: 0, ignored: 0 });
    expect(onceExitCode(out.counts)).toBe(4);
  });

  it('once stopped with orders not started yet (waiting in their lane): they are counted queued, so the exit is 4, never "all sent"', async () => {
    const files = Array.from({ length: 10 }, (_, i) => `_CFD_MAIL_REQ_${i}.XML`);
    const finish: (() => void)[] = [];
    const t = build({
      files,
      companyOf: () => 'ACME',
      maxConnections: 1,
      send: (f) => new Promise<SendResult>((resolve) => finish.push(() => resolve(ok(f)))),
    });
    t.actor.start();
    for (let i = 0; i < 500 && finish.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    expect(finish).toHaveLength(2); // the lane's window
    t.actor.send({ type: 'STOP' }); // Ctrl-C during the pass
    for (const f of finish) f();
    const out = await toPromise(t.actor);
    expect(out.counts).toEqual({ sent: 2, failed: 0, queued: 8, lost: 0, ignored: 0 });
    expect(onceExitCode(out.counts)).toBe(4);
  });

  it('once: entries named like orders that are not files (links, folders) are counted as ignored, so the exit is not 0', async () => {
    const t = build({ files: ['_CFD_MAIL_REQ_OK.XML'], notFiles: ['_CFD_MAIL_REQ_LINK.XML'], companyOf: () => 'ACME', send: async (f) => ok(f) });
    t.actor.start();
    const out = await toPromise(t.actor);
    expect(out.counts).toEqual({ sent: 1, failed: 0, queued: 0, lost: 0, ignored: 1 });
    expect(t.sent).toEqual(['_CFD_MAIL_REQ_OK.XML']);
    expect(onceExitCode(out.counts)).toBe(4);
  });
});
