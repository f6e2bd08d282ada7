/**
 * A stop under load, through the real CLI: a daemon stopped the way its
 * system's service manager stops it, in the middle of 3,000 orders against a
 * slow server. On POSIX (SIGTERM) it exits promptly and cleanly: the in-flight
 * sends finish, nothing new starts, nothing is left half-done. On Windows
 * (terminated, as Task Scheduler's End does) the orders it held stay claimed.
 * On both, a restart against a healthy server sends every order, and only a
 * message in flight at the stop may arrive twice (none after a clean stop).
 */
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { scopedScriptedSmtp } from '../helpers/scoped.js';
import { removeTmpDirs } from '../helpers/tmp.js';
import {
  claimedOrders,
  dropMany,
  eventually,
  expectEachSentOnceBeyondInFlight,
  expectStopped,
  makeWorld,
  messageIdFor,
  messageIdOf,
  orderIdOf,
  orderName,
  orderXml,
  ordersIn,
  profile,
  started,
  startMailer,
  stopMailer,
  stopsCleanly,
  underWine,
  writeConfig,
} from './kit.js';

afterAll(removeTmpDirs);

describe('a stop under load', () => {
  it('stopped with 3,000 orders (1,000 under Wine) against a slow server: exits promptly (SIGTERM) or is terminated (Windows), and a restart sends every order once, beyond what was in flight', async () => {
    const world = await makeWorld();
    const slow = await scopedScriptedSmtp({ replyDelayMs: 100 });
    const healthy = await scopedScriptedSmtp();
    // Under Wine (the Windows lane) every file call is emulated: the restart's pass over 3,000 orders alone takes a minute there.
    const count = underWine ? 1_000 : 3_000;
    const ids = Array.from({ length: count }, (_, i) => `T${String(i).padStart(5, '0')}`);
    // The orders name no server: the company profile does, so the restart can point them at a healthy one.
    const slowConfig = await writeConfig(world, { hostId: 'h1', companies: { ACME: profile(slow.port) } }, 'slow.json');
    const healthyConfig = await writeConfig(world, { hostId: 'h1', companies: { ACME: profile(healthy.port) } }, 'healthy.json');

    const cli = startMailer(['run', '--config', slowConfig]);
    await started(cli);
    await dropMany(world, ids.map((id) => ({ name: orderName(id), xml: orderXml({}) })));
    await eventually(() => slow.messages.length >= 3, 30_000, 'the first sends');
    const signalledAt = Date.now();
    const exit = await stopMailer(cli);
    const shutdownMs = Date.now() - signalledAt;
    console.log(`load: stopped with ${count} orders queued: exited in ${shutdownMs} ms after ${slow.messages.length} sends`);
    expectStopped(exit);
    expect(shutdownMs).toBeLessThan(30_000);
    const claimedAtStop = await claimedOrders(world);
    const sentBefore = await ordersIn(path.join(world.dir, 'enviados'));
    // Every order is in exactly one place: sent, claimed (in flight) or still waiting in the order folder.
    expect(sentBefore.length + claimedAtStop.length + (await ordersIn(world.dir)).length).toBe(count);
    if (stopsCleanly) {
      // A clean stop leaves nothing half-done.
      expect(claimedAtStop).toEqual([]);
      expect(sentBefore.length).toBe(slow.messages.length);
    } else {
      // Terminated: what the server accepted and the mailer did not archive yet is among the claimed orders.
      const archived = new Set(sentBefore.map((name) => messageIdFor(orderIdOf(name))));
      const claimed = new Set(claimedAtStop.map((name) => messageIdFor(orderIdOf(name))));
      for (const id of slow.messages.map((m) => messageIdOf(m.raw)!)) expect(archived.has(id) || claimed.has(id), id).toBe(true);
    }

    const restart = startMailer(['once', '--config', healthyConfig]);
    const again = await restart.exited;
    expect(again.code).toBe(0);

    const all = [...slow.messages, ...healthy.messages];
    // After a clean stop nothing was claimed, so nothing may arrive twice.
    const { duplicates, repeated } = expectEachSentOnceBeyondInFlight(all.map((m) => m.raw), ids, claimedAtStop);
    console.log(`load: after the restart all ${count} orders sent, ${duplicates} sent twice (${repeated.join(', ') || 'none'})`);
    expect(await ordersIn(path.join(world.dir, 'enviados'))).toHaveLength(count);
    expect(await ordersIn(world.dir)).toEqual([]);
    expect(await claimedOrders(world)).toEqual([]);
  }, 180_000);
});
