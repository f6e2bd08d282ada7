/**
 * The order folder removed under a running `run` (a share remounted, a
 * folder restored from a copy): the work area in it goes too, with the
 * single-instance lock, the claims and the log. The real CLI, real folders,
 * a real SMTP server: the mailer notices within about a second (its lock is
 * checked every second; a poll is 300 s here), stops taking orders, and once
 * the folder exists again holds its lock again, with a new watch and a new
 * log file, or exits 3 when another mailer took the folder meanwhile. Never
 * two mailers on one folder, nothing sent twice.
 *
 * On Windows a file held open cannot be deleted, and the mailer holds its log
 * file open: removing the folder takes everything else (the lock with it)
 * and fails on that one file. To the mailer that is the same fault.
 */
import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { scopedScriptedSmtp } from '../helpers/scoped.js';
import { removeTmpDirs } from '../helpers/tmp.js';
import {
  dropOrder,
  eventually,
  expectStopped,
  logLines,
  makeWorld,
  messageIdFor,
  orderName,
  orderXml,
  ordersIn,
  profile,
  started,
  startMailer,
  stopMailer,
  tally,
  workDir,
  writeConfig,
  type World,
} from './kit.js';

afterAll(removeTmpDirs);

/** What the mailer prints (Spanish, the default) when it notices its lock is gone. */
const LOST = 'perdió el candado';

/** Removes the order folder as `rm -rf` does; on Windows the mailer's open log file stays (see the module comment). */
async function removeOrderFolder(world: World): Promise<void> {
  await rm(world.dir, { recursive: true, force: true }).catch((err: NodeJS.ErrnoException) => {
    if (process.platform !== 'win32') throw err;
  });
  expect(existsSync(path.join(workDir(world), 'instance-pc1.lock'))).toBe(false);
  expect(await ordersIn(path.join(world.dir, 'enviados'))).toEqual([]);
}

const sentIn = (world: World) => ordersIn(path.join(world.dir, 'enviados'));

/** The log's lines; [] while the file cannot be read (on Windows the removed log stays listed until the mailer lets go of it). */
const logOf = (world: World) => logLines(world).catch(() => []);

describe('the order folder removed under run', () => {
  it('is noticed within about a second; once the folder is back the mailer holds its lock again (a second run exits 3), watches and logs in it, and sends the new orders once', async () => {
    const world = await makeWorld();
    const server = await scopedScriptedSmtp();
    const config = await writeConfig(world, { hostId: 'pc1' });
    const cli = startMailer(['run', '--config', config]);
    await started(cli);
    const before = ['F001', 'F002'];
    for (const id of before) await dropOrder(world, orderName(id), orderXml({ port: server.port }));
    await eventually(async () => (await sentIn(world)).length === before.length, 15_000, 'the first orders sent');

    const removedAt = Date.now();
    await removeOrderFolder(world);
    await eventually(() => cli.stderr().includes(LOST), 10_000, 'the lost lock noticed');
    const noticedMs = Date.now() - removedAt;
    console.log(`folder-removed: lost lock noticed ${noticedMs} ms after the removal`);
    expect(noticedMs).toBeLessThan(5_000);
    if (process.platform !== 'win32') {
      // The folder stays gone while the mailer waits: it does not make it again (not with a heartbeat, not with its lock).
      await eventually(() => cli.stderr().includes('Se espera a que la carpeta'), 5_000, 'the wait for the folder');
      await new Promise((r) => setTimeout(r, 1_500));
      expect(existsSync(world.dir)).toBe(false);
      await mkdir(world.dir);
    }
    expect(cli.child.exitCode).toBe(null);

    // Back: the lock again, and a log file in the folder that says what happened.
    await eventually(async () => (await logOf(world)).some((l) => l.event === 'instance.lock_regained'), 10_000, 'the lock taken again');
    const after = ['F101', 'F102', 'F103'];
    // Dropped after the new start-up scan: only the new watch sees them (the rescan is 300 s away).
    const droppedAt = Date.now();
    for (const id of after) await dropOrder(world, orderName(id), orderXml({ port: server.port }));
    await eventually(async () => (await sentIn(world)).length === after.length, 15_000, 'the new orders sent');
    console.log(`folder-removed: new orders sent ${Date.now() - droppedAt} ms after they were dropped`);

    const second = await runCli(['run', '--config', config], {}, 30_000);
    expect(second.code).toBe(3);

    const lines = await logOf(world);
    const lost = lines.filter((l) => l.event === 'instance.lock_lost');
    expect(lost).toEqual([expect.objectContaining({ level: 50, errorCode: 'INSTANCE_LOCK_LOST', error: expect.stringContaining('its folder is gone') })]);
    expect(lines.filter((l) => l.event === 'instance.lock_regained')).toEqual([expect.objectContaining({ level: 40, lostAt: expect.any(String) })]);

    expectStopped(await stopMailer(cli));
    const { duplicates, perId } = tally(server.messages.map((m) => m.raw));
    expect(duplicates).toBe(0);
    for (const id of [...before, ...after]) expect(perId.get(messageIdFor(id)), id).toBe(1);
  }, 90_000);

  it.runIf(process.platform !== 'win32')(
    'moved away and back with its lock inside: the mailer takes back its own lock (not "another mailer") and sends the new orders once (POSIX: Windows refuses to move a folder that holds the open log file)',
    async () => {
      const world = await makeWorld();
      const server = await scopedScriptedSmtp();
      const config = await writeConfig(world, { hostId: 'pc1' });
      const cli = startMailer(['run', '--config', config]);
      await started(cli);
      await dropOrder(world, orderName('M001'), orderXml({ port: server.port }));
      await eventually(async () => (await sentIn(world)).length === 1, 15_000, 'the first order sent');

      const moved = `${world.dir}-movida`;
      await rename(world.dir, moved);
      await eventually(() => cli.stderr().includes(LOST), 10_000, 'the lost lock noticed');
      await rename(moved, world.dir);
      await eventually(async () => (await logOf(world)).some((l) => l.event === 'instance.lock_regained'), 10_000, 'the lock taken again');
      expect(cli.child.exitCode).toBe(null);
      await dropOrder(world, orderName('M101'), orderXml({ port: server.port }));
      await eventually(async () => (await sentIn(world)).length === 2, 15_000, 'the new order sent');
      expect((await runCli(['run', '--config', config], {}, 30_000)).code).toBe(3);

      expectStopped(await stopMailer(cli));
      const { duplicates, perId } = tally(server.messages.map((m) => m.raw));
      expect(duplicates).toBe(0);
      for (const id of ['M001', 'M101']) expect(perId.get(messageIdFor(id)), id).toBe(1);
    },
    90_000,
  );

  it('a second mailer started while the folder was gone never runs beside the first: one of them exits 3 at once, and the other alone sends from then on', async () => {
    const world = await makeWorld();
    const servers = { a: await scopedScriptedSmtp(), b: await scopedScriptedSmtp() };
    // Each mailer sends through its own server, so the servers tell who sent what; the first rescans every second.
    const configA = await writeConfig(world, { hostId: 'pc1', poll: 1, companies: { ACME: profile(servers.a.port) } }, 'a.json');
    const configB = await writeConfig(world, { hostId: 'pc1', companies: { ACME: profile(servers.b.port) } }, 'b.json');
    const a = startMailer(['run', '--config', configA]);
    await started(a);
    const before = ['S001', 'S002'];
    for (const id of before) await dropOrder(world, orderName(id), orderXml({}));
    await eventually(async () => (await sentIn(world)).length === before.length, 15_000, 'the first orders sent');
    expect(servers.a.messages).toHaveLength(before.length);

    await removeOrderFolder(world);
    const b = startMailer(['run', '--config', configB]);
    const bStartedAt = Date.now();
    if (process.platform !== 'win32') {
      // The second one does not make the missing folder either: it waits for it, as the first does, until the share is back.
      await eventually(() => b.stderr().includes(`La carpeta de órdenes ${world.dir} no existe`), 15_000, 'the second one waiting for the folder');
      await mkdir(world.dir);
    }
    const first = await Promise.race([
      a.exited.then((exit) => ({ who: 'a' as const, exit })),
      b.exited.then((exit) => ({ who: 'b' as const, exit })),
      new Promise<undefined>((r) => setTimeout(r, 20_000)),
    ]);
    expect(first, `one of them exited 3: ${a.stderr()}\n${b.stderr()}`).toBeDefined();
    console.log(`folder-removed: mailer ${first!.who} exited ${Date.now() - bStartedAt} ms after the second one started`);
    expect(first!.exit.code).toBe(3);
    // The first one noticed its lost lock either way.
    expect(a.stderr()).toContain(LOST);
    // Whichever took the lock of the folder first goes on (on Windows the folder outlived its removal: the open log file); the other says why it ends.
    expect(first!.who === 'a' ? a.stderr() : b.stderr()).toContain(first!.who === 'a' ? 'otro proscai-mailer tomó la carpeta' : 'Ya hay otro proscai-mailer');
    const survivor = first!.who === 'a' ? { cli: b, server: servers.b, config: configB } : { cli: a, server: servers.a, config: configA };
    const loser = first!.who === 'a' ? servers.a : servers.b;
    const loserSent = loser.messages.length;
    await started(survivor.cli);

    const after = ['S101', 'S102', 'S103', 'S104'];
    const sentBefore = survivor.server.messages.length;
    for (const id of after) await dropOrder(world, orderName(id), orderXml({}));
    await eventually(async () => (await sentIn(world)).length === after.length, 15_000, 'the new orders sent');
    expect(survivor.cli.child.exitCode).toBe(null);
    const third = await runCli(['run', '--config', survivor.config], {}, 30_000);
    expect(third.code).toBe(3);
    expectStopped(await stopMailer(survivor.cli));

    // The one that exited sent nothing more; the survivor sent each new order once.
    expect(loser.messages).toHaveLength(loserSent);
    const { duplicates, perId } = tally(survivor.server.messages.slice(sentBefore).map((m) => m.raw));
    expect(duplicates).toBe(0);
    for (const id of after) expect(perId.get(messageIdFor(id)), id).toBe(1);
    expect(perId.size).toBe(after.length);
  }, 90_000);
});
