/**
 * `proscai-mailer run` end to end: the daemon as a child process watching a
 * real temp folder, real SMTP servers (smtp-server, and the scripted one for
 * slow and stalled sends), a second instance, and every way it is stopped:
 * as a service (SIGTERM on POSIX; terminated on Windows, as Task Scheduler's
 * End does), from a console (Ctrl+C; Ctrl+Break on Windows), and kill -9.
 */
import { existsSync } from 'node:fs';
import { open, readFile, readdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { consoleKeyEnv, eventually, expectStopped, preloadEnv, runCli, stopMailer, stopsCleanly, type RunningCli } from '../helpers/cli.js';
import { scopedCli, scopedScriptedSmtp, scopedSink } from '../helpers/scoped.js';
import { makeTmpDir, removeTmpDirs } from '../helpers/tmp.js';
import { expectEachSentOnceBeyondInFlight } from '../reliability/kit.js';
import { simpleOrder } from './folder.js';

afterAll(removeTmpDirs);

/** `proscai-mailer run …`, killed after the test if still alive. */
function daemon(args: string[], env: Record<string, string> = {}): RunningCli {
  return scopedCli(['run', ...args], env);
}

/** The daemon holds its lock and watches once its log says so. */
async function started(cli: RunningCli): Promise<void> {
  await eventually(() => /supervisor\.started|vigila|is watching/.test(cli.stderr()), 15_000, 'daemon start');
}

/** Writes an order the way the ERP's "write then rename" does; resolves at the rename. */
async function dropOrder(dir: string, name: string, xml: string): Promise<number> {
  const tmp = path.join(dir, `${name}.tmp`);
  await writeFile(tmp, xml);
  await rename(tmp, path.join(dir, name));
  return Date.now();
}

describe('run (the daemon)', () => {
  it('picks a new order up within a second, refuses a second instance with 3, stops as a service is stopped, and a restart takes over at once', async () => {
    const sink = await scopedSink();
    const dir = await makeTmpDir('proscai-run-');
    const cli = daemon(['--dir', dir, '--poll', '300']);
    await started(cli);

    const droppedAt = await dropOrder(dir, '_CFD_MAIL_REQ_R1.XML', simpleOrder({ port: sink.port }));
    await sink.waitForMessages(1, 5_000);
    await eventually(() => existsSync(path.join(dir, 'enviados', '_CFD_MAIL_REQ_R1.XML')), 5_000, 'archived');
    // Picked up (claimed) within a second of appearing, by the bitácora's clock.
    // (the log file is written in batches, flushed at least every second)
    const claimedAt = await eventually(async () => {
      const log = await readFile(path.join(dir, '.proscai-mailer', 'logs', 'mailer.log'), 'utf8').catch(() => '');
      return log
        .split('\n')
        .filter((l) => l.startsWith('{') && l.endsWith('}'))
        .map((l) => JSON.parse(l) as { event?: string; to?: string; orderId?: string; time: string })
        .find((l) => l.event === 'order.transition' && l.orderId === 'R1' && l.to === 'claiming');
    }, 5_000, 'the claiming transition in the log');
    expect(Date.parse(claimedAt.time) - droppedAt).toBeLessThan(1_000);

    // A second mailer on the same folder says so and exits 3 at once, touching nothing.
    await writeFile(path.join(dir, 'notes.txt'), 'x');
    const second = await runCli(['once', '--dir', dir]);
    expect(second.code).toBe(3);
    expect(second.ms).toBeLessThan(5_000);
    expect(second.stderr).toMatch(/ya hay|already/i);

    // SIGTERM on POSIX: a clean exit 0. Windows: terminated, as Task Scheduler's End does.
    expectStopped(await stopMailer(cli));
    expect(sink.messages).toHaveLength(1);
    // Either way the next start takes the lock at once (no exit 3) and sends nothing again.
    const restart = await runCli(['once', '--dir', dir]);
    expect(restart.code).toBe(0);
    expect(restart.ms).toBeLessThan(10_000);
    expect(sink.messages).toHaveLength(1);
  });

  it('stops cleanly on Ctrl+C (SIGINT) and, on Windows, on Ctrl+Break (SIGBREAK) in a console', async () => {
    const signals: NodeJS.Signals[] = stopsCleanly ? ['SIGINT'] : ['SIGINT', 'SIGBREAK'];
    for (const signal of signals) {
      const dir = await makeTmpDir('proscai-run-');
      const trigger = path.join(await makeTmpDir('proscai-key-'), 'pressed');
      // POSIX: the real signal. Windows: `kill` would terminate, so the key press is emitted in the child.
      const cli = daemon(['--dir', dir], stopsCleanly ? {} : consoleKeyEnv(signal, trigger));
      await started(cli);
      if (stopsCleanly) cli.child.kill(signal);
      else await writeFile(trigger, '');
      await eventually(() => cli.child.exitCode !== null || cli.child.signalCode !== null, 15_000, `${signal} to stop the daemon`);
      const exit = await cli.exited;
      expect({ signal, code: exit.code }).toEqual({ signal, code: 0 });
      const log = await readFile(path.join(dir, '.proscai-mailer', 'logs', 'mailer.log'), 'utf8');
      expect(log).toContain(`"signal":"${signal}"`);
      expect(log).toContain('"event":"supervisor.stopped"');
      // A clean stop releases the lock: nothing is left for the next start to clear.
      expect((await readdir(path.join(dir, '.proscai-mailer'))).filter((n) => n.startsWith('instance-'))).toEqual([]);
    }
  });

  it('Ctrl+C says how many sends it waits for and for how long at most; a second Ctrl+C stops at once, and the next start sends those orders exactly once', async () => {
    const cases = [
      { language: 'es', orders: ['CC1', 'CC2'], waiting: 'Deteniendo: se espera a que terminen 2 envíos en curso, como máximo 2 min. Pulse Ctrl+C otra vez para detener ya: esas órdenes quedan tomadas y se envían al siguiente inicio.', now: 'Detenido sin esperar; órdenes que quedan tomadas para el siguiente inicio: 2 (estado de salida 4).' },
      { language: 'en', orders: ['CC3'], waiting: 'Stopping: waiting for 1 send in progress to finish, at most 2 min. Press Ctrl+C again to stop now: the order stays claimed and is sent at the next start.', now: 'Stopped without waiting; orders left claimed for the next start: 1 (exit status 4).' },
    ] as const;
    for (const { language, orders, waiting, now } of cases) {
      // Every send stalls after MAIL FROM: in flight until the order's TiempoEspera (2 minutes by default).
      const server = await scopedScriptedSmtp({ reply: ({ command }) => (command === 'MAIL' ? { action: 'stall' } : undefined) });
      const dir = await makeTmpDir('proscai-run-');
      const keys = await makeTmpDir('proscai-key-');
      const [first, second] = [path.join(keys, 'first'), path.join(keys, 'second')];
      // POSIX: real SIGINTs. Windows: `kill` would terminate, so each key press is emitted in the child (as consoleKeyEnv does).
      const presses = preloadEnv(`const { existsSync } = await import('node:fs');
let pending = [${JSON.stringify(first)}, ${JSON.stringify(second)}];
const timer = setInterval(() => { if (existsSync(pending[0])) { pending.shift(); process.emit('SIGINT', 'SIGINT'); if (pending.length === 0) clearInterval(timer); } }, 25);
timer.unref();`);
      const cli = daemon(['--dir', dir, '--language', language], stopsCleanly ? {} : presses);
      await started(cli);
      for (const id of orders) await dropOrder(dir, `_CFD_MAIL_REQ_${id}.XML`, simpleOrder({ port: server.port }));
      await eventually(() => server.log.filter((l) => l.line.startsWith('MAIL')).length === orders.length, 10_000, 'every send to start');
      const press = async (trigger: string) => (stopsCleanly ? cli.child.kill('SIGINT') : writeFile(trigger, ''));

      await press(first);
      await eventually(() => cli.stderr().includes(waiting), 5_000, `the stopping line: ${waiting}`);
      // The first Ctrl+C waits: the sends are still in flight.
      await new Promise((r) => setTimeout(r, 500));
      expect(cli.child.exitCode).toBeNull();
      await press(second);
      const pressedAt = Date.now();
      const exit = await cli.exited;
      expect(Date.now() - pressedAt).toBeLessThan(5_000);
      expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 4, signal: null });
      expect(exit.stderr).toContain(now);
      expect(server.messages).toHaveLength(0);
      // The log file names both steps with stable English events.
      const logged = (await readFile(path.join(dir, '.proscai-mailer', 'logs', 'mailer.log'), 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(logged.find((l) => l.event === 'supervisor.stopping')).toMatchObject({ signal: 'SIGINT', inFlight: orders.length, boundMs: 120_000 });
      expect(logged.find((l) => l.event === 'supervisor.stopped_now')).toMatchObject({ signal: 'SIGINT', inFlight: orders.length });
      // Nothing lost: the orders in flight are claimed in the work area, not in errores/ nor gone.
      const claims = path.join(dir, '.proscai-mailer', 'claims');
      const claimed = (await Promise.all((await readdir(claims)).map((host) => readdir(path.join(claims, host))))).flat().filter((n) => n.endsWith('.XML'));
      expect(claimed.sort()).toEqual(orders.map((id) => `_CFD_MAIL_REQ_${id}.XML`));
      expect(existsSync(path.join(dir, 'errores'))).toBe(false);

      // The next start sends each claimed order exactly once.
      server.setReply(undefined);
      const restart = await runCli(['once', '--dir', dir]);
      expect(restart.code).toBe(0);
      expect(restart.ms).toBeLessThan(10_000);
      expect(server.messages).toHaveLength(orders.length);
      const ids = server.messages.map((m) => /^Message-ID: (.*)$/im.exec(m.raw.toString())?.[1]).sort();
      expect(ids).toEqual(orders.map((id) => `<proscai.${id}@acme.example>`));
      expect((await readdir(path.join(dir, 'enviados'))).sort()).toEqual(orders.flatMap((id) => [`_CFD_MAIL_REQ_${id}.XML`, `_CFD_MAIL_REQ_${id}.XML.acuse.json`]).sort());
    }
  }, 90_000);

  it('does not read an order still being written, and wastes no time once it is complete', async () => {
    const sink = await scopedSink();
    const dir = await makeTmpDir('proscai-run-');
    const cli = daemon(['--dir', dir]);
    await started(cli);
    const xml = simpleOrder({ port: sink.port, subject: 'Escrito en dos partes' });
    const cut = Math.floor(xml.length / 2);
    const handle = await open(path.join(dir, '_CFD_MAIL_REQ_SLOW.XML'), 'w');
    await handle.write(xml.slice(0, cut));
    await new Promise((r) => setTimeout(r, 400));
    await handle.write(xml.slice(cut));
    await handle.close();
    const closedAt = Date.now();
    const [message] = await sink.waitForMessages(1, 5_000);
    expect(message!.parsed.subject).toBe('Escrito en dos partes');
    expect(Date.now() - closedAt).toBeLessThan(1_000);
    expect(existsSync(path.join(dir, 'errores'))).toBe(false);
  });

  it.runIf(stopsCleanly)('on SIGTERM lets an in-flight send finish before exiting (POSIX: on Windows SIGTERM terminates the process)', async () => {
    const server = await scopedScriptedSmtp({ replyDelayMs: 250 });
    const dir = await makeTmpDir('proscai-run-');
    const cli = daemon(['--dir', dir]);
    await started(cli);
    await dropOrder(dir, '_CFD_MAIL_REQ_INFLIGHT.XML', simpleOrder({ port: server.port }));
    await eventually(() => server.log.some((l) => l.line.startsWith('MAIL')), 5_000, 'the send to start');
    cli.child.kill('SIGTERM');
    const exit = await cli.exited;
    expect(exit.code).toBe(0);
    expect(server.messages).toHaveLength(1);
    expect((await readdir(path.join(dir, 'enviados'))).sort()).toEqual(['_CFD_MAIL_REQ_INFLIGHT.XML', '_CFD_MAIL_REQ_INFLIGHT.XML.acuse.json']);
  });

  it.runIf(!stopsCleanly)('terminated mid-send as Task Scheduler ends it: a restart at once resumes the claimed order, and only an order in flight may arrive twice, with the same Message-ID (Windows: no clean stop)', async () => {
    const server = await scopedScriptedSmtp({ replyDelayMs: 250 });
    const dir = await makeTmpDir('proscai-run-');
    const cli = daemon(['--dir', dir]);
    await started(cli);
    await dropOrder(dir, '_CFD_MAIL_REQ_INFLIGHT.XML', simpleOrder({ port: server.port }));
    await dropOrder(dir, '_CFD_MAIL_REQ_WAITING.XML', simpleOrder({ port: server.port }));
    await eventually(() => server.log.some((l) => l.line.startsWith('MAIL')), 5_000, 'the send to start');
    expectStopped(await stopMailer(cli));
    // Nothing is lost: the order in flight is claimed in the work area, not gone.
    const claims = path.join(dir, '.proscai-mailer', 'claims');
    const claimed = (await Promise.all((await readdir(claims)).map((host) => readdir(path.join(claims, host))))).flat().filter((n) => n.endsWith('.XML'));
    expect(claimed).toContain('_CFD_MAIL_REQ_INFLIGHT.XML');

    const restart = await runCli(['once', '--dir', dir]);
    expect(restart.code).toBe(0);
    expect(restart.ms).toBeLessThan(10_000);
    expect((await readdir(path.join(dir, 'enviados'))).sort()).toEqual([
      '_CFD_MAIL_REQ_INFLIGHT.XML',
      '_CFD_MAIL_REQ_INFLIGHT.XML.acuse.json',
      '_CFD_MAIL_REQ_WAITING.XML',
      '_CFD_MAIL_REQ_WAITING.XML.acuse.json',
    ]);
    // Each order arrived with its own Message-ID; only one claimed (in flight) at the termination may arrive twice.
    expectEachSentOnceBeyondInFlight(server.messages.map((m) => m.raw), ['INFLIGHT', 'WAITING'], claimed);
  });

  it('after kill -9 mid-send: an immediate restart is not blocked, and the order is sent with the same Message-ID', async () => {
    const server = await scopedScriptedSmtp({ reply: ({ command }) => (command === 'DOT' ? { action: 'stall' } : undefined) });
    const dir = await makeTmpDir('proscai-run-');
    const cli = daemon(['--dir', dir]);
    await started(cli);
    await dropOrder(dir, '_CFD_MAIL_REQ_CRASH.XML', simpleOrder({ port: server.port }));
    await eventually(() => server.log.some((l) => l.line === '.'), 5_000, 'the message data to be sent');
    cli.child.kill('SIGKILL');
    await cli.exited;
    // The order is neither lost nor in the order folder: it is claimed in the work area.
    expect(existsSync(path.join(dir, '_CFD_MAIL_REQ_CRASH.XML'))).toBe(false);

    server.setReply(undefined);
    const restart = await runCli(['once', '--dir', dir]);
    expect(restart.code).toBe(0);
    expect(restart.ms).toBeLessThan(10_000);
    expect(server.messages).toHaveLength(1);
    const ids = server.messages.map((m) => /^Message-ID: (.*)$/im.exec(m.raw.toString())?.[1]);
    expect(ids).toEqual(['<proscai.CRASH@acme.example>']);
    expect((await readdir(path.join(dir, 'enviados'))).sort()).toEqual(['_CFD_MAIL_REQ_CRASH.XML', '_CFD_MAIL_REQ_CRASH.XML.acuse.json']);
  });
});
