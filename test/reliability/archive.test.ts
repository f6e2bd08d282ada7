/**
 * A sent order whose file cannot be moved (spec §3: "no order is ever lost",
 * and a message is not sent twice): the move fails because `enviados/` is a
 * FILE instead of a folder (works as any user, unlike chattr +i). The order
 * stays in the work area, the failure is logged (order.archive_failed), the
 * message is not sent again, and once the cause is fixed the order is
 * archived: by the running daemon on its next try, or by the next start.
 *
 * The order waits a minute between tries in production; the test hook
 * PROSCAI_MAILER_TEST_ARCHIVE_RETRY_MS (src/main.ts) makes it 300 ms here.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { expectStopped, runCli, stopMailer } from '../helpers/cli.js';
import { scopedScriptedSmtp } from '../helpers/scoped.js';
import { removeTmpDirs } from '../helpers/tmp.js';
import {
  claimedOrders,
  claimsDir,
  dropOrder,
  eventually,
  logLines,
  makeWorld,
  messageIdFor,
  messageIdOf,
  orderName,
  orderXml,
  ordersIn,
  started,
  startMailer,
  writeConfig,
} from './kit.js';

afterAll(removeTmpDirs);

const HOOK = { PROSCAI_MAILER_TEST_ARCHIVE_RETRY_MS: '300' };

async function sentAtOf(world: Awaited<ReturnType<typeof makeWorld>>, name: string): Promise<number | undefined> {
  try {
    return (JSON.parse(await readFile(path.join(claimsDir(world, 'h1'), `${name}.state.json`), 'utf8')) as { sentAt?: number }).sentAt;
  } catch {
    return undefined;
  }
}

describe('the sent order cannot be moved', () => {
  it('stays claimed, is logged, is not sent again, and is archived by the running daemon once the cause is fixed', async () => {
    const world = await makeWorld();
    const server = await scopedScriptedSmtp();
    const blocker = path.join(world.dir, 'enviados');
    await writeFile(blocker, 'not a folder');
    const config = await writeConfig(world, { hostId: 'h1' });
    const cli = startMailer(['run', '--config', config], HOOK);
    await started(cli);
    const name = orderName('BLOCKED');
    await dropOrder(world, name, orderXml({ port: server.port }));

    await eventually(() => server.messages.length === 1, 10_000, 'the send');
    // "Sent" is remembered beside the claimed order before it waits.
    await eventually(() => sentAtOf(world, name), 10_000, 'sentAt saved');
    // Several move attempts (300 ms apart) fail meanwhile; none sends the message again.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(server.messages).toHaveLength(1);
    expect(await claimedOrders(world)).toEqual([name]);
    expect(await ordersIn(world.dir)).toEqual([]);

    await rm(blocker);
    await eventually(async () => (await ordersIn(path.join(world.dir, 'enviados'))).includes(name), 10_000, 'archived');
    expectStopped(await stopMailer(cli));

    expect(server.messages.map((m) => messageIdOf(m.raw))).toEqual([messageIdFor('BLOCKED')]);
    expect(await claimedOrders(world)).toEqual([]);
    const lines = await logLines(world);
    const failures = lines.filter((l) => l.event === 'order.archive_failed' && l.orderId === 'BLOCKED');
    expect(failures.length).toBeGreaterThanOrEqual(2);
    expect(lines.filter((l) => l.event === 'order.transition' && l.orderId === 'BLOCKED' && l.to === 'sending')).toHaveLength(1);
  });

  it('a daemon stopped while the move is blocked: the next start archives the order without sending it again', async () => {
    const world = await makeWorld();
    const server = await scopedScriptedSmtp();
    const blocker = path.join(world.dir, 'enviados');
    await writeFile(blocker, 'not a folder');
    const config = await writeConfig(world, { hostId: 'h1' });
    const cli = startMailer(['run', '--config', config], HOOK);
    await started(cli);
    const name = orderName('STOPPED');
    await dropOrder(world, name, orderXml({ port: server.port }));
    await eventually(() => sentAtOf(world, name), 10_000, 'sentAt saved');
    // Stopped as the service manager stops it: cleanly on POSIX, terminated on Windows (helpers/cli.ts).
    expectStopped(await stopMailer(cli));
    expect(await claimedOrders(world)).toEqual([name]);

    await rm(blocker);
    const restart = await runCli(['once', '--config', config]);
    expect(restart.code).toBe(0);
    expect(await ordersIn(path.join(world.dir, 'enviados'))).toEqual([name]);
    expect(await claimedOrders(world)).toEqual([]);
    expect(server.messages.map((m) => messageIdOf(m.raw))).toEqual([messageIdFor('STOPPED')]);
  });
});
