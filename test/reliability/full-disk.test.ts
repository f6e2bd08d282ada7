/**
 * A full disk, for real: the order folder (and so the bitácora, in its
 * default place) on a 2 MB tmpfs filled to the last byte by a ballast file,
 * the real CLI, a real SMTP server. Orders sent while the disk is full are
 * sent once and archived; the log goes on once space returns, its first line
 * a `log.lines_lost` warning whose counts match exactly what is missing;
 * `status` and `trace` count and show the sends whose lines were lost; and
 * SIGTERM while the disk is full stops the daemon at once.
 *
 * Mounting a tmpfs needs root on Linux (CI runs as root): elsewhere these
 * tests do not run, and their condition says so. test/io/log/files.test.ts
 * covers the same logic without a mount, on both systems.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, open, rm, writeFile, rename } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { afterThisTest, scopedSink } from '../helpers/scoped.js';
import { makeTmpDir, removeTmpDirs } from '../helpers/tmp.js';
import {
  claimedOrders,
  eventually,
  logLines,
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
  type World,
} from './kit.js';

afterAll(removeTmpDirs);

const canMount = process.platform === 'linux' && process.getuid?.() === 0;

/** A world whose root, order folder and stage are on a fresh 2 MB tmpfs (unmounted after the test). */
async function worldOnSmallDisk(): Promise<World & { disk: string }> {
  const root = await makeTmpDir('proscai-full-');
  const disk = path.join(root, 'disk');
  await mkdir(disk);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', disk]);
  afterThisTest(() => execFileSync('umount', ['-l', disk]));
  const dir = path.join(disk, 'envio');
  const stage = path.join(disk, 'stage');
  await mkdir(dir);
  await mkdir(stage);
  // The configuration lives off the small disk: `root`, not `disk`.
  return { root, dir, stage, disk };
}

/** The world on a small disk, an SMTP server, and a configuration sending every order to it. */
async function smallDiskAndServer() {
  const world = await worldOnSmallDisk();
  const sink = await scopedSink();
  const config = await writeConfig(world, { hostId: 'h1', poll: 1, companies: { ACME: profile(sink.port) } });
  return { world, sink, config };
}

/** Fills the disk to the last byte with `ballast` (big writes, then small ones for the last pages). */
async function fillDisk(disk: string): Promise<string> {
  const ballast = path.join(disk, 'ballast');
  const handle = await open(ballast, 'a');
  try {
    for (const size of [64 * 1024, 512]) {
      const chunk = Buffer.alloc(size, 0x2e);
      try {
        for (;;) await handle.write(chunk);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
      }
    }
  } finally {
    await handle.close();
  }
  return ballast;
}

/** Orders written to the stage before the disk fills (the ERP cannot write on a full disk), renamed in later. */
async function stageOrders(world: World, ids: string[]): Promise<void> {
  for (const id of ids) await writeFile(path.join(world.stage, orderName(id)), orderXml({ logSuccess: true }));
}

async function dropStaged(world: World, ids: string[]): Promise<void> {
  for (const id of ids) await rename(path.join(world.stage, orderName(id)), path.join(world.dir, orderName(id)));
}

/** One line per log line in `--verbose` terminal output (pino-pretty: `[HH:MM:ss] LEVEL: …`). */
const TERMINAL_LINE = /^\[\d{2}:\d{2}:\d{2}(?:\.\d+)?\] (?:RASTREO|DETALLE|INFO|AVISO|ERROR|FATAL):/;

describe('a full disk', () => {
  it.runIf(canMount)(
    'orders sent while the disk is full go once and are archived; once space returns the log resumes with a log.lines_lost line that counts exactly what is missing, and status and trace count those sends (needs root to mount a tmpfs)',
    async () => {
      const { world, sink, config } = await smallDiskAndServer();
      const before = ['FULLA1'];
      const whileFull = ['FULLB1', 'FULLB2', 'FULLB3', 'FULLB4', 'FULLB5'];
      const after = ['FULLC1', 'FULLC2', 'FULLC3'];
      const all = [...before, ...whileFull, ...after];

      // --verbose: the terminal gets every line the file gets (both at debug), so what is missing can be counted.
      const cli = startMailer(['run', '--config', config, '--verbose']);
      await started(cli);
      await stageOrders(world, before);
      await dropStaged(world, before);
      const sentInLog = async (id: string) =>
        (await logLines(world)).some((l) => l.event === 'order.transition' && l.orderId === id && l.to === 'sent');
      await eventually(() => sentInLog('FULLA1'), 15_000, 'FULLA1 sent and logged');

      await stageOrders(world, whileFull);
      const ballast = await fillDisk(world.disk);
      await dropStaged(world, whileFull);
      await eventually(async () => (await ordersIn(path.join(world.dir, 'enviados'))).length === 1 + whileFull.length, 30_000, 'sent while full');
      await eventually(() => cli.stderr().includes('no se puede escribir el archivo de registro'), 10_000, 'the log file to fail');

      await rm(ballast);
      await stageOrders(world, after);
      await dropStaged(world, after.slice(0, 1));
      await eventually(() => cli.stderr().includes('vuelve a recibir líneas'), 30_000, 'the log file to take lines again');
      await dropStaged(world, after.slice(1));
      await eventually(async () => (await Promise.all(after.slice(1).map(sentInLog))).every(Boolean), 30_000, 'the later sends in the log');

      cli.child.kill('SIGTERM');
      const exit = await cli.exited;
      expect(exit.code).toBe(0);

      // Nothing lost, nothing sent twice.
      const { distinct, duplicates } = tally(sink.messages.map((m) => m.raw));
      expect({ distinct, duplicates }).toEqual({ distinct: all.length, duplicates: 0 });
      expect(new Set(sink.messages.map((m) => messageIdOf(m.raw)))).toEqual(new Set(all.map(messageIdFor)));
      expect((await ordersIn(path.join(world.dir, 'enviados'))).sort()).toEqual(all.map(orderName).sort());
      expect(await ordersIn(world.dir)).toEqual([]);
      expect(await claimedOrders(world)).toEqual([]);

      // The log: every line the process logged is in the file or counted by a log.lines_lost line.
      const lines = await logLines(world);
      const notices = lines.filter((l) => l.event === 'log.lines_lost');
      const kept = lines.filter((l) => l.event !== 'log.lines_lost');
      const logged = exit.stderr.split('\n').filter((l) => TERMINAL_LINE.test(l)).length;
      const lost = notices.reduce((n, l) => n + Number(l.lines), 0);
      console.log(`full disk: ${logged} lines logged, ${kept.length} in the file, ${lost} counted lost in ${notices.length} notice(s)`);
      expect(notices.length).toBeGreaterThanOrEqual(1);
      expect(lost).toBeGreaterThan(0);
      expect(kept.length + lost).toBe(logged);
      // Every send is in the log exactly once: its own line, or listed by the notice that stands for it.
      const sends = [
        ...kept.filter((l) => l.event === 'order.transition' && l.to === 'sent').map((l) => l.orderId),
        ...notices.flatMap((l) => (l.sent as { orderId: string }[]).map((s) => s.orderId)),
      ];
      expect(sends.sort()).toEqual([...all].sort());
      expect(notices.flatMap((l) => (l.sent as { orderId: string }[]).map((s) => s.orderId)).some((id) => whileFull.includes(id))).toBe(true);
      // Lines after the recovery are there.
      for (const id of after.slice(1)) expect(await sentInLog(id)).toBe(true);
      // A proof of sending (acuse) is never silently missing: each order sent while the disk was full has one,
      // or the terminal said at error level that it could not be saved (and the order went on all the same).
      const unproven = whileFull.filter((id) => !existsSync(path.join(world.dir, 'enviados', `${orderName(id)}.acuse.json`)));
      for (const id of unproven) expect(exit.stderr, id).toMatch(new RegExp(`ERROR: .*La orden ${orderName(id)} se envió, pero su acuse de envío no se pudo guardar`));
      console.log(`full disk: ${unproven.length} of ${whileFull.length} orders sent while full have no acuse, each reported`);

      // status counts every send, and says the log has a gap.
      const status = startMailer(['status', '--config', config, '--json']);
      const statusExit = await status.exited;
      expect(statusExit.code).toBe(0);
      const report = JSON.parse(statusExit.stdout) as { totals: { sent24h: number }; logGaps: { lines: number }[] };
      expect(report.totals.sent24h).toBe(all.length);
      expect(report.logGaps.reduce((n, g) => n + g.lines, 0)).toBe(lost);
      const text = await startMailer(['status', '--config', config]).exited;
      expect(text.stdout).toContain('el registro perdió');

      // trace shows the send of an order whose lines were lost, and says why its timeline has a gap.
      const lostSend = notices.flatMap((l) => (l.sent as { orderId: string }[]).map((s) => s.orderId)).find((id) => whileFull.includes(id))!;
      const trace = await startMailer(['trace', lostSend, '--config', config]).exited;
      expect(trace.code).toBe(0);
      expect(trace.stdout).toContain('el registro perdió');
      expect(trace.stdout).toContain('Resultado: enviada');
    },
    120_000,
  );

  it.runIf(canMount)(
    'SIGTERM while the disk is full: the daemon stops at once and leaves nothing half-done (needs root to mount a tmpfs)',
    async () => {
      const { world, sink, config } = await smallDiskAndServer();
      const ids = ['TERMA1', 'TERMB1', 'TERMB2', 'TERMB3'];

      const cli = startMailer(['run', '--config', config]);
      await started(cli);
      await stageOrders(world, ids);
      await dropStaged(world, ids.slice(0, 1));
      await eventually(() => sink.messages.length === 1, 15_000, 'the first send');
      await fillDisk(world.disk);
      await dropStaged(world, ids.slice(1));
      await eventually(async () => (await ordersIn(path.join(world.dir, 'enviados'))).length === ids.length, 30_000, 'sent while full');
      // A log batch went to the full disk (batches are written at least every second).
      await eventually(() => cli.stderr().includes('no se puede escribir el archivo de registro'), 10_000, 'the log file to fail');

      // The spec's bound on a stop is the sends in flight finishing (TiempoEspera,
      // at most 10 minutes; systemd waits 660 s). Nothing is in flight here, so
      // the stop must be immediate (an exit flush that retried the refused
      // write would hold it for as long as the disk stays full).
      const signalledAt = Date.now();
      cli.child.kill('SIGTERM');
      const exit = await cli.exited;
      const stopMs = Date.now() - signalledAt;
      console.log(`full disk: SIGTERM with the disk full exited in ${stopMs} ms`);
      expect(exit.code).toBe(0);
      expect(stopMs).toBeLessThan(10_000);

      expect(tally(sink.messages.map((m) => m.raw))).toMatchObject({ distinct: ids.length, duplicates: 0 });
      expect((await ordersIn(path.join(world.dir, 'enviados'))).sort()).toEqual(ids.map(orderName).sort());
      expect(await claimedOrders(world)).toEqual([]);
      // The loss is told: in the file if the stop freed space for it, else on the terminal.
      const told = (await logLines(world)).some((l) => l.event === 'log.lines_lost') || exit.stderr.includes('could not be written');
      expect(told).toBe(true);
    },
    60_000,
  );
});
