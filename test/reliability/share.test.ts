/**
 * Several machines on one order folder (a network share), simulated on this
 * machine by two mailers with different `hostId`s (claims/<hostId>/, lock
 * instance-<hostId>): every order is sent exactly once, and the claims of a
 * machine that died are taken over by a live one once its heartbeat is stale.
 */
import { mkdir, readFile, readdir, rename, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { scopedScriptedSmtp } from '../helpers/scoped.js';
import { removeTmpDirs } from '../helpers/tmp.js';
import {
  claimedOrders,
  claimsDir,
  dropMany,
  eventually,
  expectStopped,
  logged,
  logLines,
  makeWorld,
  messageIdFor,
  orderName,
  orderXml,
  ordersIn,
  started,
  startMailer,
  stopMailer,
  stopsCleanly,
  tally,
  workDir,
  writeConfig,
} from './kit.js';

afterAll(removeTmpDirs);

describe('two machines on one folder', () => {
  it('300 orders, two mailers with different hostId: each order sent exactly once', async () => {
    const world = await makeWorld();
    const server = await scopedScriptedSmtp({ replyDelayMs: 2 });
    const mailers = await Promise.all(
      ['maquina1', 'maquina2'].map(async (hostId) => {
        const config = await writeConfig(world, { hostId, logDir: path.join(world.root, `logs-${hostId}`) }, `${hostId}.json`);
        const cli = startMailer(['run', '--config', config]);
        return { hostId, cli };
      }),
    );
    for (const m of mailers) await started(m.cli);

    const ids = Array.from({ length: 300 }, (_, i) => `S${String(i).padStart(4, '0')}`);
    await dropMany(world, ids.map((id) => ({ name: orderName(id), xml: orderXml({ port: server.port }) })));
    const droppedAt = Date.now();
    await eventually(async () => (await ordersIn(path.join(world.dir, 'enviados'))).length === ids.length, 45_000, 'all sent');
    console.log(`share: all ${ids.length} sent ${Date.now() - droppedAt} ms after the drop`);
    // Each machine's log tells what it sent and what the other one took first (read once both logs hold every send).
    const readLogs = () =>
      Promise.all(
        mailers.map(async (m) =>
          (await readFile(path.join(world.root, `logs-${m.hostId}`, 'mailer.log'), 'utf8'))
            .split('\n')
            .filter((l) => l.startsWith('{') && l.endsWith('}'))
            .map((l) => JSON.parse(l) as { event?: string; to?: string; counts?: { sent: number; lost: number } }),
        ),
      );
    const countsOf = (lines: Awaited<ReturnType<typeof readLogs>>[number]) => ({
      sent: lines.filter((l) => l.event === 'order.transition' && l.to === 'sent').length,
      lost: lines.filter((l) => l.event === 'order.claim_lost').length,
    });
    await eventually(async () => (await readLogs()).reduce((n, lines) => n + countsOf(lines).sent, 0) === ids.length, 10_000, 'every send in the logs');
    for (const exit of await Promise.all(mailers.map((m) => stopMailer(m.cli)))) expectStopped(exit);

    const { distinct, duplicates } = tally(server.messages.map((m) => m.raw));
    const logs = await readLogs();
    const sentBy = logs.map(countsOf);
    // After a clean stop (POSIX) each machine's own summary says the same.
    if (stopsCleanly) expect(logs.map((lines) => lines.find((l) => l.event === 'supervisor.stopped')!.counts)).toMatchObject(sentBy);
    // Losing the race for a file to the other machine is normal, not a problem to warn about.
    expect(logs.flat().filter((l) => l.event === 'order.unreadable')).toEqual([]);
    console.log(`share: ${server.messages.length} messages for ${ids.length} orders, duplicates ${duplicates}; sent by maquina1 ${sentBy[0]!.sent}, by maquina2 ${sentBy[1]!.sent}; claims lost to the other machine: ${sentBy[0]!.lost + sentBy[1]!.lost}`);
    expect(duplicates).toBe(0);
    expect(distinct).toBe(ids.length);
    expect(server.messages).toHaveLength(ids.length);
    expect(sentBy[0]!.sent + sentBy[1]!.sent).toBe(ids.length);
    // Both machines really took part.
    expect(sentBy[0]!.sent).toBeGreaterThan(0);
    expect(sentBy[1]!.sent).toBeGreaterThan(0);
    expect(await ordersIn(world.dir)).toEqual([]);
    expect(await claimedOrders(world)).toEqual([]);
    expect(await ordersIn(path.join(world.dir, 'errores'))).toEqual([]);
  }, 90_000);

  it('the claims of a dead machine (stale heartbeat) are taken over by a live mailer and sent, keeping their try count', async () => {
    const world = await makeWorld();
    const server = await scopedScriptedSmtp();
    const config = await writeConfig(world, { hostId: 'viva', staleClaimSeconds: 2 });
    const cli = startMailer(['run', '--config', config]);
    await started(cli);

    // The dead machine's claims folder, prepared aside and moved in at once: 20 orders, one with
    // two failed tries in its state, and a heartbeat an hour old.
    const dead = path.join(world.stage, 'muerta');
    await mkdir(dead);
    const ids = Array.from({ length: 20 }, (_, i) => `D${String(i).padStart(3, '0')}`);
    for (const id of ids) await writeFile(path.join(dead, orderName(id)), orderXml({ port: server.port, logSuccess: id === 'D000' }));
    const now = Date.now();
    await writeFile(
      path.join(dead, `${orderName('D000')}.state.json`),
      JSON.stringify({ attempts: 2, firstSeenAt: now - 3_600_000, company: 'ACME', nextTryAt: now - 1_000 }),
    );
    const heartbeat = path.join(dead, '.heartbeat');
    await writeFile(heartbeat, JSON.stringify({ host: 'muerta', pid: 1, at: new Date(now - 3_600_000).toISOString() }));
    const anHourAgo = new Date(now - 3_600_000);
    await utimes(heartbeat, anHourAgo, anHourAgo);
    await mkdir(path.join(workDir(world), 'claims'), { recursive: true });
    await rename(dead, claimsDir(world, 'muerta'));

    await eventually(async () => (await ordersIn(path.join(world.dir, 'enviados'))).length === ids.length, 20_000, 'taken over and sent');
    const takenOverIn = (lines: Record<string, unknown>[]) =>
      lines.filter((l) => l.event === 'claims.taken_over').reduce((n, l) => n + (l.count as number), 0);
    await logged(world, (lines) => takenOverIn(lines) === ids.length && lines.some((l) => l.event === 'order.sent' && l.orderId === 'D000'), 'the takeover and the sends');
    expectStopped(await stopMailer(cli));

    const { distinct, duplicates, perId } = tally(server.messages.map((m) => m.raw));
    expect(duplicates).toBe(0);
    expect(distinct).toBe(ids.length);
    for (const id of ids) expect(perId.get(messageIdFor(id))).toBe(1);
    expect(await ordersIn(claimsDir(world, 'muerta'))).toEqual([]);
    expect(await claimedOrders(world)).toEqual([]);
    const handover = path.join(workDir(world), 'handover');
    expect((await readdir(handover).catch(() => [])).length).toBe(0);
    const lines = await logLines(world);
    expect(takenOverIn(lines)).toBe(ids.length);
    // The order that had failed twice on the dead machine went on with its third try.
    expect(lines.filter((l) => l.event === 'order.sent' && l.orderId === 'D000').map((l) => l.attempts)).toEqual([3]);
  }, 60_000);
});
