/**
 * `proscai-mailer run` end to end: the daemon as a child process watching a
 * real temp folder, real SMTP servers (smtp-server, and the scripted one for
 * slow and stalled sends), SIGTERM, a second instance, and kill -9.
 */
import { existsSync } from 'node:fs';
import { open, readFile, readdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { eventually, runCli, type RunningCli } from '../helpers/cli.js';
import { scopedCli, scopedScriptedSmtp, scopedSink } from '../helpers/scoped.js';
import { makeTmpDir, removeTmpDirs } from '../helpers/tmp.js';
import { simpleOrder } from './folder.js';

afterAll(removeTmpDirs);

/** `proscai-mailer run …`, killed after the test if still alive. */
function daemon(args: string[]): RunningCli {
  return scopedCli(['run', ...args]);
}

/** The daemon holds its lock and watches once its log says so. */
async function started(cli: RunningCli): Promise<void> {
  await eventually(() => cli.stderr().includes('supervisor.started') || cli.stderr().includes('vigila'), 15_000, 'daemon start');
}

/** Writes an order the way the ERP's "write then rename" does; resolves at the rename. */
async function dropOrder(dir: string, name: string, xml: string): Promise<number> {
  const tmp = path.join(dir, `${name}.tmp`);
  await writeFile(tmp, xml);
  await rename(tmp, path.join(dir, name));
  return Date.now();
}

describe('run (the daemon)', () => {
  it('picks a new order up within a second, refuses a second instance with 3, stops cleanly on SIGTERM', async () => {
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

    cli.child.kill('SIGTERM');
    const exit = await cli.exited;
    expect(exit.code).toBe(0);
    expect(sink.messages).toHaveLength(1);
  });

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

  it('on SIGTERM lets an in-flight send finish before exiting', async () => {
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
    expect(await readdir(path.join(dir, 'enviados'))).toEqual(['_CFD_MAIL_REQ_INFLIGHT.XML']);
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
    expect(await readdir(path.join(dir, 'enviados'))).toEqual(['_CFD_MAIL_REQ_CRASH.XML']);
  });
});
