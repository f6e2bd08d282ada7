/**
 * Failure notifications (spec §3: a permanent failure is told to
 * `CorreoErrores`), gathered so that they help rather than flood.
 *
 * - Failures are gathered per RECIPIENT ADDRESS (and per notification server
 *   and sender: a failure of company A is never told through company B's
 *   server or in B's name). Each recipient gets at most one message per period
 *   (`notifyEverySeconds`, default 60), listing every failed order with its
 *   reason and what to do next.
 * - The first failure of a quiet period waits a short gathering window,
 *   min(5 s, period), before it goes out: an ERP that produces a bad batch
 *   produces it within seconds, and those failures then arrive as ONE message
 *   instead of one now and one a minute later, while a lone failure is still
 *   told within seconds.
 * - With a notification route (`route`, the configuration's `notify`), every
 *   notice goes through that server with that sender, whatever server the
 *   order used: a company whose login is refused still gets its failures told.
 *   Without one, a notice goes through the failed order's own server.
 * - When the mail server is down (sending a notification fails with a
 *   temporary error: connection refused, timeout, 4xx), the batch is kept and
 *   tried again one period later, and every other batch through that server
 *   waits too: one try per server per period, never one per order. A failure
 *   that is itself a connection failure against the notification server marks
 *   that server as down for a period at once. Kept reports are dropped (with a
 *   log line, and counted in the next message) after 24 h or beyond 1000 per
 *   recipient.
 * - A notification refused for good (5xx, credentials, TLS) is logged and
 *   dropped: trying again cannot help.
 * - Every notification that cannot be sent is logged at error level and, with
 *   `statePath`, recorded in a small state file that `status` reads; the file
 *   is removed as soon as a notification gets through.
 * - `close()` gives everything pending one last try, bounded (10 s), so a
 *   `once` run still tells its failures before it exits.
 *
 * Guarantee: `notify` never rejects and returns at once; a notification that
 * cannot be sent is logged, never turned into a failure of the order it is about.
 */
import { hostname } from 'node:os';

import type { Language } from '../../config/types.js';
import type { MailerError } from '../../errors.js';
import { isTemporaryCode } from '../../errors.js';
import type { Address } from '../../order/types.js';
import type { FailureReport, Notifier, ResolvedSmtp } from '../../ports.js';
import { Events } from '../log/events.js';
import { deliver as deliverWith, reportsServerDown, serverKey, withDeadline, type Batch, type Item, type Outcome } from './notice.js';
import { clearNoticeProblem, recordNoticeProblem } from '../host/notice-state.js';
import type { TransportPool } from './transport-pool.js';

export interface NotifierLogger {
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  info?(obj: object, msg?: string): void;
}

export interface NotifierDeps {
  pool: TransportPool;
  language: Language;
  /** Server used when a report carries none (e.g. the top-level `smtp` of the configuration). */
  defaultSmtp?: ResolvedSmtp;
  /** Sender used when a report carries none. */
  defaultFrom?: Address;
  /** Server and sender of every notice, ahead of the report's own (Config.notify). */
  route?: { smtp: ResolvedSmtp; from: Address };
  /** State file telling `status` that notices are failing (see notify-delivery.ts); none when absent. */
  statePath?: string;
  logger?: NotifierLogger;
  /** Config.notifyEverySeconds: at most one message per recipient per period (default 60; 0 = no limit). */
  notifyEverySeconds?: number;
  /** The period in ms, instead of `notifyEverySeconds` (tests). */
  notifyEveryMs?: number;
  /** Wait after the first failure of a quiet period (default min(5 s, period)). */
  gatherMs?: number;
  /** Reports kept per recipient while the server is down (default 1000); older ones are dropped and counted. */
  maxPending?: number;
  /** Age after which a kept report is dropped (default 24 h). */
  maxAgeMs?: number;
  /** Bound of close()'s last try (default 10 s). */
  closeTimeoutMs?: number;
}

export function createNotifier(deps: NotifierDeps): Notifier {
  const logger = deps.logger ?? silentLogger;
  const periodMs = Math.max(0, deps.notifyEveryMs ?? (deps.notifyEverySeconds ?? 60) * 1000);
  const gatherMs = deps.gatherMs ?? Math.min(5_000, periodMs);
  // With no period, a down server is still only tried once a minute.
  const retryMs = periodMs > 0 ? periodMs : 60_000;
  const maxPending = deps.maxPending ?? 1000;
  const maxAgeMs = deps.maxAgeMs ?? 24 * 3_600_000;
  const closeTimeoutMs = deps.closeTimeoutMs ?? 10_000;

  const batches = new Map<string, Batch>();
  const lastSentAt = new Map<string, number>();
  const downUntil = new Map<string, number>();
  /** Per server, the chain of deliveries: one at a time, so a down server costs one connection. */
  const busy = new Map<string, Promise<void>>();
  let closing: Promise<void> | undefined;
  /** Set as close() starts: no timer is armed and no periodic try starts any more. */
  let stopping = false;

  const orderIds = (items: Item[]): string[] => items.map((i) => i.report.orderId);
  /** One delivery; its outcome is recorded for `status` (failing since when, last error) or clears the record. */
  const deliver = async (batch: Batch, items: Item[], omitted: number): Promise<Outcome> => {
    const outcome = await deliverWith(deps.pool, deps.language, batch, items, omitted);
    if (deps.statePath !== undefined) {
      await (outcome.ok ? clearNoticeProblem(deps.statePath) : recordNoticeProblem(deps.statePath, batch.smtp, outcome.error));
    }
    return outcome;
  };

  /** Drops reports older than maxAgeMs or beyond maxPending (oldest first), counting them. */
  function trim(batch: Batch, now: number): void {
    const old = batch.items.filter((i) => now - i.at > maxAgeMs).length;
    const over = Math.max(0, batch.items.length - old - maxPending);
    const dropped = batch.items.splice(0, old + over);
    if (dropped.length === 0) return;
    batch.omitted += dropped.length;
    logger.warn(
      { event: Events.NOTIFY_DROPPED, to: batch.to.address, orders: orderIds(dropped), count: dropped.length, omittedSoFar: batch.omitted },
      `failure notification to ${batch.to.address}: ${dropped.length} report(s) dropped (kept over ${maxAgeMs / 3_600_000} h or over ${maxPending})`,
    );
  }

  function schedule(batch: Batch): void {
    if (stopping || batch.timer !== undefined || batch.sending || batch.items.length === 0) return;
    const now = Date.now();
    const due = Math.max(
      batch.items[0].at + gatherMs,
      (lastSentAt.get(batch.key) ?? -Infinity) + periodMs,
      downUntil.get(batch.server) ?? 0,
    );
    batch.timer = setTimeout(() => {
      batch.timer = undefined;
      const previous = busy.get(batch.server) ?? Promise.resolve();
      const next = previous.then(() => attempt(batch));
      busy.set(batch.server, next);
      void next.finally(() => {
        if (busy.get(batch.server) === next) busy.delete(batch.server);
      });
    }, Math.max(0, due - now));
    batch.timer.unref();
  }

  /** One try for a batch whose time has come (unless its server was found down meanwhile). */
  async function attempt(batch: Batch): Promise<void> {
    if (stopping) return;
    if ((downUntil.get(batch.server) ?? 0) > Date.now()) return schedule(batch);
    trim(batch, Date.now());
    if (batch.items.length === 0) return void batches.delete(batch.key);
    const items = batch.items.splice(0);
    const omitted = batch.omitted;
    batch.omitted = 0;
    batch.sending = true;
    const outcome = await deliver(batch, items, omitted);
    batch.sending = false;
    const now = Date.now();
    if (outcome.ok) {
      lastSentAt.set(batch.key, now);
      logger.info?.({ event: Events.NOTIFY_SENT, to: batch.to.address, orders: orderIds(items), omitted }, `failure notification sent to ${batch.to.address}`);
    } else if (isTemporaryCode(outcome.error.code)) {
      batch.items.unshift(...items);
      batch.omitted += omitted;
      trim(batch, now);
      downUntil.set(batch.server, now + retryMs);
      logger.error(
        { event: Events.NOTIFY_DEFERRED, to: batch.to.address, orders: orderIds(items), retryInMs: retryMs, err: outcome.error.toJSON() },
        `failure notification to ${batch.to.address} not sent now (mail server unavailable); next try in ${Math.round(retryMs / 1000)} s`,
      );
    } else {
      lastSentAt.set(batch.key, now);
      logFailed(batch, items, outcome.error);
    }
    if (batch.items.length > 0) schedule(batch);
    else batches.delete(batch.key);
  }

  function logFailed(batch: Batch, items: Item[], error: MailerError): void {
    logger.error(
      { event: Events.NOTIFY_FAILED, to: batch.to.address, orders: orderIds(items), err: error.toJSON() },
      `failure notification to ${batch.to.address} not sent`,
    );
  }

  /** close(): one last try for every batch, one server at a time per server; a server found down is not tried again. */
  async function flushAll(): Promise<void> {
    await Promise.allSettled([...busy.values()]);
    const byServer = new Map<string, Batch[]>();
    for (const batch of batches.values()) {
      clearTimeout(batch.timer);
      byServer.set(batch.server, [...(byServer.get(batch.server) ?? []), batch]);
    }
    await Promise.all(
      [...byServer.values()].map(async (list) => {
        let down: MailerError | undefined;
        for (const batch of list) {
          trim(batch, Date.now());
          const items = [...batch.items];
          if (items.length === 0) {
            batches.delete(batch.key);
            continue;
          }
          // A server found down during this last round is not tried again for the next recipient.
          const outcome: Outcome = down ? { ok: false, error: down } : await deliver(batch, items, batch.omitted);
          if (outcome.ok) {
            logger.info?.({ event: Events.NOTIFY_SENT, to: batch.to.address, orders: orderIds(items) }, `failure notification sent to ${batch.to.address}`);
          } else {
            if (isTemporaryCode(outcome.error.code)) down = outcome.error;
            logFailed(batch, items, outcome.error);
          }
          batches.delete(batch.key);
        }
      }),
    );
  }

  async function close(): Promise<void> {
    stopping = true;
    for (const batch of batches.values()) {
      clearTimeout(batch.timer);
      batch.timer = undefined;
    }
    const finished = await withDeadline(flushAll().then(() => true), closeTimeoutMs);
    if (!finished) {
      for (const batch of batches.values()) {
        logger.error(
          { event: Events.NOTIFY_FAILED, to: batch.to.address, orders: orderIds(batch.items), timeoutMs: closeTimeoutMs },
          `failure notification to ${batch.to.address} not sent before exit`,
        );
      }
      batches.clear();
    }
    await withDeadline(deps.pool.closeAll().then(() => true), finished ? closeTimeoutMs : 1_000);
  }

  function notify(report: FailureReport): void {
    const smtp = deps.route?.smtp ?? report.smtp ?? deps.defaultSmtp;
    const orders = [report.orderId];
    if (stopping) {
      logger.error({ event: Events.NOTIFY_FAILED, orders, to: report.to.map((a) => a.address) }, 'failure notification not sent: the mailer is stopping');
      return;
    }
    if (report.to.length === 0) return;
    if (smtp === undefined) {
      logger.warn({ event: Events.NOTIFY_FAILED, orders, to: report.to.map((a) => a.address) }, 'failure notification not sent: no SMTP server known');
      return;
    }
    const from = deps.route?.from ?? report.from ?? deps.defaultFrom ?? { name: 'proscai-mailer', address: `proscai-mailer@${hostname()}` };
    const server = serverKey(smtp);
    const now = Date.now();
    if (report.smtp !== undefined && serverKey(report.smtp) === server && reportsServerDown(report) && (downUntil.get(server) ?? 0) <= now) {
      downUntil.set(server, now + retryMs);
    }
    const seen = new Set<string>();
    for (const to of report.to) {
      const address = to.address.toLowerCase();
      if (seen.has(address)) continue;
      seen.add(address);
      const key = JSON.stringify([address, server, from.address.toLowerCase()]);
      let batch = batches.get(key);
      if (batch === undefined) {
        batch = { key, to, smtp, server, from, items: [], omitted: 0, sending: false };
        batches.set(key, batch);
      }
      batch.items.push({ report, at: now });
      trim(batch, now);
      schedule(batch);
    }
  }

  return {
    async notify(report: FailureReport): Promise<void> {
      try {
        notify(report);
      } catch (err) {
        // Guards bookkeeping and logging bugs: a notification never fails its order.
        logger.error({ event: Events.NOTIFY_FAILED, order: report.orderId, err: String(err) }, 'failure notification not sent');
      }
    },
    close: () => (closing ??= close()),
  };
}

const silentLogger: NotifierLogger = { warn: () => undefined, error: () => undefined };
