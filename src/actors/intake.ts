/**
 * The intake: between "a file with an order's name exists" and "this order
 * waits in its company's lane". It waits until the ERP has finished writing
 * the file, reads it once to learn its company (the lane key: found by a
 * cheap scan of the bytes, order/company-scan.ts, or by the full parse when
 * the scan cannot be sure), and drops the bytes again: lanes hold only a
 * small record per order, so 100,000 waiting orders cost a few megabytes.
 *
 * Guarantees:
 * - At most `concurrency` files are read at once, whatever the burst size.
 * - The event loop runs at least every YIELD_EVERY + `concurrency` files,
 *   however fast the reads complete, so a big backlog does not hold up
 *   sends, timers and signals while it is read.
 * - Files are taken in arrival order by all readers but one, the express
 *   reader, which always takes the NEWEST waiting file. The company is only
 *   known once a file is read, so a plain FIFO would make another company's
 *   invoice wait behind every file of a burst (2,000 files take seconds to
 *   read and parse); with the express reader it waits for at most one read,
 *   whatever the backlog, while the backlog still drains from its oldest end.
 *   The price: a burst reaches its lane slightly out of arrival order.
 * - Every file handed in produces exactly one INTAKE.READY or INTAKE.DROPPED.
 * - An order that cannot be parsed is still passed on (company "?"), so its
 *   order actor refuses it with a reason; so is one whose document stayed
 *   incomplete past the settle time (it fails as ORDER_INCOMPLETE), and one
 *   above the size limit (ORDER_TOO_LARGE: only its size was stat'ed, never
 *   its bytes read; it waits in the lane of an order naming no company).
 * - One that cannot be read now (held open by another program, FS_HELD;
 *   still changing, or unreadable, past the wait) is left in the order
 *   folder, never failed, with a warning naming it, and comes back with the
 *   next pass. Only files that vanished (another mailer claimed them) are
 *   dropped without a word.
 */
import { fromCallback } from 'xstate';
import type { Config } from '../config/types.js';
import { ErrorCodes } from '../errors.js';
import type { IntakeEvent, SupervisorEvent } from '../machines/supervisor-types.js';
import { scanCompany } from '../order/company-scan.js';
import { parseOrder } from '../order/parse.js';
import { laneOfParsed, resolvePartial } from '../order/resolve.js';
import { orderIdOf, type ParseResult } from '../order/types.js';
import type { RecentParses } from './parse-cache.js';
import { logHeld, type EventLogger } from '../io/log/transitions.js';
import { Events } from '../io/log/events.js';

export interface IntakeDeps {
  config: Config;
  /**
   * Bytes of a file in the order folder once it is completely written;
   * undefined when it is gone. `signal` aborts when the intake stops: a wait
   * for a file still being written must not keep a stopping mailer alive.
   */
  readInbox: (fileName: string, signal: AbortSignal) => Promise<Buffer | undefined>;
  /** Bytes of a file in this machine's work area; undefined when it is gone. */
  readClaimed: (fileName: string) => Promise<Buffer | undefined>;
  concurrency?: number;
  /** Where the parse is kept for the order actor (see parse-cache.ts). */
  recentParses?: RecentParses;
  /** Parses an order whose company the scan cannot tell (io/parse/thread.ts: large ones off the main thread); default: here. */
  parse?: (bytes: Buffer, fileName: string) => Promise<ParseResult>;
  /** Told of every file left in the order folder because it could not be read now. */
  logger?: Pick<EventLogger, 'warn'>;
}

/** Why the intake could not read a file now: another program holds it open (FS_HELD), or anything else. */
function unreadReason(error: unknown): 'held' | 'unreadable' {
  return (error as { code?: unknown } | undefined)?.code === ErrorCodes.FS_HELD ? 'held' : 'unreadable';
}

/** The warning for a file the intake leaves in the order folder: `logHeld` when held, else `order.unreadable`. */
function logUnread(logger: Pick<EventLogger, 'warn'>, fileName: string, error: unknown): void {
  const code = (error as { code?: unknown } | undefined)?.code;
  const message = String((error as Error)?.message ?? error);
  if (unreadReason(error) === 'held') return logHeld(logger, { orderId: orderIdOf(fileName) ?? fileName, fileName }, { code: ErrorCodes.FS_HELD, message });
  logger.warn(
    { event: Events.ORDER_UNREADABLE, fileName, ...(typeof code === 'string' && { errorCode: code }), error: message },
    `${fileName}: not readable yet; it stays in the order folder and is tried again on the next pass (${message})`,
  );
}

/** The intake lets the event loop run after this many files (see `handle`). */
export const YIELD_EVERY = 16;

export function createIntakeLogic(deps: IntakeDeps) {
  const limit = deps.concurrency ?? 8;
  return fromCallback<IntakeEvent>(({ receive, sendBack }) => {
    type File = IntakeEvent['files'][number];
    const queue: File[] = [];
    let head = 0;
    let inFlight = 0;
    /** Whether the express reader (newest file first) is busy. */
    let expressBusy = false;
    let stopped = false;
    const stopping = new AbortController();
    const send = (event: SupervisorEvent) => {
      if (!stopped) sendBack(event);
    };

    /** The full parse, when the cheap scan cannot tell: kept for the order actor, which then need not parse again. */
    const parseForCompany = async (bytes: Buffer, fileName: string): Promise<string> => {
      const parsed = deps.parse ? await deps.parse(bytes, fileName) : parseOrder(bytes, fileName);
      deps.recentParses?.remember(fileName, bytes, parsed);
      return laneOfParsed(parsed, deps.config);
    };

    /** Files started since the intake last let the event loop run, and the pause every reader waits out. */
    let sinceYield = 0;
    let pause: Promise<void> | undefined;

    const handle = async (event: File): Promise<void> => {
      const { fileName, location } = event;
      // Reads that complete synchronously (io/store/file-calls.ts on a local disk) chain
      // as microtasks: without a pause now and then a backlog of thousands
      // would be read in one go, holding up sends, timers and signals.
      if (pause === undefined && ++sinceYield >= YIELD_EVERY) {
        sinceYield = 0;
        pause = new Promise<void>((resolve) =>
          setImmediate(() => {
            pause = undefined;
            resolve();
          }),
        );
      }
      if (pause !== undefined) await pause;
      const orderId = orderIdOf(fileName) ?? fileName;
      try {
        const bytes = location === 'inbox' ? await deps.readInbox(fileName, stopping.signal) : await deps.readClaimed(fileName);
        if (bytes === undefined) {
          send({ type: 'INTAKE.DROPPED', fileName, reason: 'gone' });
          return;
        }
        const company = scanCompany(bytes) ?? (await parseForCompany(bytes, fileName));
        send({ type: 'INTAKE.READY', order: { fileName, orderId, company, location } });
      } catch (error) {
        if (stopped) return; // the wait was cut short by the stop: the file stays where it is, for the next start
        if ((error as { code?: unknown } | undefined)?.code === ErrorCodes.ORDER_TOO_LARGE) {
          // Refused by its size, unread: its order actor fails it (errores/, note, notification).
          const company = resolvePartial({ id: orderId, fileName }, deps.config).company;
          send({ type: 'INTAKE.READY', order: { fileName, orderId, company, location } });
          return;
        }
        // Held open, still being written past the wait, or unreadable: forget
        // it for now; the next pass brings it back. It is never moved or lost.
        if (deps.logger) logUnread(deps.logger, fileName, error);
        send({ type: 'INTAKE.DROPPED', fileName, reason: unreadReason(error) });
      }
    };

    const pump = () => {
      while (!stopped && inFlight < limit && head < queue.length) {
        const express = !expressBusy;
        const event = express ? queue.pop()! : queue[head++]!;
        if (head > 4096 && head * 2 > queue.length) {
          queue.splice(0, head);
          head = 0;
        }
        inFlight += 1;
        if (express) expressBusy = true;
        void handle(event).finally(() => {
          inFlight -= 1;
          if (express) expressBusy = false;
          pump();
        });
      }
    };

    receive((event) => {
      for (const file of event.files) queue.push(file);
      pump();
    });
    return () => {
      stopped = true;
      stopping.abort();
    };
  });
}
