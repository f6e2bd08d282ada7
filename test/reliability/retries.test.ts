/**
 * Retries through the real CLI (issue 3): temporary failures are deferred and
 * tried again on the `--retry` schedule, the schedule ends in errores/ with a
 * note and a notification, a 5xx fails at once, a partly refused message counts
 * as sent, and a restart continues the schedule where it stopped.
 *
 * Real parts only: `dist/main.js` as a child process, the scripted SMTP server
 * (test/helpers/scripted-smtp.ts) answering chosen commands with chosen codes,
 * real temp folders. Synchronisation is by polling what the mailer leaves on
 * disk (state files, folders); the log is read once the process has exited.
 *
 * The greeting that never comes is covered at CLI level by its twin, a server
 * that greets and then never answers EHLO (the same "no usable session within
 * the bound" path), with the send bound shortened by the test hook
 * PROSCAI_MAILER_TEST_SEND_TIMEOUT_MS (TiempoEspera is whole minutes). The
 * never-greeting server itself is unit-tested in test/io/smtp/pool.test.ts.
 */
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { afterAll, describe, expect, it } from 'vitest';
import { expectStopped, runCli, stopMailer } from '../helpers/cli.js';
import type { Reply, ScriptStep } from '../helpers/scripted-smtp.js';
import { scopedScriptedSmtp } from '../helpers/scoped.js';
import { removeTmpDirs } from '../helpers/tmp.js';
import {
  claimsDir,
  dropOrder,
  eventually,
  logLines,
  logged,
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

const HOST = 'h1';

async function scripted(reply: (step: ScriptStep) => Reply | undefined) {
  const server = await scopedScriptedSmtp({ reply });
  return server;
}

async function stateOf(world: Awaited<ReturnType<typeof makeWorld>>, name: string): Promise<{ attempts: number; nextTryAt?: number; lastError?: { code: string; smtp?: { responseCode?: number } } } | undefined> {
  try {
    return JSON.parse(await readFile(path.join(claimsDir(world, HOST), `${name}.state.json`), 'utf8'));
  } catch {
    return undefined;
  }
}

const isRcptTo = (step: ScriptStep, address: string) => step.command === 'RCPT' && step.arg.toLowerCase().includes(`<${address}>`);

describe('temporary failures are retried on the schedule', () => {
  it('451 on RCPT, 421 on MAIL, a drop mid-DATA and a stalled session: each deferred once, then sent on the next try', async () => {
    const world = await makeWorld();
    const failing: Record<string, boolean> = { R451: true, M421: true, DROP: true, STALL: true };
    const servers = {
      R451: await scripted((s) => (failing.R451 && s.command === 'RCPT' ? { code: 451, text: '4.7.1 Greylisted, try later' } : undefined)),
      M421: await scripted((s) => (failing.M421 && s.command === 'MAIL' ? { code: 421, text: '4.3.2 Too busy, closing' } : undefined)),
      DROP: await scripted((s) => (failing.DROP && s.command === 'DATA' ? { action: 'dropMidData', afterBytes: 200 } : undefined)),
      STALL: await scripted((s) => (failing.STALL && s.command === 'EHLO' ? { action: 'stall' } : undefined)),
    };
    const config = await writeConfig(world, { hostId: HOST, retry: [1, 1, 1] });
    const cli = startMailer(['run', '--config', config], { PROSCAI_MAILER_TEST_SEND_TIMEOUT_MS: '1500' });
    await started(cli);

    const ids = Object.keys(servers) as (keyof typeof servers)[];
    for (const id of ids) {
      await dropOrder(world, orderName(id), orderXml({ port: servers[id].port, company: `C${id}`, logSuccess: true }));
    }
    // As soon as each order's first failure is on disk, its server recovers.
    await Promise.all(
      ids.map(async (id) => {
        const state = await eventually(async () => {
          const s = await stateOf(world, orderName(id));
          return s && s.attempts === 1 ? s : undefined;
        }, 15_000, `${id} deferred`);
        failing[id] = false;
        expect(state.nextTryAt).toBeGreaterThan(Date.now() - 1_000);
      }),
    );
    await eventually(async () => (await ordersIn(path.join(world.dir, 'enviados'))).length === ids.length, 15_000, 'all sent');
    await logged(world, (lines) => lines.filter((l) => l.event === 'order.sent').length === ids.length, 'the sends');
    expectStopped(await stopMailer(cli));

    for (const id of ids) {
      expect(servers[id].messages.map((m) => messageIdOf(m.raw)), id).toEqual([messageIdFor(id)]);
    }
    const lines = await logLines(world);
    const expected: Record<string, Record<string, unknown>> = {
      R451: { errorCode: 'SMTP_TEMPORARY', smtpCode: 451 },
      M421: { errorCode: 'SMTP_TEMPORARY', smtpCode: 421 },
      DROP: { errorCode: 'SMTP_CONNECTION' },
      STALL: { errorCode: 'SMTP_TIMEOUT' },
    };
    for (const id of ids) {
      const deferred = lines.filter((l) => l.event === 'order.deferred' && l.orderId === id);
      expect(deferred, id).toHaveLength(1);
      expect(deferred[0], id).toMatchObject({ attempts: 1, ...expected[id] });
      const sent = lines.filter((l) => l.event === 'order.sent' && l.orderId === id);
      expect(sent.map((l) => l.attempts), id).toEqual([2]);
      // The next try was set 1 s after the failure, and did not come earlier.
      const at = (l: Record<string, unknown> | undefined, key = 'time') => Date.parse(l![key] as string);
      const failure = lines.find((l) => l.event === 'order.transition' && l.orderId === id && l.to === 'retryOrGiveUp');
      const secondTry = lines.find((l) => l.event === 'order.transition' && l.orderId === id && l.to === 'sending' && l.attempts === 2);
      expect(failure, id).toBeDefined();
      expect(secondTry, id).toBeDefined();
      const nextTryAt = at(deferred[0], 'nextTryAt');
      expect(nextTryAt - at(failure), id).toBeGreaterThanOrEqual(950);
      expect(nextTryAt - at(failure), id).toBeLessThanOrEqual(1_100);
      expect(at(secondTry), id).toBeGreaterThanOrEqual(nextTryAt);
    }
  });
});

describe('when the schedule is used up', () => {
  it('--retry 1,1 against a server that always answers 451: tries 1, 2, 3, then errores/, a note and a notification', async () => {
    const world = await makeWorld();
    const server = await scripted((s) => (isRcptTo(s, 'cliente@example.com') ? { code: 451, text: '4.2.0 Mailbox busy, come back later' } : undefined));
    const config = await writeConfig(world, { hostId: HOST, retry: [1, 1], notifyEverySeconds: 0 });
    const cli = startMailer(['run', '--config', config]);
    await started(cli);
    const name = orderName('GIVEUP');
    await dropOrder(world, name, orderXml({ port: server.port, errorMail: 'sistemas@acme.example' }));

    await eventually(async () => (await ordersIn(path.join(world.dir, 'errores'))).includes(name), 15_000, 'errores/');
    const notice = await eventually(() => server.messages.find((m) => m.rcptTo.includes('sistemas@acme.example')), 10_000, 'notification');
    await logged(world, (lines) => lines.some((l) => l.event === 'order.failed'), 'the failure');
    expectStopped(await stopMailer(cli));

    // Exactly three tries reached the server, and nothing was accepted for the customer.
    expect(server.log.filter((l) => l.line.toUpperCase().startsWith('RCPT TO:<CLIENTE@'))).toHaveLength(3);
    expect(server.messages.filter((m) => m.rcptTo.includes('cliente@example.com'))).toHaveLength(0);
    const note = await readFile(path.join(world.dir, 'errores', `${name}.error.txt`), 'utf8');
    expect(note).toContain('Intentos: 3');
    expect(note).toContain('451');
    expect(note).toContain('Mailbox busy');
    const lines = await logLines(world);
    expect(lines.filter((l) => l.event === 'order.deferred').map((l) => l.attempts)).toEqual([1, 2]);
    const failed = lines.filter((l) => l.event === 'order.failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ attempts: 3 });
    expect(JSON.stringify(failed[0]!.reasons)).toContain('RETRIES_EXHAUSTED');
    const parsed = await simpleParser(notice.raw);
    expect(parsed.text).toContain(name);
    expect(parsed.text).toContain('451');
    expect(await readdir(claimsDir(world, HOST))).not.toContain(name);
  });

  it('a 5xx fails at once: one try, errores/, no deferral', async () => {
    const world = await makeWorld();
    const server = await scripted((s) => (s.command === 'RCPT' ? { code: 550, text: '5.1.1 No such user' } : undefined));
    const config = await writeConfig(world, { hostId: HOST, retry: [1, 1, 1] });
    const name = orderName('HARD');
    await dropOrder(world, name, orderXml({ port: server.port }));
    const result = await runCli(['once', '--config', config]);
    expect(result.code).toBe(1);
    expect(server.log.filter((l) => l.line.toUpperCase().startsWith('RCPT'))).toHaveLength(1);
    expect(await ordersIn(path.join(world.dir, 'errores'))).toEqual([name]);
    const lines = await logLines(world);
    expect(lines.filter((l) => l.event === 'order.deferred')).toHaveLength(0);
    expect(lines.filter((l) => l.event === 'order.failed').map((l) => l.attempts)).toEqual([1]);
    const note = await readFile(path.join(world.dir, 'errores', `${name}.error.txt`), 'utf8');
    expect(note).toContain('Intentos: 1');
    expect(note).toContain('No such user');
  });
});

describe('partial recipients', () => {
  it('one recipient refused with 550 and one accepted: sent (enviados/), the refusal logged and told to CorreoErrores', async () => {
    const world = await makeWorld();
    const server = await scripted((s) => (isRcptTo(s, 'nadie@cliente.example') ? { code: 550, text: '5.1.1 <nadie@cliente.example> unknown' } : undefined));
    const config = await writeConfig(world, { hostId: HOST, notifyEverySeconds: 0 });
    const name = orderName('PARTIAL');
    await dropOrder(
      world,
      name,
      orderXml({ port: server.port, to: 'pagos@cliente.example, nadie@cliente.example', errorMail: 'sistemas@acme.example' }),
    );
    const result = await runCli(['once', '--config', config]);
    expect(result.code).toBe(0);
    expect(await ordersIn(path.join(world.dir, 'enviados'))).toEqual([name]);
    expect(await ordersIn(path.join(world.dir, 'errores'))).toEqual([]);

    const delivered = server.messages.filter((m) => messageIdOf(m.raw) === messageIdFor('PARTIAL'));
    expect(delivered).toHaveLength(1);
    expect(delivered[0]!.rcptTo).toEqual(['pagos@cliente.example']);
    const rejected = (await logLines(world)).filter((l) => l.event === 'order.recipients_rejected');
    expect(rejected).toHaveLength(1);
    expect(JSON.stringify(rejected[0]!.rejected)).toContain('nadie@cliente.example');

    const notice = server.messages.find((m) => m.rcptTo.includes('sistemas@acme.example'));
    expect(notice).toBeDefined();
    const text = (await simpleParser(notice!.raw)).text ?? '';
    expect(text).toContain('nadie@cliente.example');
    expect(text).toContain(name);
  });
});

describe('a restart continues the schedule', () => {
  it('stopped after the first failed try (SIGTERM; terminated on Windows), restart: the tries go on at 2, 3… and the order is sent once the server recovers', async () => {
    const world = await makeWorld();
    let failing = true;
    const server = await scripted((s) => (failing && s.command === 'RCPT' ? { code: 451, text: '4.7.0 Try again later' } : undefined));
    const config = await writeConfig(world, { hostId: HOST, retry: [2, 2, 2] });
    const name = orderName('RESUME');
    const xml = orderXml({ port: server.port, logSuccess: true });

    const first = startMailer(['run', '--config', config]);
    await started(first);
    await dropOrder(world, name, xml);
    const saved = await eventually(async () => {
      const s = await stateOf(world, name);
      return s?.attempts === 1 ? s : undefined;
    }, 10_000, 'first try recorded');
    await logged(world, (lines) => lines.some((l) => l.event === 'order.deferred'), 'the first try');
    expectStopped(await stopMailer(first));

    // On disk between the two runs: claimed, one try, the next one scheduled about 2 s after it.
    expect(await readdir(claimsDir(world, HOST))).toContain(name);
    const between = await stateOf(world, name);
    expect(between).toMatchObject({ attempts: 1, lastError: { code: 'SMTP_TEMPORARY', smtp: { responseCode: 451 } } });
    expect(between!.nextTryAt).toBe(saved.nextTryAt);

    const second = startMailer(['run', '--config', config]);
    await started(second);
    await eventually(async () => (await stateOf(world, name))?.attempts === 2, 10_000, 'second try recorded');
    failing = false;
    await eventually(async () => (await ordersIn(path.join(world.dir, 'enviados'))).includes(name), 10_000, 'sent');
    await logged(world, (lines) => lines.some((l) => l.event === 'order.sent'), 'the send');
    expectStopped(await stopMailer(second));

    const lines = await logLines(world);
    // Every failed try is logged once, numbered on from the first run; never a second "try 1".
    expect(lines.filter((l) => l.event === 'order.deferred').map((l) => l.attempts)).toEqual([1, 2]);
    expect(lines.filter((l) => l.event === 'order.sent').map((l) => l.attempts)).toEqual([3]);
    const tries = lines.filter((l) => l.event === 'order.transition' && l.to === 'sending');
    expect(tries.map((l) => l.attempts)).toEqual([1, 2, 3]);
    // The second try did not come before the time saved by the first run.
    expect(Date.parse(tries[1]!.time as string)).toBeGreaterThanOrEqual(saved.nextTryAt!);
    expect(server.log.filter((l) => l.line.toUpperCase().startsWith('RCPT'))).toHaveLength(3);
    expect(server.messages.map((m) => messageIdOf(m.raw))).toEqual([messageIdFor('RESUME')]);
  });
});
