/**
 * Turns XState inspection events into the bitácora: one `order.transition`
 * line per state change of every order actor (with its order id, the event
 * that caused it and, for failures, the error code and SMTP reply), plus one
 * outcome line per order: `order.failed` always, `order.deferred` for each
 * failed try, `order.sent` only when the order (or the configuration) asks
 * for successes to be logged; `internal.error` when an order actor crashed
 * (an exception in our code).
 *
 * Works for any number of actors: it keeps one small entry per live order
 * actor and drops it when the actor is done.
 */
import type { InspectionEvent, SnapshotFrom } from 'xstate';
import { ErrorCodes, type SerializedError } from '../../errors.js';
import { crashedOrderId, ORDER_ID_PREFIX } from '../../machines/child-ids.js';
import type { OrderContext } from '../../machines/order-context.js';
import { orderStateOf, type orderMachine, type OrderStateName } from '../../machines/order.js';
import { Events } from './events.js';

/** The subset of pino's Logger this needs (so tests can pass a recorder). */
export interface EventLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/**
 * The warning for an order left in the order folder because another program
 * holds its file open (FS_HELD, from the intake's read or the order's claim):
 * `<id>: held open by another program (EBUSY): <path>: …; it stays in the
 * order folder…` (the error's message, io/store/files.ts `heldError`, says what,
 * the errno and the path).
 */
export function logHeld(logger: Pick<EventLogger, 'warn'>, order: { orderId: string; fileName: string; company?: string }, error: { code: string; message: string }): void {
  logger.warn(
    { event: Events.ORDER_HELD, ...order, errorCode: error.code, error: error.message },
    `${order.orderId}: ${error.message}; it stays in the order folder and is tried again on the next pass`,
  );
}

interface Seen {
  state: OrderStateName;
}

/** What the logger reads of an order actor's snapshot (XState's inspection events type it `Snapshot<unknown>`). */
type OrderSnapshotFields = Partial<Pick<SnapshotFrom<typeof orderMachine>, 'value' | 'context' | 'status'>>;

/** Fields of a failure worth a log line: the code, the message, the field, value and path concerned, and the SMTP reply (what `trace` words for the operator). */
export function errorFields(error: SerializedError | undefined): Record<string, unknown> {
  if (!error) return {};
  return {
    errorCode: error.code,
    error: error.message,
    ...(error.field !== undefined && { field: error.field }),
    ...(error.value !== undefined && { value: error.value }),
    ...(error.path !== undefined && { path: error.path }),
    ...(error.xml !== undefined && { xml: error.xml }),
    ...(error.smtp?.responseCode !== undefined && { smtpCode: error.smtp.responseCode }),
    ...(error.smtp?.response !== undefined && { smtpResponse: error.smtp.response }),
    ...(error.smtp?.diagnosis !== undefined && { smtpDiagnosis: error.smtp.diagnosis }),
  };
}

/** ` (CODE: message)` when the step was caused by a failure (fields from `causeOf`), for the one-line terminal view. */
function reasonText(fields: Record<string, unknown>): string {
  if (fields.error === undefined) return '';
  return ` (${fields.errorCode ? `${String(fields.errorCode)}: ` : ''}${String(fields.error)})`;
}

function causeOf(event: { type: string; error?: unknown }): Record<string, unknown> {
  const error = event.error as { toJSON?: () => SerializedError; message?: string } | undefined;
  if (!error) return { cause: event.type };
  const serialized = typeof error.toJSON === 'function' ? error.toJSON() : undefined;
  return { cause: event.type, ...(serialized ? errorFields(serialized) : { error: error.message ?? String(error) }) };
}

/**
 * The state an `order.transition` line records the order entering; undefined
 * for any other line, or for a state this version's machine lacks (a log
 * written by another version).
 */
export function enteredState(entry: { event?: unknown; to?: unknown }): OrderStateName | undefined {
  return entry.event === Events.ORDER_TRANSITION ? orderStateOf(entry.to) : undefined;
}

export function createTransitionLogger(logger: EventLogger): (event: InspectionEvent) => void {
  const seen = new Map<string, Seen>();
  return (inspection) => {
    if (inspection.type === '@xstate.event' && crashedOrderId(inspection.event.type) !== undefined) {
      logCrash(logger, inspection.sourceRef, inspection.event);
      if (inspection.sourceRef) seen.delete(keyOf(inspection.sourceRef as ActorKeys));
      return;
    }
    // Microsteps show pass-through states (sent, failed, parsed…) that a
    // snapshot event, taken after the whole macrostep, would skip.
    if (inspection.type !== '@xstate.microstep' && inspection.type !== '@xstate.snapshot') return;
    const ref = inspection.actorRef as ActorKeys;
    if (!ref.id?.startsWith(ORDER_ID_PREFIX)) return;
    const snapshot = inspection.snapshot as OrderSnapshotFields;
    const context = snapshot.context;
    const state = snapshot.value;
    if (!context || state === undefined) return;
    const key = keyOf(ref);
    const previous = seen.get(key);
    // Forget an actor that finished or was stopped (a deferred order dismissed at the end of `once`).
    if ((snapshot.status === 'done' || snapshot.status === 'stopped') && inspection.type === '@xstate.snapshot') {
      seen.delete(key);
      return;
    }
    if (previous?.state === state) return;
    seen.set(key, { state });
    const base = { orderId: context.orderId, fileName: context.fileName, company: context.company };
    const cause = causeOf(inspection.event);
    logger.debug(
      { event: Events.ORDER_TRANSITION, ...base, from: previous?.state ?? 'detected', to: state, attempts: context.attempts, ...cause },
      `${context.orderId}: ${previous?.state ?? 'detected'} → ${state}${reasonText(cause)}`,
    );
    logOutcome(logger, state, previous?.state, context, base, cause);
  };
}

/** What the logger reads of an actor reference (XState's inspection types only promise `ActorRefLike`). */
type ActorKeys = { id?: string; sessionId?: string };

/** The key of an actor in `seen`: its session id, unique for the actor's life (ids are reused, see child-ids.ts). */
function keyOf(ref: ActorKeys): string {
  return ref.sessionId ?? ref.id ?? '';
}

/**
 * An order actor crashed: a bug in our code, not an SMTP or file failure
 * (those are states). XState emits no snapshot for it; the parent's error
 * event names the actor, whose last snapshot still holds the order. The
 * supervisor frees the order's slot and leaves its file claimed for the next
 * start.
 */
function logCrash(logger: EventLogger, source: { getSnapshot(): unknown } | undefined, event: { type: string; error?: unknown }): void {
  const snapshot = source?.getSnapshot() as OrderSnapshotFields | undefined;
  const context = snapshot?.context;
  const state = snapshot?.value;
  const message = event.error instanceof Error ? event.error.message : String(event.error);
  logger.error(
    { event: Events.INTERNAL_ERROR, orderId: context?.orderId, fileName: context?.fileName, company: context?.company, state, error: message },
    `${context?.orderId ?? 'order'}: internal error in state ${state} (${message}); the order stays claimed and is tried again at the next start`,
  );
}

function logOutcome(
  logger: EventLogger,
  state: OrderStateName,
  from: OrderStateName | undefined,
  context: OrderContext,
  base: { orderId: string; fileName: string; company: string },
  cause: Record<string, unknown>,
): void {
  // A try failed only when the order comes to `deferred` through `deferring`; an order
  // resumed after a restart reaches it straight from `parsed` with its saved count, and
  // logging that as a failed try would show "try N failed" twice for one try.
  if (state === 'deferred' && context.nextTryAt !== undefined && from !== 'deferring') {
    logger.info(
      { event: Events.ORDER_RESUMED, ...base, attempts: context.attempts, nextTryAt: new Date(context.nextTryAt).toISOString() },
      `${context.orderId}: resumed after ${context.attempts} tries, next try at ${new Date(context.nextTryAt).toISOString()}`,
    );
  } else if (state === 'deferred' && context.nextTryAt !== undefined) {
    logger.warn(
      { event: Events.ORDER_DEFERRED, ...base, attempts: context.attempts, nextTryAt: new Date(context.nextTryAt).toISOString(), ...errorFields(context.lastError) },
      `${context.orderId}: try ${context.attempts} failed${context.lastError ? ` (${context.lastError.code}: ${context.lastError.message})` : ''}, next try at ${new Date(context.nextTryAt).toISOString()}`,
    );
  } else if (state === 'failed') {
    logger.error(
      { event: Events.ORDER_FAILED, ...base, attempts: context.attempts, reasons: context.errors.map(errorFields) },
      `${context.orderId}: failed: ${context.errors.map((e) => e.message).join('; ')}`,
    );
  } else if (state === 'sent') {
    const logSuccess = context.resolved?.logSuccess ?? false;
    if (logSuccess) {
      const result = context.result;
      logger.info(
        {
          event: Events.ORDER_SENT,
          ...base,
          attempts: context.attempts,
          messageId: result?.messageId,
          accepted: result?.accepted,
          ...(result && result.rejected.length > 0 && { rejected: result.rejected }),
          response: result?.response,
        },
        `${context.orderId}: sent`,
      );
    }
    if (context.result && context.result.rejected.length > 0) {
      logger.warn(
        { event: Events.ORDER_RECIPIENTS_REJECTED, ...base, rejected: context.result.rejected },
        `${context.orderId}: some recipients were refused`,
      );
    }
  } else if (state === 'skipped' && cause.errorCode === ErrorCodes.FS_HELD) {
    logHeld(logger, base, { code: ErrorCodes.FS_HELD, message: String(cause.error) });
  } else if (state === 'skipped') {
    logger.warn(
      { event: Events.ORDER_SKIPPED, ...base, ...cause },
      `${context.orderId}: the order file could not be taken; it stays in the order folder and is tried again on the next pass${reasonText(cause)}`,
    );
  } else if (state === 'lost' && cause.errorCode === ErrorCodes.CLAIM_LOST) {
    // Its file left this machine's claims folder after it was claimed: another machine took it over.
    const sent = from === 'archiving';
    logger.warn(
      { event: Events.ORDER_CLAIM_LOST, ...base, from, attempts: context.attempts, ...cause },
      sent
        ? `${context.orderId}: sent, but meanwhile its file left this machine's claims folder (another machine took it over after this one stopped beating for staleClaimSeconds, or it was removed); it is not archived from here, and another machine may send it too (same Message-ID)`
        : `${context.orderId}: claim lost: its file left this machine's claims folder (another machine took it over after this one stopped beating for staleClaimSeconds, or it was removed); nothing was sent from here`,
    );
  } else if (state === 'lost') {
    logger.info({ event: Events.ORDER_CLAIM_LOST, ...base }, `${context.orderId}: claimed by another mailer`);
  } else if (state === 'loadBlocked') {
    logger.warn({ event: Events.ORDER_READ_BLOCKED, ...base }, `${context.orderId}: the order file cannot be read right now; will try again`);
  } else if (state === 'archiveBlocked' || state === 'archiveFailedBlocked') {
    logger.error({ event: Events.ORDER_ARCHIVE_FAILED, ...base }, `${context.orderId}: the order file could not be moved; will try again`);
  }
}
