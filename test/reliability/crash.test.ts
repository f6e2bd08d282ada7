/**
 * Crash safety through the real CLI (issue 3, spec §3): a daemon killed with
 * SIGKILL in the middle of 300 orders loses none of them; a restart sends the
 * rest, and only the messages that were in flight at the instant of the kill
 * may arrive twice, with the same Message-ID.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { scopedScriptedSmtp } from '../helpers/scoped.js';
import { removeTmpDirs } from '../helpers/tmp.js';
import {
  claimedOrders,
  dropMany,
  eventually,
  expectEachSentOnceBeyondInFlight,
  makeWorld,
  messageIdFor,
  orderName,
  orderXml,
  ordersIn,
  started,
  startMailer,
  tally,
  writeConfig,
} from './kit.js';
import type { AcuseRecord } from '../../src/order/acuse.js';

afterAll(removeTmpDirs);

const COUNT = 300;
const MAX_CONNECTIONS = 2;

describe('kill -9 in the middle of a batch', () => {
  it('300 orders, SIGKILL after about 100, restart: all sent, none lost, repeats only of in-flight messages and with the same Message-ID', async () => {
    const world = await makeWorld();
    const server = await scopedScriptedSmtp({ replyDelayMs: 3 });
    const config = await writeConfig(world, { hostId: 'h1', maxConnections: MAX_CONNECTIONS });
    const ids = Array.from({ length: COUNT }, (_, i) => `K${String(i).padStart(4, '0')}`);
    const cli = startMailer(['run', '--config', config]);
    await started(cli);
    await dropMany(world, ids.map((id) => ({ name: orderName(id), xml: orderXml({ port: server.port }) })));

    await eventually(() => server.messages.length >= 100, 30_000, '100 accepted');
    cli.child.kill('SIGKILL');
    const killed = await cli.exited;
    expect(killed.signal).toBe('SIGKILL');
    const acceptedBeforeKill = server.messages.length;
    // What the kill left behind: every order is somewhere, and only a few are claimed (in flight).
    const claimedAtKill = await claimedOrders(world);
    const sentAtKill = await ordersIn(path.join(world.dir, 'enviados'));
    const waitingAtKill = await ordersIn(world.dir);
    expect(claimedAtKill.length + sentAtKill.length + waitingAtKill.length).toBe(COUNT);

    const restart = await runCli(['once', '--config', config], {}, 60_000);
    expect(restart.code).toBe(0);

    expect(await ordersIn(world.dir)).toEqual([]);
    expect(await claimedOrders(world)).toEqual([]);
    expect(await ordersIn(path.join(world.dir, 'errores'))).toEqual([]);
    expect(await ordersIn(path.join(world.dir, 'enviados'))).toHaveLength(COUNT);

    // Every message carries one of the orders' own Message-IDs (a repeat is the same message, not a new one),
    // none is lost, and only orders claimed (being worked on) at the kill repeat, at most twice.
    const { duplicates, repeated } = expectEachSentOnceBeyondInFlight(server.messages.map((m) => m.raw), ids, claimedAtKill);
    console.log(
      `crash: ${acceptedBeforeKill} accepted before kill -9, ${claimedAtKill.length} claimed at the kill; ` +
        `orders lost: 0; duplicates: ${duplicates} (${repeated.join(', ') || 'none'})`,
    );
    // No more than one lane's window.
    expect(duplicates).toBeLessThanOrEqual(MAX_CONNECTIONS * 2);

    // Every order's acuse de envío is beside it, ending with the accepted try; a message the server got twice
    // is listed twice (a try cut off by the kill stays, as "unknown"), always with the order's one Message-ID.
    const { perId } = tally(server.messages.map((m) => m.raw));
    for (const id of ids) {
      const record = JSON.parse(await readFile(path.join(world.dir, 'enviados', `${orderName(id)}.acuse.json`), 'utf8')) as AcuseRecord;
      expect(record.tries.length, id).toBeGreaterThanOrEqual(perId.get(messageIdFor(id)) ?? 0);
      expect(record.tries.at(-1)!.outcome, id).toBe('accepted');
      expect(new Set(record.tries.map((t) => t.messageId)), id).toEqual(new Set([messageIdFor(id)]));
    }
  }, 90_000);
});
