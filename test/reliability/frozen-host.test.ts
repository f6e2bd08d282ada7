/**
 * Two machines on one order folder, one of them stopped past the stale-claim
 * time (frozen, asleep, cut off): the other takes its claims over and sends
 * them. Before a message is handed to the SMTP server the sender confirms it
 * still owns the order's claim, so when the stopped machine goes on it sends
 * nothing it lost: only messages that were already on their way to the
 * server at the freeze can arrive twice (the spec's at-least-once bound,
 * always with the same Message-ID), and each lost claim is logged as such.
 *
 * Simulated on one machine by two real CLI processes with different host ids
 * (claims/<hostId>/), as test/reliability/share.test.ts does.
 */
import { mkdir, readFile, rename } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { scopedScriptedSmtp } from '../helpers/scoped.js';
import { removeTmpDirs } from '../helpers/tmp.js';
import {
  claimedOrders,
  claimsDir,
  dropMany,
  eventually,
  expectStopped,
  logged,
  logLines,
  makeWorld,
  messageIdFor,
  orderName,
  orderXml,
  ordersIn,
  started,
  startMailer,
  stopMailer,
  tally,
  underWine,
  writeConfig,
} from './kit.js';

afterAll(removeTmpDirs);

type Line = Record<string, unknown>;

/** Recipients of this form are refused with a 451 at their first RCPT, so their orders wait for a retry in a machine's claims. */
const RETRIED = 'reintento-';

/** A server that answers slowly (sends are always in progress) and defers each `RETRIED` recipient's first try. */
function deferFirstTry() {
  const tried = new Set<string>();
  return ({ command, arg }: { command: string; arg: string }) => {
    if (command !== 'RCPT' || !arg.includes(RETRIED) || tried.has(arg)) return undefined;
    tried.add(arg);
    return { code: 451, text: '4.7.1 Try again later' };
  };
}

/** A mailer's own log (each machine logs in its own folder here). */
async function linesOf(file: string): Promise<Line[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((l) => l.startsWith('{') && l.endsWith('}'))
    .map((l) => JSON.parse(l) as Line);
}

/** The state of each order (by id) at `at`, from a mailer's `order.transition` lines. */
function statesAt(lines: Line[], at: number): Map<string, string> {
  const states = new Map<string, string>();
  const transitions = lines
    .filter((l) => l.event === 'order.transition' && Date.parse(String(l.time)) <= at)
    .sort((a, b) => Date.parse(String(a.time)) - Date.parse(String(b.time)));
  for (const t of transitions) states.set(String(t.orderId), String(t.to));
  return states;
}

/**
 * Where a claim found lost before the send is noticed: reading the order again
 * for its retry (`loading`), or the check right before the message is handed
 * to the server (`sending`).
 */
const BEFORE_SEND = /^(loading|sending)$/;

/** States in which an order's message may already be on its way to the server, or accepted but not yet archived. */
const IN_FLIGHT = new Set(['sending', 'sent', 'archiving']);

describe('a machine frozen past staleClaimSeconds', () => {
  it.runIf(process.platform !== 'win32')(
    'SIGSTOP 15 s with staleClaimSeconds 5, two machines, a slow server (POSIX only: Windows cannot freeze another process): every order sent, repeats only of messages in flight at the freeze, lost claims logged',
    async () => {
      const world = await makeWorld();
      const server = await scopedScriptedSmtp({ replyDelayMs: 10, reply: deferFirstTry() });
      const hosts = ['maquina1', 'maquina2'] as const;
      const logFile = (host: string) => path.join(world.root, `logs-${host}`, 'mailer.log');
      const mailers = await Promise.all(
        hosts.map(async (hostId) => {
          const config = await writeConfig(
            world,
            { hostId, staleClaimSeconds: 5, retry: [2, 2], logDir: path.dirname(logFile(hostId)) },
            `${hostId}.json`,
          );
          return startMailer(['run', '--config', config]);
        }),
      );
      for (const cli of mailers) await started(cli);
      const [frozen, other] = mailers as [(typeof mailers)[0], (typeof mailers)[0]];

      // Every tenth order waits for a retry after its first try, in the claims of the machine that took it.
      const ids = Array.from({ length: 1000 }, (_, i) => `Z${String(i).padStart(4, '0')}`);
      const to = (id: string) => (Number(id.slice(1)) % 10 === 0 ? `${RETRIED}${id}@example.com` : 'cliente@example.com');
      await dropMany(world, ids.map((id) => ({ name: orderName(id), xml: orderXml({ port: server.port, to: to(id) }) })));

      await eventually(() => server.messages.length >= ids.length / 4, 60_000, 'a quarter sent');
      frozen.child.kill('SIGSTOP');
      const freezeAt = Date.now();
      await new Promise((r) => setTimeout(r, 15_000));
      frozen.child.kill('SIGCONT');
      const resumedAt = Date.now();

      await eventually(async () => (await ordersIn(path.join(world.dir, 'enviados'))).length === ids.length, 90_000, 'all sent');
      await eventually(async () => (await claimedOrders(world)).length === 0, 20_000, 'no claims left');
      const frozenLines = () => linesOf(logFile(hosts[0]));
      const atFreeze = statesAt(await frozenLines(), freezeAt);
      const inFlight = [...atFreeze].filter(([, state]) => IN_FLIGHT.has(state)).map(([id]) => id);
      const waitingAtFreeze = [...atFreeze].filter(([, state]) => state === 'deferred').map(([id]) => id);
      const { distinct, duplicates, perId } = tally(server.messages.map((m) => m.raw));
      const repeated = [...perId].filter(([, n]) => n > 1).map(([id]) => id);
      console.log(
        `frozen-host: ${server.messages.length} messages for ${ids.length} orders, ${duplicates} repeated (${repeated.join(' ')}); ` +
          `at the freeze the frozen machine had ${inFlight.length} in flight (${inFlight.map((id) => `${id} ${atFreeze.get(id)}`).join(', ')}) ` +
          `and ${waitingAtFreeze.length} waiting for a retry; resumed ${resumedAt - freezeAt} ms after the freeze`,
      );
      // Every order arrived; only a message in flight at the freeze may have arrived twice, and never more.
      expect(distinct).toBe(ids.length);
      for (const id of ids) expect(perId.get(messageIdFor(id)), id).toBeGreaterThanOrEqual(1);
      const inFlightIds = new Set(inFlight.map(messageIdFor));
      for (const id of repeated) {
        expect(inFlightIds.has(id), `${id} repeated but not in flight at the freeze`).toBe(true);
        expect(perId.get(id)).toBe(2);
      }
      expect(duplicates).toBeLessThanOrEqual(inFlight.length);

      // The frozen machine's orders that were open at the freeze all ended (sent, or lost to the other machine).
      const open = [...atFreeze].filter(([, state]) => state !== 'done').map(([id]) => id);
      await eventually(
        async () => {
          const now = statesAt(await frozenLines(), Date.now());
          return open.every((id) => now.get(id) === 'done');
        },
        20_000,
        "the frozen machine's orders ended",
      );
      for (const exit of await Promise.all(mailers.map((cli) => stopMailer(cli)))) expectStopped(exit);
      expect(server.messages).toHaveLength(ids.length + duplicates);

      const lostClaims = (await frozenLines()).filter((l) => l.event === 'order.claim_lost' && l.errorCode === 'CLAIM_LOST');
      const takenOver = (await linesOf(logFile(hosts[1]))).filter((l) => l.event === 'claims.taken_over').reduce((n, l) => n + Number(l.count), 0);
      console.log(
        `frozen-host: taken over: ${takenOver}; lost claims logged: ${lostClaims.length} (${lostClaims.map((l) => `${String(l.orderId)} from ${String(l.from)}`).join(', ')})`,
      );
      // The other machine took the frozen one's claims over, and each order that was waiting for its
      // retry there was found lost when its retry came: logged as a lost claim, nothing sent from here.
      expect(takenOver).toBeGreaterThan(0);
      expect(waitingAtFreeze.length).toBeGreaterThan(0);
      for (const id of waitingAtFreeze) {
        expect(lostClaims.find((l) => l.orderId === id), id).toMatchObject({ level: 40, from: expect.stringMatching(BEFORE_SEND), errorCode: 'CLAIM_LOST' });
      }
      expect(await ordersIn(world.dir)).toEqual([]);
      expect(await ordersIn(path.join(world.dir, 'errores'))).toEqual([]);
    },
    180_000,
  );

  it('an order taken over by another machine while it waited for its retry is not sent by the first one when its retry comes: a lost claim, logged', async () => {
    const world = await makeWorld();
    const server = await scopedScriptedSmtp({ reply: deferFirstTry() });
    const config = await writeConfig(world, { hostId: 'maquina1', retry: [3] });
    const cli = startMailer(['run', '--config', config]);
    await started(cli);
    const name = orderName('T001');
    await dropMany(world, [{ name, xml: orderXml({ port: server.port, to: `${RETRIED}T001@example.com` }) }]);
    await logged(world, (lines) => lines.some((l) => l.event === 'order.deferred' && l.orderId === 'T001'), 'the first try deferred');

    // What the other machine's takeover and claim leave: the order in its claims folder, with its state.
    const mine = claimsDir(world, 'maquina1');
    const theirs = claimsDir(world, 'maquina2');
    await mkdir(theirs, { recursive: true });
    await rename(path.join(mine, name), path.join(theirs, name));
    await rename(path.join(mine, `${name}.state.json`), path.join(theirs, `${name}.state.json`)).catch(() => undefined);

    await logged(world, (lines) => lines.some((l) => l.event === 'order.claim_lost' && l.orderId === 'T001'), 'the lost claim', underWine ? 30_000 : 15_000);
    const lost = (await logLines(world)).filter((l) => l.event === 'order.claim_lost');
    expect(lost).toEqual([expect.objectContaining({ level: 40, orderId: 'T001', from: expect.stringMatching(BEFORE_SEND), errorCode: 'CLAIM_LOST' })]);
    // Its retry came, and nothing went to the server: one RCPT (the deferred first try), no message.
    expect(server.log.filter((l) => l.line.startsWith('RCPT'))).toHaveLength(1);
    expect(server.messages).toEqual([]);
    expect(await ordersIn(theirs)).toEqual([name]);
    expect(await ordersIn(mine)).toEqual([]);
    expectStopped(await stopMailer(cli));
  }, 60_000);
});
