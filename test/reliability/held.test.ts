/**
 * An order held open by its writer (issue #12): on Windows the ERP, another
 * program or an antivirus opens an order without sharing, and reading or
 * moving it fails with EBUSY until that program closes it. The mailer waits as
 * long as it is held: it never fails or loses the order for that, logs a
 * warning naming the order and the errno (`order.held`), and leaves it in the
 * order folder; `once` exits 4 ("left queued for a retry") meanwhile, and the
 * next pass, or the running daemon's next rescan, sends it once it is released.
 *
 * How the order is held on each system: test/helpers/held.ts (Windows: opened
 * without sharing by this test process; POSIX: unreadable to the mailer, which
 * runs as an unprivileged account when the tests run as root).
 *
 * A held order is waited for a minute per pass in production; the test hook
 * PROSCAI_MAILER_TEST_READY_WAIT_MS (src/main.ts) makes it one second here.
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { expectStopped, runCli, startCli, stopMailer } from '../helpers/cli.js';
import { READER, READER_RUNS_CLI, giveToReader, holdOpen, releaseHeld } from '../helpers/held.js';
import { afterThisTest, scopedSink } from '../helpers/scoped.js';
import { removeTmpDirs } from '../helpers/tmp.js';
import { claimedOrders, dropOrder, eventually, logLines, makeWorld, orderName, orderXml, ordersIn, started, writeConfig, type World } from './kit.js';

afterEach(async () => {
  releaseHeld();
  await removeTmpDirs();
});

const HOOK = { PROSCAI_MAILER_TEST_READY_WAIT_MS: '1000' };
/** What the mailer's read is told: a sharing violation on Windows, a denial on POSIX (helpers/held.ts). */
const HELD_TEXT = process.platform === 'win32' ? 'held open by another program (EBUSY)' : 'held open by another program, or access denied (EACCES)';
const WARN = 40; // pino's level number for warn

/** A world with one order for `port`, held open; the mailer's account owns the world. */
async function heldWorld(id: string, port: number, config: Record<string, unknown> = {}) {
  const world = await makeWorld('proscai-held-');
  const file = await writeConfig(world, { hostId: 'h1', ...config });
  const name = orderName(id);
  await dropOrder(world, name, orderXml({ port }));
  giveToReader(world.root);
  const release = holdOpen(path.join(world.dir, name));
  return { world, config: file, name, release };
}

/** The `order.held` lines of the bitácora for `name`. */
async function heldLines(world: World, name: string) {
  return (await logLines(world)).filter((l) => l.event === 'order.held' && l.fileName === name);
}

/** The order is where the ERP left it: not claimed, not archived, not failed. */
async function expectLeftInPlace(world: World, name: string): Promise<void> {
  expect(await ordersIn(world.dir)).toEqual([name]);
  expect(await claimedOrders(world)).toEqual([]);
  expect(await ordersIn(path.join(world.dir, 'errores'))).toEqual([]);
  expect(await ordersIn(path.join(world.dir, 'enviados'))).toEqual([]);
}

describe('an order held open by its writer', () => {
  // As root on POSIX the mailer runs as an unprivileged account, which must be able to read this checkout.
  it.runIf(READER_RUNS_CLI)('`once` leaves it queued (exit 4) with a warning that says it is held; after release the next `once` sends it (exit 0)', async () => {
    const sink = await scopedSink();
    const { world, config, name, release } = await heldWorld('HELD', sink.port);

    const first = await runCli(['once', '--config', config], HOOK, 60_000, READER);
    expect(first.code, first.stderr).toBe(4);
    expect(sink.messages).toHaveLength(0);
    await expectLeftInPlace(world, name);
    const [line, ...more] = await heldLines(world, name);
    expect(more).toEqual([]);
    expect(line).toMatchObject({ level: WARN, orderId: 'HELD', errorCode: 'FS_HELD' });
    const says = `HELD: ${HELD_TEXT}: ${path.join(world.dir, name)}: `;
    expect(String(line!.msg).slice(0, says.length)).toBe(says);
    expect(String(line!.msg)).toMatch(/; it stays in the order folder and is tried again on the next pass$/);
    const summary = (await logLines(world)).find((l) => l.event === 'supervisor.stopped');
    expect(summary?.counts).toMatchObject({ sent: 0, failed: 0, queued: 1 });

    release();
    const second = await runCli(['once', '--config', config], HOOK, 60_000, READER);
    expect(second.code, second.stderr).toBe(0);
    expect(sink.messages).toHaveLength(1);
    expect(await ordersIn(world.dir)).toEqual([]);
    expect(await ordersIn(path.join(world.dir, 'enviados'))).toEqual([name]);
    expect(await heldLines(world, name)).toHaveLength(1);
  });

  it.runIf(READER_RUNS_CLI)('the daemon waits as long as it is held, warning at each pass, and sends it once released', async () => {
    const sink = await scopedSink();
    const { world, config, name, release } = await heldWorld('HELDRUN', sink.port, { poll: 1 });
    const cli = startCli(['run', '--config', config], HOOK, READER);
    afterThisTest(async () => {
      if (cli.child.exitCode === null && cli.child.signalCode === null) {
        cli.child.kill('SIGKILL');
        await cli.exited;
      }
    });
    await started(cli);

    // Held through several passes (one-second wait, one-second rescan): warned about each time, never failed.
    await eventually(async () => (await heldLines(world, name)).length >= 2, 20_000, 'two held warnings');
    expect(sink.messages).toHaveLength(0);
    await expectLeftInPlace(world, name);

    release();
    await eventually(async () => (await ordersIn(path.join(world.dir, 'enviados'))).includes(name), 20_000, 'sent after release');
    expectStopped(await stopMailer(cli));
    expect(sink.messages).toHaveLength(1);
    const lines = await logLines(world);
    expect(lines.filter((l) => l.event === 'order.failed')).toEqual([]);
    expect(lines.filter((l) => l.event === 'order.held').every((l) => l.level === WARN && l.orderId === 'HELDRUN')).toBe(true);
  });
});
