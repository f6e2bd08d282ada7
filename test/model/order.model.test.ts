/**
 * Model-based test of an order's life (xstate/graph `createTestModel`):
 * every shortest path and every simple path of the model in order-model.ts
 * is executed against the real system (order-harness.ts: the real order
 * machine with the real actors, a scripted real SMTP server, real folders).
 * At each model state the test checks the disk and the server. The run also
 * records which transitions of the real order machine were taken and fails
 * unless every one of them was.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestModel } from 'xstate/graph';
import { createActor, fromPromise, sendTo, setup, toPromise } from 'xstate';
import { createOrderActors } from '../../src/actors/order-actors.js';
import { MailerError } from '../../src/errors.js';
import { orderMachine } from '../../src/machines/order.js';
import type { FailureRouting, LoadOrderOutput, NotifyInput, OrderInput, RouteInput } from '../../src/machines/order-context.js';
import type { ResolvedOrder, SendResult } from '../../src/ports.js';
import { removeTmpDirs } from '../helpers/tmp.js';
import { ModelRules, TransitionRecorder } from './model-rules.js';
import { ERROR_ADDRESS, ORDER, OrderHarness, orderXml } from './order-harness.js';
import { orderModel } from './order-model.js';

afterAll(removeTmpDirs);

// ---- transition coverage of the real order machine ----
const recorder = new TransitionRecorder((event) => (event.actorRef as { id?: string }).id?.startsWith('order') ?? false);
const record = recorder.record;

// ---- the model's states, checked against disk and server ----
type H = OrderHarness;
const note = (h: H) => readFile(path.join(h.dir, 'errores', `${ORDER}.error.txt`), 'utf8');
async function waiting(h: H) {
  expect(await h.listing()).toContain(ORDER);
  expect(await h.claimed()).toEqual([]);
  expect(h.server.messages).toHaveLength(0);
}
const states: Record<string, (h: H) => Promise<void>> = {
  empty: async (h) => {
    expect(await h.listing()).not.toContain(ORDER);
  },
  inbox: waiting,
  inboxInvalid: waiting,
  inboxInvalidSilent: waiting,
  inboxUnreadable: waiting,
  inboxHandedOver: waiting,
  claimBlocked: waiting,
  readBlocked: async (h) => {
    expect(await h.claimed()).toContain(ORDER);
    expect(h.customerMessages()).toHaveLength(0);
  },
  deferred: async (h) => {
    expect(await h.listing()).not.toContain(ORDER);
    expect(await h.claimed()).toContain(ORDER);
    const state = await h.state();
    expect(state?.attempts).toBe(1);
    expect(state?.nextTryAt).toBeGreaterThan(0);
    expect(h.customerMessages()).toHaveLength(0);
  },
  deferredResumed: async (h) => {
    // A start before the retry is due (the server now accepts) sends nothing early: it waits, its try not counted again.
    expect(h.orderState()).toBe('deferred');
    expect(await h.listing()).not.toContain(ORDER);
    expect(await h.claimed()).toContain(ORDER);
    expect((await h.state())?.attempts).toBe(1);
    expect(h.server.messages).toHaveLength(0);
  },
  deferredUnsaved: async (h) => {
    expect(await h.claimed()).toContain(ORDER);
    expect(await h.state()).toBeUndefined();
    expect(h.customerMessages()).toHaveLength(0);
  },
  stuckSent: async (h) => {
    expect(h.customerMessages()).toHaveLength(1);
    expect(await h.claimed()).toContain(ORDER);
    expect((await h.state())?.sentAt).toBeGreaterThan(0);
  },
  stuckSentUnsaved: async (h) => {
    expect(h.customerMessages()).toHaveLength(1);
    expect(await h.claimed()).toContain(ORDER);
  },
  stuckFailed: async (h) => {
    expect(await h.claimed()).toContain(ORDER);
    expect(existsSync(path.join(h.dir, 'errores', ORDER))).toBe(false);
    expect(h.notifications()).toHaveLength(0);
  },
  sent: async (h) => {
    expect(await h.listing('enviados')).toEqual([ORDER]);
    expect(await h.claimed()).toEqual([]);
    expect(h.customerMessages()).toHaveLength(1); // never twice, whatever happened on the way
  },
  sentPartial: async (h) => {
    expect(await h.listing('enviados')).toEqual([ORDER]);
    expect(h.customerMessages()).toHaveLength(1);
    expect(h.customerMessages()[0]!.rcptTo).toEqual(['cliente@example.com']);
    expect(h.notifications()).toHaveLength(1);
    expect(h.notifications()[0]!.raw.toString()).toContain('otro@example.com');
  },
  failed: async (h) => {
    expect((await h.listing('errores')).sort()).toEqual([ORDER, `${ORDER}.error.txt`]);
    expect(await note(h)).toContain(ORDER);
    expect(h.customerMessages()).toHaveLength(0);
    expect(h.notifications()).toHaveLength(1);
    expect(h.notifications()[0]!.rcptTo).toEqual([ERROR_ADDRESS]);
  },
  crashedOnce: async (h) => {
    // Claimed when the process died: no state file at all, which the next start reads as "it was in flight".
    expect(await h.claimed()).toEqual([ORDER]);
    expect(await h.state()).toBeUndefined();
    expect(h.server.messages).toHaveLength(0);
  },
  crashedTwice: async (h) => {
    expect(await h.claimed()).toContain(ORDER);
    const state = await h.state();
    expect(state?.inFlightSince).toBeGreaterThan(0);
    expect(state?.crashes).toBe(1);
    expect(h.server.messages).toHaveLength(0);
  },
  setAside: async (h) => {
    expect((await h.listing('errores')).sort()).toEqual([ORDER, `${ORDER}.error.txt`]);
    expect(await h.claimed()).toEqual([]);
    expect(await note(h)).toContain('El programa se detuvo inesperadamente mientras procesaba esta orden (2 veces seguidas)');
    expect(await note(h)).toContain('Revise el registro (log) del programa');
    expect(h.customerMessages()).toHaveLength(0);
    // Reported like any failed order, to the order's own CorreoErrores (read in isolation).
    expect(h.notifications()).toHaveLength(1);
    expect(h.notifications()[0]!.rcptTo).toEqual([ERROR_ADDRESS]);
  },
  failedSilent: async (h) => {
    expect((await h.listing('errores')).sort()).toEqual([ORDER, `${ORDER}.error.txt`]);
    expect(h.notifications()).toHaveLength(0);
  },
  exhausted: async (h) => {
    expect((await h.listing('errores')).sort()).toEqual([ORDER, `${ORDER}.error.txt`]);
    const text = await note(h);
    expect(text).toContain('Intentos: 2');
    expect(text).toContain('451');
    expect(h.notifications()).toHaveLength(1);
  },
  lost: async (h) => {
    expect(await h.listing()).not.toContain(ORDER);
    expect(await h.claimed()).toEqual([]);
    expect(h.server.messages).toHaveLength(0);
  },
};

// ---- the model's events, executed against the real system ----
const valid = { valid: true, errorMail: true };
function events(h: H) {
  const passWith = (mode: H['mode']) => async () => {
    h.mode = mode;
    await h.pass();
  };
  const retryWith = (mode: H['mode']) => async () => {
    h.halt(); // the process that deferred it has ended; a later one retries
    await h.waitUntilDue();
    h.mode = mode;
    await h.pass();
  };
  const enviados = () => path.join(h.dir, 'enviados');
  const errores = () => path.join(h.dir, 'errores');
  const statePath = () => path.join(h.claimsDir, `${ORDER}.state.json`);
  /** Removes the folder a test put where the state file goes (the cause, fixed). */
  const clearStateBlock = () => rm(statePath(), { recursive: true, force: true });
  return {
    DROP_VALID: () => h.writeOrder(valid),
    DROP_INVALID: () => h.writeOrder({ valid: false, errorMail: true }),
    DROP_INVALID_SILENT: () => h.writeOrder({ valid: false, errorMail: false }),
    // A file that cannot be read (here a folder with an order's name; on Windows, one held open).
    DROP_UNREADABLE: () => mkdir(path.join(h.dir, ORDER)),
    // Another mailer claims the order between its detection and our claim.
    DROP_TAKEN: passWith('accept'),
    DROP_HANDED_OVER: async () => {
      const handover = path.join(h.config.workDir, 'handover');
      await mkdir(handover, { recursive: true });
      const state = { attempts: 1, firstSeenAt: Date.now() - 60_000, nextTryAt: Date.now() - 1000, company: 'ACME', lastError: { code: 'SMTP_TEMPORARY', message: '451' } };
      await writeFile(path.join(handover, `${ORDER}.state.json`), JSON.stringify(state));
      await h.writeOrder(valid);
    },
    PASS: passWith('accept'),
    PASS_ACCEPT: passWith('accept'),
    PASS_PARTIAL: passWith('partial'),
    PASS_TEMPFAIL: passWith('temp'),
    PASS_PERMFAIL: passWith('perm'),
    PASS_CLAIM_BLOCKED: async () => {
      await mkdir(path.dirname(h.claimsDir), { recursive: true });
      await h.block(h.claimsDir);
      await passWith('accept')();
      await h.unblock(h.claimsDir);
    },
    PASS_READ_BLOCKED: passWith('accept'),
    FIX_AND_LIVE: async () => {
      await rm(path.join(h.claimsDir, ORDER), { recursive: true });
      await writeFile(path.join(h.claimsDir, ORDER), orderXml(h.server.port, valid));
      h.mode = 'accept';
      await h.live();
      await clearStateBlock();
    },
    PASS_ARCHIVE_BLOCKED: async () => {
      await h.block(enviados());
      await passWith('accept')();
    },
    PASS_ARCHIVE_AND_STATE_BLOCKED: async () => {
      await h.block(enviados());
      await mkdir(statePath(), { recursive: true });
      await passWith('accept')();
    },
    PASS_ERRORES_BLOCKED: async () => {
      await h.block(errores());
      await passWith('accept')();
    },
    // The same, and its state file cannot be written either while it waits.
    PASS_ERRORES_AND_STATE_BLOCKED: async () => {
      await h.block(errores());
      await mkdir(statePath(), { recursive: true });
      await passWith('accept')();
    },
    PASS_READ_AND_STATE_BLOCKED: async () => {
      await mkdir(statePath(), { recursive: true });
      await passWith('accept')();
    },
    PASS_CRASH: () => h.passCrashing(),
    PASS_TEMPFAIL_UNSAVED: async () => {
      await mkdir(statePath(), { recursive: true });
      await passWith('temp')();
    },
    RETRY_LIVE_ACCEPT: async () => {
      h.mode = 'accept';
      await h.live();
      await clearStateBlock();
    },
    RESTART_EARLY: async () => {
      const due = (await h.state())?.nextTryAt;
      await passWith('accept')();
      expect((await h.state())?.nextTryAt).toBe(due);
    },
    RESTART_ACCEPT: async () => {
      await passWith('accept')();
      await clearStateBlock();
    },
    RETRY_ACCEPT: retryWith('accept'),
    RETRY_TEMPFAIL: retryWith('temp'),
    RETRY_PERMFAIL: retryWith('perm'),
    UNBLOCK_LIVE: async () => {
      await h.unblock(enviados());
      await h.unblock(errores());
      await h.live();
      await clearStateBlock();
    },
    RESTART_AFTER_SENT: async () => {
      await h.unblock(enviados());
      await h.pass();
    },
  };
}

/** Each model event's exec, for the harness it is given. */
const execs = Object.fromEntries(
  Object.keys(events({} as H)).map((type) => [type, (h: H) => events(h)[type as keyof ReturnType<typeof events>]()]),
);
const rules = new ModelRules<H>(orderModel, states, execs);
const model = createTestModel(orderModel);
const shortest = model.getShortestPaths();
const simple = model.getSimplePaths();

/** A path that is both a shortest and a simple path is run once. */
const unique = [...new Map([...shortest, ...simple].map((p) => [p.description, p])).values()];

describe('order lifecycle, model-based, against the real system', () => {
  it('has a check for every model state and an exec for every model event', () => {
    expect(rules.missing()).toEqual({ statesWithoutCheck: [], eventsWithoutExec: [], strayChecks: [], strayExecs: [] });
  });

  for (const testPath of unique) {
    it(testPath.description, async () => {
      const h = new OrderHarness(record);
      await h.start();
      try {
        await testPath.test(rules.params(h) as Parameters<typeof testPath.test>[0]);
        rules.walkedPath(testPath.steps);
      } finally {
        await h.stop();
      }
    });
  }

  // Conditions no real setup can time: a claim taken over between claim and read,
  // an unexpected read error, a notifier that throws. Real actors, one effect wrapped.
  it('fault injection: claim lost after claiming, unexpected read error, notifier failure', async () => {
    const h = new OrderHarness(record);
    await h.start();
    try {
      const run = async (overrides: Parameters<typeof orderMachine.provide>[0]['actors']) => {
        const machine = orderMachine.provide({ actors: { ...h.actors(), ...overrides } });
        const parent = setup({ actors: { order: machine } }).createMachine({
          invoke: { id: 'order', src: 'order', input: { fileName: ORDER, orderId: 'MODEL', company: 'ACME', location: 'inbox', retrySchedule: [1] } satisfies OrderInput },
          on: { 'ORDER.WANTS_SLOT': { actions: sendTo('order', { type: 'GO' }) } },
        });
        const actor = createActor(parent, { inspect: record }).start();
        for (let i = 0; i < 500 && actor.getSnapshot().children.order?.getSnapshot().status !== 'done'; i++) {
          await new Promise((r) => setTimeout(r, 10));
        }
        const output = actor.getSnapshot().children.order?.getSnapshot().output as { outcome: string } | undefined;
        actor.stop();
        return output?.outcome;
      };
      await h.writeOrder(valid);
      const lost = await run({
        loadOrder: fromPromise<LoadOrderOutput, { fileName: string }>(async () => {
          await rm(path.join(h.claimsDir, ORDER));
          throw new MailerError('CLAIM_LOST', 'the claimed file vanished');
        }),
      });
      expect(lost).toBe('lost');
      // Taken over by another machine (this one stopped past the stale time) after the
      // attachments were checked: the real sendOrder confirms the claim and sends nothing.
      await h.writeOrder(valid);
      const takeOver = () => rename(path.join(h.claimsDir, ORDER), path.join(h.dir, ORDER));
      const { sendOrder } = createOrderActors({
        config: h.config,
        store: h.store,
        sender: { send: async () => Promise.reject(new Error('sent a message whose claim was lost')), close: async () => {} },
        notifier: { notify: async () => {}, close: async () => {} },
        resolveAttachments: async () => (await takeOver(), []),
      });
      expect(await run({ sendOrder })).toBe('lost');
      await rm(path.join(h.dir, ORDER));
      // Sent, then found taken over when archiving: left to the machine that has it, not moved again and again.
      await h.writeOrder(valid);
      const sentThenLost = await run({
        sendOrder: fromPromise<SendResult, { resolved: ResolvedOrder }>(async ({ input }) => {
          await takeOver();
          return { messageId: input.resolved.messageId, accepted: ['cliente@example.com'], rejected: [], response: '250 OK' };
        }),
      });
      expect(sentThenLost).toBe('lost');
      expect(await h.listing()).toContain(ORDER);
      await rm(path.join(h.dir, ORDER));
      await h.writeOrder(valid);
      const failed = await run({
        loadOrder: fromPromise<LoadOrderOutput, { fileName: string }>(async () => {
          throw new MailerError('INTERNAL', 'unexpected');
        }),
      });
      expect(failed).toBe('failed');
      expect(await h.listing('errores')).toContain(ORDER);
      // A notifier that throws (a bug) must not leave the order hanging.
      await rm(path.join(h.dir, 'errores'), { recursive: true });
      await h.writeOrder(valid);
      h.mode = 'perm';
      const notifyBroken = await run({
        notifyFailure: fromPromise<void, NotifyInput>(async () => {
          throw new Error('notifier bug');
        }),
      });
      expect(notifyBroken).toBe('failed');
      expect(await h.listing('errores')).toContain(ORDER);
      // Set aside after two crashes, and where to report it cannot be found out: it still goes to
      // errores/ with its note (nobody to tell). The claimed order's state says it was in flight once before.
      await rm(path.join(h.dir, 'errores'), { recursive: true });
      await mkdir(h.claimsDir, { recursive: true });
      await writeFile(path.join(h.claimsDir, ORDER), orderXml(h.server.port, valid));
      await writeFile(path.join(h.claimsDir, `${ORDER}.state.json`), JSON.stringify({ attempts: 0, firstSeenAt: Date.now(), inFlightSince: Date.now(), crashes: 1 }));
      const sentBefore = h.server.messages.length;
      const machine = orderMachine.provide({
        actors: {
          ...h.actors(),
          routeOrder: fromPromise<FailureRouting, RouteInput>(async () => {
            throw new Error('cannot route');
          }),
        },
      });
      const resumed = createActor(machine, {
        id: 'order-resumed',
        input: { fileName: ORDER, orderId: 'MODEL', company: 'ACME', location: 'claimed', retrySchedule: [1] } satisfies OrderInput,
        inspect: record,
      }).start();
      const output = (await toPromise(resumed)) as { outcome: string; errors: { code: string }[] };
      expect(output.outcome).toBe('failed');
      expect(output.errors.map((e) => e.code)).toEqual(['ORDER_CRASHED_MAILER']);
      expect(await h.listing('errores')).toContain(ORDER);
      expect(h.server.messages.length).toBe(sentBefore);
    } finally {
      await h.stop();
    }
  });

  it('walked every model transition, checked every model state and executed every model event', () => {
    expect(rules.unwalked()).toEqual({ transitions: [], states: [], events: [] });
  });

  it('covered every transition of the real order machine', () => {
    const missing = recorder.missing(orderMachine);
    const size = rules.size;
    console.log(
      `model-based run: ${shortest.length} shortest + ${simple.length} simple paths (${unique.length} distinct, all run), ` +
        `model ${size.states} states, ${size.events} events, ${size.transitions} transitions; ` +
        `order machine transitions covered: ${recorder.coverage(orderMachine)}`,
    );
    expect(missing, `not covered:\n${missing.join('\n')}`).toEqual([]);
  });
});
