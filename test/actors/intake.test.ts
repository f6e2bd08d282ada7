import { createActor, setup } from 'xstate';
import { describe, expect, it } from 'vitest';

import { createIntakeLogic, YIELD_EVERY } from '../../src/actors/intake.js';
import { buildConfig } from '../../src/config/load.js';
import type { SupervisorEvent } from '../../src/machines/supervisor.js';

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
