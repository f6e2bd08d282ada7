/**
 * Exit statuses and counts tell the truth (issue #13, item 5): `once` exits 0
 * only when every order present was sent, its closing summary counts what was
 * left, and each case is logged at warn or error level naming the order and
 * the reason. Through the real CLI against a real SMTP server:
 *
 * - an entry named like an order that is not a file (a symbolic link, a
 *   folder): never taken or followed, one `order.not_a_file` warning per
 *   process, counted as ignored, exit 4;
 * - a read-only order folder (every claim refused with EACCES): each order
 *   warned about (`order.held`, with the errno), counted as queued, exit 4;
 * - an order the mailer may not read (EACCES) stays in the order folder with
 *   an `order.held` warning and exit 4 (test/reliability/held.test.ts);
 * - an order above the size limit fails, exit 1 (too-large.test.ts).
 *
 * Tests run as root on Linux, which no permission stops: there the CLI runs
 * as an unprivileged account (helpers/held.ts `READER`).
 */
import { chmodSync } from 'node:fs';
import { lstat, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { READER, READER_RUNS_CLI, giveToReader } from '../helpers/held.js';
import { scopedSink } from '../helpers/scoped.js';
import { removeTmpDirs } from '../helpers/tmp.js';
import { dropOrder, eventually, expectStopped, logLines, makeWorld, orderName, orderXml, ordersIn, started, startMailer, stopMailer, writeConfig, type World } from './kit.js';

const WARN = 40; // pino's level number for warn
const readOnly: string[] = [];

afterEach(async () => {
  for (const folder of readOnly.splice(0)) chmodSync(folder, 0o755);
  await removeTmpDirs();
});

/** A real SMTP server, an empty world and its configuration. */
async function setUp(config: Record<string, unknown> = {}) {
  const sink = await scopedSink();
  const world = await makeWorld('proscai-exit-');
  return { sink, world, config: await writeConfig(world, { hostId: 'h1', ...config }) };
}

/** The summary's line of the bitácora. */
async function summaryOf(world: World): Promise<Record<string, unknown> | undefined> {
  return (await logLines(world)).find((l) => l.event === 'supervisor.stopped');
}

async function notAFileLines(world: World, name: string) {
  return (await logLines(world)).filter((l) => l.event === 'order.not_a_file' && l.fileName === name);
}

describe('an entry named like an order that is not a file', () => {
  it('a folder: left alone, one warning naming it, counted as ignored, `once` exits 4 (not 0) while the real orders are sent', async () => {
    const { sink, world, config } = await setUp();
    const folder = orderName('FOLDER');
    await mkdir(path.join(world.dir, folder));
    const real = orderName('REAL');
    await dropOrder(world, real, orderXml({ port: sink.port }));

    const result = await runCli(['once', '--config', config]);

    expect(result.code, result.stderr).toBe(4);
    expect(sink.messages).toHaveLength(1);
    expect(await ordersIn(path.join(world.dir, 'enviados'))).toEqual([real]);
    expect((await lstat(path.join(world.dir, folder))).isDirectory()).toBe(true);
    const [line, ...more] = await notAFileLines(world, folder);
    expect(more).toEqual([]);
    expect(line).toMatchObject({ level: WARN, kind: 'folder' });
    expect(String(line!.msg)).toBe(`${folder}: named like an order but it is a folder, not a file; it is left alone and never sent (put the order file itself in the order folder)`);
    expect((await summaryOf(world))?.counts).toEqual({ sent: 1, failed: 0, queued: 0, lost: 0, ignored: 1 });
    expect(result.stderr).toContain('Enviadas: 1; fallidas: 0; en espera de reintento: 0. Ignoradas: 1');
  });

  it.runIf(process.platform !== 'win32')(
    'a symbolic link to a valid order elsewhere (POSIX: links cannot be made under Wine, and on Windows only with a privilege): never followed or sent, one warning, exit 4',
    async () => {
      const { sink, world, config } = await setUp();
      const target = path.join(world.stage, 'elsewhere.xml');
      await writeFile(target, orderXml({ port: sink.port }));
      const link = orderName('LINK');
      await symlink(target, path.join(world.dir, link));

      const result = await runCli(['once', '--config', config]);

      expect(result.code, result.stderr).toBe(4);
      expect(sink.messages).toEqual([]);
      expect((await lstat(path.join(world.dir, link))).isSymbolicLink()).toBe(true);
      expect(await readFile(target, 'utf8')).toBe(orderXml({ port: sink.port }));
      const [line, ...more] = await notAFileLines(world, link);
      expect(more).toEqual([]);
      expect(line).toMatchObject({ level: WARN, kind: 'link' });
      expect(String(line!.msg)).toContain(`${link}: named like an order but it is a symbolic link, not a file`);
      expect((await summaryOf(world))?.counts).toEqual({ sent: 0, failed: 0, queued: 0, lost: 0, ignored: 1 });
    },
  );

  it('the daemon warns once per entry, however many rescans see it, and still sends the orders around it', async () => {
    const { sink, world, config } = await setUp({ poll: 1 });
    const folder = orderName('FOLDERRUN');
    await mkdir(path.join(world.dir, folder));
    const cli = startMailer(['run', '--config', config]);
    await started(cli);
    // A second one made while it runs is seen by its notification or the next rescan.
    const later = orderName('LATERDIR');
    await mkdir(path.join(world.dir, later));
    const real = orderName('REALRUN');
    await dropOrder(world, real, orderXml({ port: sink.port }));
    await eventually(async () => (await ordersIn(path.join(world.dir, 'enviados'))).includes(real), 15_000, 'the real order sent');
    await eventually(async () => (await notAFileLines(world, later)).length > 0, 15_000, 'the later folder warned about');
    await new Promise((r) => setTimeout(r, 3000)); // three more rescans
    expectStopped(await stopMailer(cli));

    expect(await notAFileLines(world, folder)).toHaveLength(1);
    expect(await notAFileLines(world, later)).toHaveLength(1);
    expect(sink.messages).toHaveLength(1);
  });
});

describe('a read-only order folder', () => {
  it.runIf(process.platform !== 'win32' && READER_RUNS_CLI)(
    'every claim refused (EACCES): `once` warns about each order with the reason, counts them as queued in its summary, and exits 4 (POSIX: Windows ignores the read-only attribute of folders; as root, the checkout must be readable by an unprivileged account)',
    async () => {
      const { sink, world, config } = await setUp();
      const names = [orderName('RO1'), orderName('RO2')];
      for (const name of names) await dropOrder(world, name, orderXml({ port: sink.port }));
      await mkdir(path.join(world.dir, '.proscai-mailer'), { recursive: true }); // the work area itself stays writable
      giveToReader(world.root);
      chmodSync(world.dir, 0o555);
      readOnly.push(world.dir);

      const result = await runCli(['once', '--config', config], {}, 60_000, READER);

      expect(result.code, result.stderr).toBe(4);
      expect(sink.messages).toEqual([]);
      expect((await ordersIn(world.dir)).sort()).toEqual(names);
      const lines = await logLines(world);
      for (const name of names) {
        const held = lines.filter((l) => l.event === 'order.held' && l.fileName === name);
        expect(held, name).toHaveLength(1);
        expect(held[0]).toMatchObject({ level: WARN, errorCode: 'FS_HELD' });
        expect(String(held[0]!.msg)).toContain('access denied (EACCES)');
        expect(String(held[0]!.msg)).toContain('claim failed');
      }
      expect((await summaryOf(world))?.counts).toEqual({ sent: 0, failed: 0, queued: 2, lost: 0, ignored: 0 });
      expect(result.stderr).toContain('Enviadas: 0; fallidas: 0; en espera de reintento: 2.');
    },
  );
});
