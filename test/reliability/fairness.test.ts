/**
 * Companies never starve each other (issue 3, spec §5): one company's backlog
 * does not delay another company's order, a company never holds more than its
 * `maxConnections` connections, and `perMinute` bounds what it starts per
 * minute. The real CLI, scripted SMTP servers, real folders.
 */
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { scopedScriptedSmtp } from '../helpers/scoped.js';
import { removeTmpDirs } from '../helpers/tmp.js';
import {
  claimedOrders,
  dropMany,
  dropOrder,
  eventually,
  expectStopped,
  makeWorld,
  messageIdFor,
  messageIdOf,
  orderIdOf,
  orderName,
  orderXml,
  ordersIn,
  started,
  startMailer,
  stopMailer,
  stopsCleanly,
  writeConfig,
} from './kit.js';

afterAll(removeTmpDirs);

describe('fairness between companies', () => {
  it('a backlog of 2,000 orders of one company does not delay another company\'s invoice; the big one stays within 2 connections', async () => {
    const world = await makeWorld();
    const slow = await scopedScriptedSmtp({ replyDelayMs: 20 });
    let acceptedAt: number | undefined;
    const fast = await scopedScriptedSmtp({
      reply: (s) => {
        if (s.command === 'DOT') acceptedAt ??= Date.now();
        return undefined;
      },
    });
    const config = await writeConfig(world, {
      hostId: 'h1',
      companies: { GRANDE: { smtp: { host: '127.0.0.1', port: slow.port, security: 'NINGUNA' }, maxConnections: 2 } },
    });
    const cli = startMailer(['run', '--config', config]);
    await started(cli);

    const backlog = Array.from({ length: 2000 }, (_, i) => ({
      name: orderName(`A${String(i).padStart(5, '0')}`),
      xml: orderXml({ port: slow.port, company: 'GRANDE' }),
    }));
    await dropMany(world, backlog);
    await eventually(() => slow.messages.length > 0, 10_000, 'the backlog to start');
    const droppedAt = await dropOrder(world, orderName('B1'), orderXml({ port: fast.port, company: 'CHICA' }));
    await eventually(() => acceptedAt !== undefined, 10_000, 'the small company\'s invoice');
    const delay = acceptedAt! - droppedAt;
    console.log(`fairness: small company's invoice accepted ${delay} ms after its rename, behind a backlog of 2,000 (${slow.messages.length} of them sent by then)`);
    expect(delay).toBeLessThanOrEqual(2_000);
    expect(fast.messages.map((m) => messageIdOf(m.raw))).toEqual([messageIdFor('B1')]);

    // Keep the backlog going a little longer, then stop it (SIGTERM; terminated on Windows): nothing lost, nothing sent twice.
    const before = slow.messages.length;
    await eventually(() => slow.messages.length >= before + 20, 10_000, 'more of the backlog');
    expectStopped(await stopMailer(cli));
    console.log(`fairness: largest number of simultaneous connections of the big company: ${slow.maxOpenSessions}`);
    expect(slow.maxOpenSessions).toBeLessThanOrEqual(2);

    const sent = await ordersIn(path.join(world.dir, 'enviados'));
    const waiting = await ordersIn(world.dir);
    const claimed = await claimedOrders(world);
    expect(await ordersIn(path.join(world.dir, 'errores'))).toEqual([]);
    expect(sent.length + waiting.length + claimed.length).toBe(2001);
    expect(new Set([...sent, ...waiting, ...claimed]).size).toBe(2001);
    const ids = slow.messages.map((m) => messageIdOf(m.raw));
    expect(new Set(ids).size).toBe(ids.length);
    if (stopsCleanly) {
      expect(sent.length).toBe(ids.length + 1);
    } else {
      // Terminated: a message accepted but not archived yet is still claimed, and the next start resumes it.
      const done = new Set([...sent, ...claimed].map((name) => messageIdFor(orderIdOf(name))));
      for (const id of ids) expect(done.has(id!), id).toBe(true);
    }
  }, 90_000);

  it('perMinute 5 with 12 orders: 5 accepted, the other 7 wait in the order folder; a stop (SIGTERM; terminated on Windows) loses nothing', async () => {
    const world = await makeWorld();
    const server = await scopedScriptedSmtp();
    const config = await writeConfig(world, {
      hostId: 'h1',
      companies: { LIMITADA: { smtp: { host: '127.0.0.1', port: server.port, security: 'NINGUNA' }, maxConnections: 2, perMinute: 5 } },
    });
    const cli = startMailer(['run', '--config', config]);
    await started(cli);
    const orders = Array.from({ length: 12 }, (_, i) => ({
      name: orderName(`P${String(i).padStart(2, '0')}`),
      xml: orderXml({ port: server.port, company: 'LIMITADA' }),
    }));
    await dropMany(world, orders);
    await eventually(() => server.messages.length >= 5, 10_000, 'the first five');
    // Nothing more may start within the minute: watch for 3 s.
    await new Promise((r) => setTimeout(r, 3_000));
    expect(server.messages).toHaveLength(5);
    expect(await ordersIn(world.dir)).toHaveLength(7);
    await eventually(async () => (await ordersIn(path.join(world.dir, 'enviados'))).length === 5, 10_000, 'the five archived');

    expectStopped(await stopMailer(cli));
    expect(server.messages).toHaveLength(5);
    expect(await ordersIn(path.join(world.dir, 'enviados'))).toHaveLength(5);
    const waiting = await ordersIn(world.dir);
    expect(waiting).toHaveLength(7);
    expect(await claimedOrders(world)).toEqual([]);
    const sent = await ordersIn(path.join(world.dir, 'enviados'));
    expect(new Set([...sent, ...waiting])).toEqual(new Set(orders.map((o) => o.name)));
  });
});
