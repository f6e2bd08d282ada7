import { createActor, setup } from 'xstate';
import { describe, expect, it } from 'vitest';

import { createIntakeLogic, YIELD_EVERY } from '../../src/actors/intake.js';
import { buildConfig } from '../../src/config/load.js';
import { MailerError } from '../../src/errors.js';
import { tooLargeError } from '../../src/order/decode.js';
import type { SupervisorEvent } from '../../src/machines/supervisor-types.js';

const config = buildConfig({ env: {}, flags: { dir: '/srv/envio_mails' } });
const orderBytes = (company: string) =>
  Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>\n<OrdenEnvio><Empresa>${company}</Empresa><Para>a@b.mx</Para></OrdenEnvio>\n`);
const name = (i: number) => `_CFD_MAIL_REQ_T${String(i).padStart(5, '0')}.XML`;

/** The intake invoked by a minimal parent that records what it sends back. */
function startIntake(readInbox: (fileName: string) => Promise<Buffer | undefined>) {
  const events: SupervisorEvent[] = [];
  const parent = setup({
    actors: { intake: createIntakeLogic({ config, readInbox, readClaimed: readInbox }) },
  }).createMachine({
    invoke: { id: 'intake', src: 'intake' },
    on: { '*': { actions: ({ event }) => events.push(event as SupervisorEvent) } },
  });
  const actor = createActor(parent).start();
  const send = (files: string[]) =>
    actor.getSnapshot().children.intake!.send({ type: 'INTAKE.FILES', files: files.map((fileName) => ({ fileName, location: 'inbox' as const })) });
  return { events, send, stop: () => actor.stop() };
}

describe('createIntakeLogic', () => {
  it('hands on every file once, with the company read from its bytes', async () => {
    const files = Array.from({ length: 50 }, (_, i) => name(i));
    const { events, send, stop } = startIntake(async (f) => orderBytes(Number(f.slice(-9, -4)) % 2 ? 'Impar' : 'Par'));
    send(files);
    while (events.length < files.length) await new Promise((r) => setTimeout(r, 5));
    stop();
    const ready = events.filter((e) => e.type === 'INTAKE.READY') as Extract<SupervisorEvent, { type: 'INTAKE.READY' }>[];
    expect(ready.map((e) => e.order.fileName).sort()).toEqual(files);
    expect(ready.find((e) => e.order.fileName === name(3))!.order.company).toBe('IMPAR');
    expect(ready.find((e) => e.order.fileName === name(4))!.order.company).toBe('PAR');
  });

  it('lets the event loop run while a large backlog is read, even when every read completes at once', async () => {
    const files = Array.from({ length: 20 * YIELD_EVERY }, (_, i) => name(i));
    const bytes = orderBytes('ACME');
    const { events, send, stop } = startIntake(() => Promise.resolve(bytes));
    let handedOnBeforeLoopRan: number | undefined;
    setImmediate(() => (handedOnBeforeLoopRan = events.length));
    send(files);
    while (events.length < files.length) await new Promise((r) => setTimeout(r, 5));
    stop();
    expect(handedOnBeforeLoopRan).toBeDefined();
    // At most YIELD_EVERY files plus the readers already past the gate (concurrency 8).
    expect(handedOnBeforeLoopRan!).toBeLessThanOrEqual(YIELD_EVERY + 8);
  });
});

describe('createIntakeLogic: files it cannot read whole', () => {
  it('hands an order above the size limit on to its order actor (which fails it unread), in the lane of an order naming no company', async () => {
    const big = name(1);
    const { events, send, stop } = startIntake(async (f) => {
      if (f === big) throw tooLargeError(3 * 1024 ** 3, undefined, `/srv/envio_mails/${f}`);
      return orderBytes('ACME');
    });
    send([big, name(2)]);
    while (events.length < 2) await new Promise((r) => setTimeout(r, 5));
    stop();
    expect(events).toContainEqual({ type: 'INTAKE.READY', order: { fileName: big, orderId: 'T00001', company: '', location: 'inbox' } });
    expect(events).toContainEqual({ type: 'INTAKE.READY', order: { fileName: name(2), orderId: 'T00002', company: 'ACME', location: 'inbox' } });
  });

  it('leaves a file it cannot read now in the order folder (DROPPED, held or unreadable), with a warning naming it', async () => {
    const warnings: object[] = [];
    const events: SupervisorEvent[] = [];
    const parent = setup({
      actors: {
        intake: createIntakeLogic({
          config,
          readInbox: async (f) => {
            throw f === name(1)
              ? new MailerError('FS_HELD', `held open by another program (EBUSY): ${f}: read failed`)
              : new MailerError('FS_ACCESS_FAILED', `wait for order failed (ETIMEDOUT): ${f}: still being written after 60000 ms`);
          },
          readClaimed: async () => undefined,
          logger: { warn: (obj: object) => warnings.push(obj) },
        }),
      },
    }).createMachine({ invoke: { id: 'intake', src: 'intake' }, on: { '*': { actions: ({ event }) => events.push(event as SupervisorEvent) } } });
    const actor = createActor(parent).start();
    actor.getSnapshot().children.intake!.send({ type: 'INTAKE.FILES', files: [name(1), name(2)].map((fileName) => ({ fileName, location: 'inbox' as const })) });
    while (events.length < 2) await new Promise((r) => setTimeout(r, 5));
    actor.stop();
    expect(events).toContainEqual({ type: 'INTAKE.DROPPED', fileName: name(1), reason: 'held' });
    expect(events).toContainEqual({ type: 'INTAKE.DROPPED', fileName: name(2), reason: 'unreadable' });
    expect(warnings).toContainEqual(expect.objectContaining({ event: 'order.held', fileName: name(1), errorCode: 'FS_HELD' }));
    expect(warnings).toContainEqual(expect.objectContaining({ event: 'order.unreadable', fileName: name(2), errorCode: 'FS_ACCESS_FAILED' }));
  });
});
