/**
 * Crash-loop quarantine through the real CLI (issue 13, item 1): an order
 * that makes the mailer's process die while it is in flight, at two starts
 * in a row, is set aside at the third start (errores/ with a note saying it
 * stopped the mailer, and a notification like any failed order) instead of
 * stopping every restart; the other orders are all sent, none lost, and only
 * messages in flight at a death may arrive twice (same Message-ID).
 *
 * The death is a test hook (PROSCAI_MAILER_TEST_DIE_ON_ORDER, read by
 * src/main.ts): the process kills itself, with no handler running, when it
 * starts reading that order, as an out-of-memory abort or a killed service
 * would end it. The orders are real files, the server a real SMTP server.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from '../helpers/cli.js';
import { scopedScriptedSmtp, scopedSink } from '../helpers/scoped.js';
import { removeTmpDirs } from '../helpers/tmp.js';
import {
  claimedOrders,
  claimsDir,
  dropMany,
  dropOrder,
  eventually,
  expectEachSentOnceBeyondInFlight,
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

const ERROR_ADDRESS = 'sistemas@acme.example';
const POISON = 'P1';

/**
 * How a start that died at the hook ended: killed (SIGKILL) on POSIX; on
 * Windows a process that kills itself is terminated with exit status 1. It
 * never printed the summary of a pass that ran to its end.
 */
function expectDied(result: CliResult): void {
  if (process.platform === 'win32') expect({ code: result.code, signal: result.signal }).toEqual({ code: 1, signal: null });
  else expect({ code: result.code, signal: result.signal }).toEqual({ code: null, signal: 'SIGKILL' });
  expect(result.stdout + result.stderr).not.toMatch(/Enviadas: \d+/);
}

describe('crash-loop quarantine', () => {
  it('an order that stops the mailer at two starts in a row is set aside at the third, with a note and a notification; the others are all sent', async () => {
    const world = await makeWorld();
    const sink = await scopedSink();
    const config = await writeConfig(world, { hostId: 'h1', maxConnections: 1 });
    const others = Array.from({ length: 6 }, (_, i) => `A${i}`);
    await dropMany(world, [
      { name: orderName(POISON), xml: orderXml({ port: sink.port, errorMail: ERROR_ADDRESS }) },
      ...others.map((id) => ({ name: orderName(id), xml: orderXml({ port: sink.port }) })),
    ]);
    const env = { PROSCAI_MAILER_TEST_DIE_ON_ORDER: POISON };
    const statePath = path.join(claimsDir(world, 'h1'), `${orderName(POISON)}.state.json`);

    // First start: dies as it reads the order; the order stays claimed, with no state file (it was in flight).
    expectDied(await runCli(['once', '--config', config], env));
    expect(await claimedOrders(world)).toContain(orderName(POISON));
    const claimedAtFirst = await claimedOrders(world);
    const sentAtFirst = sink.messages.length;

    // Second start: tries it once more, and its state says so before it is read; it dies again.
    expectDied(await runCli(['once', '--config', config], env));
    const state = JSON.parse(await readFile(statePath, 'utf8')) as { inFlightSince?: number; crashes?: number };
    expect(state.inFlightSince).toBeGreaterThan(0);
    expect(state.crashes).toBe(1);
    const claimedAtSecond = await claimedOrders(world);

    // Third start: the order is set aside without being read again, and everything else is sent.
    const third = await runCli(['once', '--config', config], env);
    expect(third.code).toBe(1); // some order failed for good
    expect(await ordersIn(world.dir)).toEqual([]);
    expect(await claimedOrders(world)).toEqual([]);
    expect((await ordersIn(path.join(world.dir, 'errores'))).sort()).toEqual([orderName(POISON)]);
    const note = await readFile(path.join(world.dir, 'errores', `${orderName(POISON)}.error.txt`), 'utf8');
    expect(note).toContain('El programa se detuvo inesperadamente mientras procesaba esta orden (2 veces seguidas)');
    expect(note).toContain('se apartó para que las demás órdenes se envíen');
    expect((await ordersIn(path.join(world.dir, 'enviados'))).sort()).toEqual(others.map(orderName).sort());

    // The customers got every other order (a repeat only of one in flight at a death), never the poison one.
    const customer = sink.messages.filter((m) => !m.envelope.to.includes(ERROR_ADDRESS));
    expectEachSentOnceBeyondInFlight(
      customer.map((m) => m.raw),
      others,
      [...claimedAtFirst, ...claimedAtSecond].filter((name) => name !== orderName(POISON)),
    );
    expect(customer.some((m) => messageIdOf(m.raw)?.includes(POISON))).toBe(false);
    // Told like any failed order: to the order's own CorreoErrores (read in isolation, in a worker).
    const notices = sink.messages.filter((m) => m.envelope.to.includes(ERROR_ADDRESS));
    expect(notices).toHaveLength(1);
    expect(notices[0]!.parsed.text).toContain(POISON);
    expect(notices[0]!.parsed.text).toContain('se detuvo inesperadamente');
    // And logged.
    const failed = (await logLines(world)).filter((l) => l.event === 'order.failed' && l.orderId === POISON);
    expect(failed).toHaveLength(1);
    expect(JSON.stringify(failed[0]!.reasons)).toContain('ORDER_CRASHED_MAILER');
    console.log(
      `quarantine: sent ${sentAtFirst} before the first death, ${customer.length} customer messages in all for ${others.length} orders; ` +
        `the poison order set aside at the third start`,
    );
  });

  it('an order in flight beside the one that stops the mailer, at both deaths, is not set aside: such orders are tried one at a time', async () => {
    const world = await makeWorld();
    let stall = true;
    // The innocent order's DATA is never answered while `stall` holds: it stays in flight.
    const server = await scopedScriptedSmtp({ reply: (step) => (stall && step.command === 'DATA' ? { action: 'stall' } : undefined) });
    const config = await writeConfig(world, { hostId: 'h1', retry: [1] });
    const env = { PROSCAI_MAILER_TEST_DIE_ON_ORDER: POISON, PROSCAI_MAILER_TEST_SEND_TIMEOUT_MS: '1500' };
    const innocent = orderName('I1');
    // First start: the innocent order is being sent (stalled) when the poison one arrives and the process dies.
    const cli = startMailer(['run', '--config', config], env);
    await started(cli);
    await dropOrder(world, innocent, orderXml({ port: server.port, company: 'OTRA' }));
    await eventually(() => server.log.some((l) => l.line.startsWith('DATA')), 10_000, "the innocent order's DATA");
    await dropOrder(world, orderName(POISON), orderXml({ port: server.port, errorMail: ERROR_ADDRESS }));
    expectDied(await cli.exited);
    expect((await claimedOrders(world)).sort()).toEqual([innocent, orderName(POISON)].sort());
    // Second start: both were in flight; they are tried one at a time (the innocent one, if first, stalls
    // until its send times out and waits for a retry), so the innocent order is not in flight at this death.
    expectDied(await runCli(['once', '--config', config], env));
    // Third start, the server well again: the poison order is set aside, the innocent one sent.
    stall = false;
    await new Promise((resolve) => setTimeout(resolve, 1100)); // its retry, if it was deferred, is due
    const third = await runCli(['once', '--config', config], env);
    expect(third.code).toBe(1);
    expect(await ordersIn(path.join(world.dir, 'errores'))).toEqual([orderName(POISON)]);
    expect(await ordersIn(path.join(world.dir, 'enviados'))).toEqual([innocent]);
    expect(server.messages.filter((m) => m.rcptTo.includes('cliente@example.com')).map((m) => messageIdOf(m.raw))).toEqual([messageIdFor('I1')]);
  });

  it('an order in flight at one death only is tried again at the next start, and sent', async () => {
    const world = await makeWorld();
    const sink = await scopedSink();
    const config = await writeConfig(world, { hostId: 'h1' });
    await dropMany(world, [{ name: orderName('B1'), xml: orderXml({ port: sink.port }) }]);
    expectDied(await runCli(['once', '--config', config], { PROSCAI_MAILER_TEST_DIE_ON_ORDER: 'B1' }));
    expect(await claimedOrders(world)).toEqual([orderName('B1')]);
    // The cause is gone (the hook is not set): the next start sends it.
    const next = await runCli(['once', '--config', config]);
    expect(next.code).toBe(0);
    expect(await ordersIn(path.join(world.dir, 'enviados'))).toEqual([orderName('B1')]);
    expect(await claimedOrders(world)).toEqual([]);
    expect(sink.messages).toHaveLength(1);
  });
});
