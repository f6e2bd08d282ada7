/**
 * SIGTERM under load, through the real CLI: a daemon stopped in the middle of
 * 3,000 orders against a slow server exits promptly (the in-flight sends
 * finish, nothing new starts), leaves nothing half-done, and a restart
 * against a healthy server sends every order exactly once.
 */
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { scopedScriptedSmtp } from '../helpers/scoped.js';
import { removeTmpDirs } from '../helpers/tmp.js';
import {
  claimedOrders,
  dropMany,
  eventually,
  makeWorld,
  messageIdFor,
  messageIdOf,
  orderName,
  orderXml,
  ordersIn,
  profile,
  started,
  startMailer,
  tally,
  writeConfig,
} from './kit.js';

afterAll(removeTmpDirs);

describe('SIGTERM under load', () => {
  it('SIGTERM with 3,000 orders against a slow server: exits promptly, and a restart sends every order exactly once', async () => {
    const world = await makeWorld();
    const slow = await scopedScriptedSmtp({ replyDelayMs: 100 });
    const healthy = await scopedScriptedSmtp();
    const count = 3_000;
    const ids = Array.from({ length: count }, (_, i) => `T${String(i).padStart(5, '0')}`);
    // The orders name no server: the company profile does, so the restart can point them at a healthy one.
    const slowConfig = await writeConfig(world, { hostId: 'h1', companies: { ACME: profile(slow.port) } }, 'slow.json');
    const healthyConfig = await writeConfig(world, { hostId: 'h1', companies: { ACME: profile(healthy.port) } }, 'healthy.json');

    const cli = startMailer(['run', '--config', slowConfig]);
    await started(cli);
    await dropMany(world, ids.map((id) => ({ name: orderName(id), xml: orderXml({}) })));
    await eventually(() => slow.messages.length >= 3, 30_000, 'the first sends');
    const signalledAt = Date.now();
    cli.child.kill('SIGTERM');
    const exit = await cli.exited;
    const shutdownMs = Date.now() - signalledAt;
    console.log(`load: SIGTERM with ${count} orders queued: exited in ${shutdownMs} ms after ${slow.messages.length} sends`);
    expect(exit.code).toBe(0);
    expect(shutdownMs).toBeLessThan(30_000);
    // A clean stop leaves nothing half-done: every order is sent or still waiting in the order folder.
    expect(await claimedOrders(world)).toEqual([]);
    const sentBefore = await ordersIn(path.join(world.dir, 'enviados'));
    expect(sentBefore.length).toBe(slow.messages.length);
    expect(sentBefore.length + (await ordersIn(world.dir)).length).toBe(count);

    const restart = startMailer(['once', '--config', healthyConfig]);
    const again = await restart.exited;
    expect(again.code).toBe(0);

    const all = [...slow.messages, ...healthy.messages];
    const { distinct, duplicates } = tally(all.map((m) => m.raw));
    console.log(`load: after the restart ${distinct} distinct orders sent of ${count}, ${duplicates} sent twice`);
    expect(duplicates).toBe(0);
    expect(distinct).toBe(count);
    expect(new Set(all.map((m) => messageIdOf(m.raw)))).toEqual(new Set(ids.map(messageIdFor)));
    expect(await ordersIn(path.join(world.dir, 'enviados'))).toHaveLength(count);
    expect(await ordersIn(world.dir)).toEqual([]);
    expect(await claimedOrders(world)).toEqual([]);
  }, 180_000);
});
