/**
 * Orders written slowly (issue #13, item 2): the ERP writes over network
 * shares, in place, and may pause for seconds in the middle of a file. A
 * document that is not complete yet (no closing `</OrdenEnvio>`) is waited for
 * while it may still grow, up to `incompleteSettleSeconds` (a minute by
 * default) of stillness; a complete one goes at once. Only an order that
 * stays incomplete that long fails, as ORDER_INCOMPLETE, with a note that says
 * so. Before, an order still for 0.5 s was failed as malformed ("line 1") and
 * moved to errores/ while its writer still had it open.
 *
 * The writer is this test process, writing the order file in place in the
 * order folder through one open handle, as the ERP does; the mailer is the
 * real CLI against a real SMTP server.
 */
import { open, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { scopedSink } from '../helpers/scoped.js';
import type { SmtpSink } from '../helpers/smtp-sink.js';
import { removeTmpDirs } from '../helpers/tmp.js';
import { eventually, expectStopped, logLines, logged, makeWorld, messageIdFor, orderName, orderXml, ordersIn, started, startMailer, stopMailer, tally, writeConfig, type World } from './kit.js';

afterEach(removeTmpDirs);

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The order `id`, cut in two in the middle of its body: the writer pauses between the halves. */
function halves(id: string, port: number): [string, string] {
  const xml = orderXml({ port, subject: `Factura ${id}`, body: 'Primera parte del cuerpo; segunda parte del cuerpo.', errorMail: 'sistemas@acme.example' });
  const cut = xml.indexOf('; segunda parte');
  return [xml.slice(0, cut), xml.slice(cut)];
}

/**
 * Writes order `id` in place in the order folder as a slow writer does: the
 * first half, then `pause()` (`pauseMs` by default) with the file open, then
 * the rest. Resolves when the file is closed, with the time of the last write.
 */
async function writeSlowly(world: World, id: string, port: number, pauseMs: number, pause = () => sleep(pauseMs)): Promise<number> {
  const [first, rest] = halves(id, port);
  const handle = await open(path.join(world.dir, orderName(id)), 'w');
  try {
    await handle.write(first);
    await pause();
    await handle.write(rest);
    return Date.now();
  } finally {
    await handle.close();
  }
}

/** Every order of `ids` reached the customer exactly once, whole (the part written after the pause is there). */
function expectSentOnceWhole(sink: SmtpSink, ids: string[]): void {
  const toCustomer = sink.messages.filter((m) => m.envelope.to.includes('cliente@example.com'));
  const { perId } = tally(toCustomer.map((m) => m.raw));
  expect(Object.fromEntries(perId)).toEqual(Object.fromEntries(ids.map((id) => [messageIdFor(id), 1])));
  for (const message of toCustomer) expect(message.parsed.text).toContain('segunda parte del cuerpo.');
}

/** A real SMTP server, an empty world, and the daemon started on it. */
async function daemon() {
  const sink = await scopedSink();
  const world = await makeWorld('proscai-slow-');
  const cli = startMailer(['run', '--config', await writeConfig(world, { hostId: 'h1' })]);
  await started(cli);
  return { sink, world, cli };
}

describe('an order whose writer pauses mid-file', () => {
  it('`run`: writers pausing 1.5 s and 5 s with the file open: each order is sent once, whole, and never goes to errores/', async () => {
    const { sink, world, cli } = await daemon();

    await Promise.all([writeSlowly(world, 'PAUSE15', sink.port, 1500), writeSlowly(world, 'PAUSE5', sink.port, 5000)]);
    await eventually(async () => (await ordersIn(path.join(world.dir, 'enviados'))).length === 2, 20_000, 'both sent');
    await logged(world, (lines) => lines.filter((l) => l.event === 'order.transition' && l.to === 'done').length === 2, 'both done');
    expectStopped(await stopMailer(cli));

    expectSentOnceWhole(sink, ['PAUSE15', 'PAUSE5']);
    expect(await ordersIn(path.join(world.dir, 'errores'))).toEqual([]);
    expect(sink.messages.filter((m) => m.envelope.to.includes('sistemas@acme.example'))).toEqual([]);
    expect((await logLines(world)).filter((l) => l.event === 'order.failed')).toEqual([]);
  });

  it('`once` started while the writer pauses 1.5 s waits for the order and sends it whole (exit 0)', async () => {
    const sink = await scopedSink();
    const world = await makeWorld('proscai-slow-');
    const config = await writeConfig(world, { hostId: 'h1' });
    let cli: ReturnType<typeof startMailer> | undefined;
    // The first half is there when `once` lists the folder; the pause counts from the moment it started.
    const writing = writeSlowly(world, 'ONCE15', sink.port, 1500, async () => {
      cli = startMailer(['once', '--config', config]);
      await started(cli);
      await sleep(1500);
    });

    const lastWriteAt = await writing;
    const result = await cli!.exited;

    expect(result.code, result.stderr).toBe(0);
    expect(Date.now()).toBeGreaterThanOrEqual(lastWriteAt);
    expectSentOnceWhole(sink, ['ONCE15']);
    expect(await ordersIn(path.join(world.dir, 'enviados'))).toEqual([orderName('ONCE15')]);
    expect(await ordersIn(path.join(world.dir, 'errores'))).toEqual([]);
  });
});

describe('an order whose writer never finishes', () => {
  it('a stop while the daemon waits for it is not held up by the wait (a minute by default): the order stays in the order folder as it is', async () => {
    const { sink, world, cli } = await daemon();
    const name = orderName('STOPHALF');
    const [first] = halves('STOPHALF', sink.port);
    const handle = await open(path.join(world.dir, name), 'w');
    await handle.write(first);
    await handle.close();
    await sleep(1500); // seen, read, and being waited for

    const stoppedAt = Date.now();
    const result = await stopMailer(cli);

    expectStopped(result);
    expect(Date.now() - stoppedAt).toBeLessThan(10_000);
    expect(await ordersIn(world.dir)).toEqual([name]);
    expect(await readFile(path.join(world.dir, name), 'utf8')).toBe(first);
    expect(await ordersIn(path.join(world.dir, 'errores'))).toEqual([]);
  });

  it('fails as ORDER_INCOMPLETE only after `incompleteSettleSeconds` of stillness, with a note and a notification that say it is incomplete', async () => {
    const sink = await scopedSink();
    const world = await makeWorld('proscai-slow-');
    const settleSeconds = 3;
    // The order's own CorreoErrores is in the half never written: the configuration's address is told.
    const config = await writeConfig(world, {
      hostId: 'h1',
      incompleteSettleSeconds: settleSeconds,
      errorMail: 'sistemas@acme.example',
      from: 'mailer@acme.example',
      smtp: { host: '127.0.0.1', port: sink.port, security: 'NINGUNA' },
      notifyEverySeconds: 0,
    });
    const name = orderName('HALF');
    const [first] = halves('HALF', sink.port);
    const handle = await open(path.join(world.dir, name), 'w');
    await handle.write(first);
    await handle.close();
    const lastWriteAt = Date.now();

    const result = await runCli(['once', '--config', config]);

    expect(result.code, result.stderr).toBe(1);
    expect(await ordersIn(world.dir)).toEqual([]);
    expect(await ordersIn(path.join(world.dir, 'errores'))).toEqual([name]);
    const failed = (await logLines(world)).find((l) => l.event === 'order.failed');
    expect((failed?.reasons as { errorCode: string }[]).map((r) => r.errorCode)).toEqual(['ORDER_INCOMPLETE']);
    expect(Date.parse(String(failed?.time ?? ''))).toBeGreaterThanOrEqual(lastWriteAt + settleSeconds * 1000);
    const note = await readFile(path.join(world.dir, 'errores', `${name}.error.txt`), 'utf8');
    expect(note).toContain('La orden está incompleta: el archivo termina antes de </OrdenEnvio> (termina en «<Cuerpo>Primera parte del cuerpo»)');
    expect(note).not.toMatch(/l[ií]nea? 1|col(umn)? 1/i);
    expect(sink.messages.filter((m) => m.envelope.to.includes('cliente@example.com'))).toEqual([]);
    const notice = sink.messages.find((m) => m.envelope.to.includes('sistemas@acme.example'));
    expect(notice?.parsed.text).toContain('La orden está incompleta');
  });
});
