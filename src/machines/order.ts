/**
 * The life of one send order, as an XState v5 machine.
 *
 *   detected → claiming → restoring → loading → parsed → sending → sent → archiving → done
 *            ↘ resuming ↗       ↓  ↘ (awaitingTurn →) markingInFlight ↗   ↘ deferring → deferred ⟲ (after retryDelay)
 *                               ↓                                  → waiting → markingInFlight → loading
 *                               ↘ quarantining → failed → archivingFailed → notifying → done
 *
 * The machine is pure: every effect is a named actor (`claimOrder`,
 * `loadState`, `loadOrder`, `sendOrder`, `saveState`, `archiveSent`,
 * `archiveFailed`, `notifyFailure`, `routeOrder`) that `main.ts` provides over `src/io`, and
 * tests provide over real local servers and temp folders. The placeholders
 * below only carry the types; they fail loudly if nothing was provided
 * (except `holdTurn`, which without a gate grants every turn at once).
 *
 * Guarantees:
 * - The order file is archived (moved/recycled/deleted) only after `sendOrder`
 *   resolved, i.e. after the SMTP server accepted the message.
 * - A temporary failure never loses the order: its attempt count and next-try
 *   time are saved beside the claimed file before the machine waits.
 * - A file-system failure while archiving is retried later; the message is
 *   not sent again in the meantime (the machine never goes back to sending
 *   from there), and `sentAt` is persisted so a restart does not resend it.
 * - A file that cannot be read or moved right now (share down, file held
 *   open) waits in a *Blocked state and is tried again; it is never failed
 *   for that, and never lost.
 * - An order whose file left this machine's claims folder (CLAIM_LOST:
 *   another machine took it over while this one was stopped) ends `lost`
 *   wherever that is found: before its send nothing is sent, after it the
 *   file is left to the machine that has it.
 * - An order that was in flight (claimed and being read or sent) when the
 *   process ended, at CRASH_LIMIT starts in a row, is not tried again: it
 *   fails with ORDER_CRASHED_MAILER (errores/ and a notification), so one
 *   order that stops the process cannot stop all the others at every
 *   restart. An order found in flight at a crash is worked on alone among
 *   such orders (`holdTurn`), so an innocent order in flight beside the
 *   culprit is not counted twice. The count lives in its saved state (see
 *   PersistedOrderState.inFlightSince); the usual path (claimed, read, sent,
 *   archived) writes no state at all, since a claimed order without a state
 *   file counts as in flight.
 * - A deferred order does not keep its parsed content: it is read again
 *   when its retry is due, so waiting orders cost a small record each,
 *   however large they are.
 * - Talks to its parent (the supervisor) with three events: `ORDER.DEFERRED`
 *   (it is waiting on a timer and gave its lane slot back: deferred or one
 *   of the *Blocked states), `ORDER.WANTS_SLOT` (its retry is due) and its
 *   done event (the slot, if held, is free).
 */
import { assign, fromCallback, fromPromise, sendParent, setup, spawnChild, stopChild, type EventObject, type StateValueFrom } from 'xstate';
import type { ErrorCode, SerializedError } from '../errors.js';
import type { AfterSend } from '../order/types.js';
import type { PersistedOrderState, ResolvedOrder, SendResult } from '../ports.js';
import {
  CRASH_LIMIT,
  claimedState,
  crashError,
  errorOf,
  inFlightStateOf,
  loadedContext,
  persistedStateOf,
  restoredAtClaim,
  restoredAtStart,
  routingOf,
  type ArchiveFailedInput,
  type ClaimOutput,
  type FailureRouting,
  type LoadOrderOutput,
  type NotifyInput,
  type RouteInput,
  type OrderContext,
  type OrderEvent,
  type OrderInput,
  type OrderOutput,
} from './order-context.js';
import { classifySendError } from '../errors.js';

function notProvided(name: string): never {
  throw new Error(`order machine: actor "${name}" was not provided`);
}

/** How long the order waits before it tries a failed archive move again. */
const ARCHIVE_RETRY_MS = 60_000;

/** Guard params from an actor's result. */
const outputOf = <T>({ event }: { event: { output: T } }): { output: T } => ({ output: event.output });
/** Guard and action params from an actor's failure (`error` is unknown: errorOf makes it a SerializedError). */
const failureOf = ({ event }: { event: { type: string; error?: unknown } }): { error: SerializedError } => ({ error: errorOf(event) });
const errorCodeOf = ({ event }: { event: { type: string; error?: unknown } }): { code: ErrorCode } => ({ code: errorOf(event).code });

export const orderMachine = setup({
  types: {
    context: {} as OrderContext,
    events: {} as OrderEvent,
    input: {} as OrderInput,
    output: {} as OrderOutput,
    /**
     * `idle`: waits on a timer or a slot with nothing in flight, its file safe
     * on disk, so a stop need not wait for it (the supervisor reads this tag).
     * `terminal`: the actor ends here, its outcome set.
     */
    tags: {} as 'idle' | 'terminal',
  },
  actors: {
    claimOrder: fromPromise<ClaimOutput, { fileName: string }>(async () => notProvided('claimOrder')),
    loadState: fromPromise<PersistedOrderState | undefined, { fileName: string }>(async () => notProvided('loadState')),
    loadOrder: fromPromise<LoadOrderOutput, { fileName: string; quiet?: boolean }>(async () => notProvided('loadOrder')),
    sendOrder: fromPromise<SendResult, { resolved: ResolvedOrder; firstSeenAt?: number }>(async () => notProvided('sendOrder')),
    saveState: fromPromise<void, { fileName: string; state: PersistedOrderState }>(async () => notProvided('saveState')),
    archiveSent: fromPromise<void, { fileName: string; afterSend: AfterSend }>(async () => notProvided('archiveSent')),
    archiveFailed: fromPromise<void, ArchiveFailedInput>(async () => notProvided('archiveFailed')),
    notifyFailure: fromPromise<void, NotifyInput>(async () => notProvided('notifyFailure')),
    /** Where to report an order set aside without reading it in the mailer's own thread. */
    routeOrder: fromPromise<FailureRouting, RouteInput>(async () => notProvided('routeOrder')),
    /**
     * The turn of an order found in flight at a crash: it sends `TURN` when no
     * other such order is in flight, and gives the turn back when stopped.
     * One at a time, so that an order that stops the process takes no other
     * order down with it twice in a row (each is counted only for its own
     * crashes). Without a provided one, the turn is granted at once.
     */
    holdTurn: fromCallback<EventObject, { fileName: string }>(({ sendBack }) => {
      sendBack({ type: 'TURN' });
    }),
  },
  guards: {
    claimWon: (_, { output }: { output: ClaimOutput }) => output === true || (typeof output === 'object' && output !== null && output.won === true),
    /** Won, and no state came with the order (the usual case). */
    claimWonFresh: (_, { output }: { output: ClaimOutput }) =>
      output === true || (typeof output === 'object' && output !== null && output.won === true && output.state === undefined),
    alreadySent: ({ context }) => context.sentAt !== undefined,
    /** Found in flight when the process ended (and not yet set aside): worked on only in its turn. */
    suspect: ({ context }) => context.crashes > 0,
    /** Found in flight at CRASH_LIMIT starts in a row: it is what stops the process (a message already accepted is only archived, never set aside). */
    crashLooping: ({ context }) => context.crashes >= CRASH_LIMIT && context.sentAt === undefined,
    /** Waiting for a later retry, nothing to archive: nothing to read before then. */
    restingUntilLater: ({ context }) => context.sentAt === undefined && context.nextTryAt !== undefined && context.nextTryAt > Date.now(),
    loadOk: (_, { output }: { output: LoadOrderOutput }) => output.ok,
    retryable: (_, params: { code: ErrorCode }) => classifySendError(params) === 'retry',
    hasRetriesLeft: ({ context }) => context.attempts <= context.retrySchedule.length,
    hasRejectedRecipients: ({ context }) => (context.result?.rejected.length ?? 0) > 0,
    hasErrorAddress: ({ context }) => (context.routing?.errorMail.length ?? 0) > 0,
    /** The claimed file vanished: another mailer took the claim over. */
    claimLost: (_, { code }: { code: ErrorCode }) => code === 'CLAIM_LOST',
    /** A file-system failure that passes (share down, file held open): try again later. */
    fsTemporary: (_, { code }: { code: ErrorCode }) => code === 'FS_ACCESS_FAILED',
  },
  delays: {
    /** Until the persisted next-try time (0 when it has passed). */
    retryDelay: ({ context }) => Math.max(0, (context.nextTryAt ?? 0) - Date.now()),
    /** A file held open by an antivirus or a full disk: try the move again later. */
    archiveRetryDelay: ARCHIVE_RETRY_MS,
  },
  actions: {
    recordAttemptFailure: assign(({ context }, { error: lastError }: { error: SerializedError }) => {
      const delaySeconds = context.retrySchedule[Math.min(context.attempts - 1, context.retrySchedule.length - 1)] ?? 0;
      return { lastError, nextTryAt: Date.now() + delaySeconds * 1000 };
    }),
    recordPermanentFailure: assign(({ context }, { error }: { error: SerializedError }) => {
      const exhausted = context.attempts > context.retrySchedule.length && classifySendError(error) === 'retry';
      const errors: SerializedError[] = exhausted
        ? [
            {
              code: 'RETRIES_EXHAUSTED',
              message: `gave up after ${context.attempts} tries; last error: ${error.message}`,
              ...(error.smtp && { smtp: error.smtp }),
            },
            error,
          ]
        : [error];
      return { lastError: error, errors, routing: context.routing ?? routingOf(context.resolved) };
    }),
    notifyDeferred: sendParent(({ context }) => ({
      type: 'ORDER.DEFERRED',
      fileName: context.fileName,
      company: context.company,
      nextTryAt: context.nextTryAt,
      attempts: context.attempts,
    })),
    requestSlot: sendParent(({ context }) => ({
      type: 'ORDER.WANTS_SLOT',
      fileName: context.fileName,
      company: context.company,
    })),
  },
}).createMachine({
  id: 'order',
  context: ({ input }) => ({ ...input, attempts: 0, crashes: 0, persisted: false, firstSeenAt: Date.now(), errors: [] }),
  initial: 'detected',
  output: ({ context }) => ({
    fileName: context.fileName,
    orderId: context.orderId,
    company: context.company,
    outcome: context.outcome ?? 'skipped',
    attempts: context.attempts,
    errors: context.errors,
  }),
  states: {
    detected: {
      always: [{ guard: ({ context }) => context.location === 'claimed', target: 'resuming' }, { target: 'claiming' }],
    },
    claiming: {
      invoke: {
        src: 'claimOrder',
        input: ({ context }) => ({ fileName: context.fileName }),
        onDone: [
          // The usual case: claimed with no state handed over, read it at once (no state to write, nothing to decide).
          { guard: { type: 'claimWonFresh', params: outputOf }, target: 'loading' },
          {
            guard: { type: 'claimWon', params: outputOf },
            target: 'restoring',
            actions: assign(({ event }) => restoredAtClaim(claimedState(event.output))),
          },
          { target: 'lost' },
        ],
        // The file could not be moved (held open, permission): it stays in the
        // order folder and the next scan brings it back.
        onError: { target: 'skipped' },
      },
    },
    resuming: {
      invoke: {
        src: 'loadState',
        input: ({ context }) => ({ fileName: context.fileName }),
        onDone: {
          target: 'restoring',
          actions: assign(({ event }) => restoredAtStart(event.output)),
        },
        // The state cannot be read now: whether it was in flight is unknown, so it is not counted.
        onError: { target: 'loading' },
      },
    },
    /**
     * Decides, from the state that came with the order (or its absence, at a
     * start), what to do before reading it. Only orders with a state file or a
     * crash to count come here; a fresh claim goes straight to loading.
     */
    restoring: {
      always: [
        { guard: 'crashLooping', target: 'quarantining' },
        { guard: 'restingUntilLater', target: 'deferred' },
        { guard: 'suspect', target: 'awaitingTurn' },
        { target: 'markingInFlight' },
      ],
    },
    /** Found in flight at a crash: waits until no other such order is in flight (the turn is held until it waits or is done). */
    awaitingTurn: {
      entry: spawnChild('holdTurn', { id: 'turn', input: ({ context }) => ({ fileName: context.fileName }) }),
      on: { TURN: { target: 'markingInFlight' } },
    },
    /** Work starts on an order with a state file: the file says so first, so that a crash now is counted at the next start. */
    markingInFlight: {
      invoke: {
        src: 'saveState',
        input: ({ context }) => ({ fileName: context.fileName, state: inFlightStateOf(context, Date.now()) }),
        onDone: { target: 'loading', actions: assign({ persisted: true }) },
        // Not fatal: the order is still sent; only a crash now would go uncounted.
        onError: { target: 'loading' },
      },
    },
    /** Set aside without being read here: reading or sending it stopped the process CRASH_LIMIT times in a row. */
    quarantining: {
      invoke: {
        src: 'routeOrder',
        input: ({ context }) => ({ fileName: context.fileName, orderId: context.orderId, company: context.company }),
        onDone: {
          target: 'failed',
          actions: assign(({ context, event }) => ({ errors: [crashError(context.crashes)], lastError: crashError(context.crashes), routing: event.output })),
        },
        onError: {
          target: 'failed',
          actions: assign(({ context }) => ({ errors: [crashError(context.crashes)], lastError: crashError(context.crashes), routing: { errorMail: [] } })),
        },
      },
    },
    loading: {
      invoke: {
        src: 'loadOrder',
        // Read again for each retry: its warnings were logged the first time.
        input: ({ context }) => ({ fileName: context.fileName, quiet: context.attempts > 0 }),
        onDone: [
          { guard: { type: 'loadOk', params: outputOf }, target: 'parsed', actions: assign(({ event }) => loadedContext(event.output)) },
          { target: 'failed', actions: assign(({ event }) => loadedContext(event.output)) },
        ],
        onError: [
          { guard: { type: 'claimLost', params: errorCodeOf }, target: 'lost' },
          { guard: { type: 'fsTemporary', params: errorCodeOf }, target: 'loadBlocked' },
          {
            target: 'failed',
            actions: assign(({ event }) => ({ errors: [errorOf(event)], lastError: errorOf(event) })),
          },
        ],
      },
    },
    loadBlocked: {
      tags: ['idle'],
      entry: [stopChild('turn'), 'notifyDeferred'],
      // Waiting, not in flight: its state says so (a stop now must not count as a crash).
      invoke: { src: 'saveState', input: ({ context }) => ({ fileName: context.fileName, state: persistedStateOf(context) }), onDone: {}, onError: {} },
      after: { archiveRetryDelay: { target: 'loading' } },
    },
    parsed: {
      always: [
        { guard: 'alreadySent', target: 'archiving' },
        // Never due later here: an order waiting for a retry is not read before it is due (restoring).
        { target: 'sending' },
      ],
    },
    sending: {
      entry: assign(({ context }) => ({ attempts: context.attempts + 1 })),
      invoke: {
        src: 'sendOrder',
        input: ({ context }) => ({ resolved: context.resolved!, firstSeenAt: context.firstSeenAt }),
        onDone: {
          target: 'sent',
          actions: assign(({ event }) => ({ result: event.output, sentAt: Date.now(), outcome: 'sent' as const })),
        },
        onError: [
          // Taken over by another machine before the message was handed to the server: nothing was sent.
          { guard: { type: 'claimLost', params: errorCodeOf }, target: 'lost' },
          { guard: { type: 'retryable', params: errorCodeOf }, target: 'retryOrGiveUp' },
          { target: 'failed', actions: { type: 'recordPermanentFailure', params: failureOf } },
        ],
      },
    },
    retryOrGiveUp: {
      // The event here is still the send's failure (an eventless transition keeps the event that led to it).
      always: [{ guard: 'hasRetriesLeft', target: 'deferring' }, { target: 'failed', actions: { type: 'recordPermanentFailure', params: failureOf } }],
    },
    deferring: {
      entry: { type: 'recordAttemptFailure', params: failureOf },
      invoke: {
        src: 'saveState',
        input: ({ context }) => ({ fileName: context.fileName, state: persistedStateOf(context) }),
        onDone: { target: 'deferred' },
        // Not fatal: the timer below still retries; only a restart would lose the count.
        onError: { target: 'deferred' },
      },
    },
    deferred: {
      tags: ['idle'],
      // The parsed order is dropped while it waits (it is read again when due).
      entry: [stopChild('turn'), assign({ outcome: 'deferred' as const, resolved: undefined }), 'notifyDeferred'],
      after: { retryDelay: { target: 'waiting' } },
    },
    waiting: {
      tags: ['idle'],
      entry: 'requestSlot',
      on: { GO: { target: 'markingInFlight' } },
    },
    sent: {
      always: { target: 'archiving' },
    },
    archiving: {
      invoke: {
        src: 'archiveSent',
        input: ({ context }) => ({ fileName: context.fileName, afterSend: context.resolved!.afterSend }),
        onDone: [
          { guard: 'hasRejectedRecipients', target: 'notifying', actions: assign({ outcome: 'sent' as const }) },
          { target: 'done', actions: assign({ outcome: 'sent' as const }) },
        ],
        // Sent, but another machine took the file over meanwhile: it is that machine's to archive (moving it again and again would never succeed).
        onError: [{ guard: { type: 'claimLost', params: errorCodeOf }, target: 'lost' }, { target: 'savingSent' }],
      },
    },
    /** The message was accepted but the file could not be moved: remember that before waiting. */
    savingSent: {
      invoke: {
        src: 'saveState',
        input: ({ context }) => ({ fileName: context.fileName, state: persistedStateOf(context) }),
        onDone: { target: 'archiveBlocked' },
        onError: { target: 'archiveBlocked' },
      },
    },
    archiveBlocked: {
      tags: ['idle'],
      entry: [stopChild('turn'), 'notifyDeferred'],
      after: { archiveRetryDelay: { target: 'archiving' } },
    },
    failed: {
      entry: [
        assign({ outcome: 'failed' as const }),
        assign(({ context }) => (context.routing ? {} : { routing: routingOf(context.resolved) ?? { errorMail: [] } })),
      ],
      always: { target: 'archivingFailed' },
    },
    archivingFailed: {
      invoke: {
        src: 'archiveFailed',
        input: ({ context }) => ({
          fileName: context.fileName,
          orderId: context.orderId,
          errors: context.errors,
          attempts: context.attempts,
        }),
        onDone: [{ guard: 'hasErrorAddress', target: 'notifying' }, { target: 'done' }],
        onError: { target: 'archiveFailedBlocked' },
      },
    },
    archiveFailedBlocked: {
      tags: ['idle'],
      entry: [stopChild('turn'), 'notifyDeferred'],
      // Waiting, not in flight: its state says so (a stop now must not count as a crash).
      invoke: { src: 'saveState', input: ({ context }) => ({ fileName: context.fileName, state: persistedStateOf(context) }), onDone: {}, onError: {} },
      after: { archiveRetryDelay: { target: 'archivingFailed' } },
    },
    notifying: {
      invoke: {
        src: 'notifyFailure',
        input: ({ context }) => ({
          fileName: context.fileName,
          orderId: context.orderId,
          company: context.company,
          errors: context.outcome === 'sent' ? [] : context.errors,
          routing: context.routing ?? { errorMail: [] },
          ...(context.result && context.result.rejected.length > 0 && { rejectedRecipients: context.result.rejected }),
        }),
        onDone: { target: 'done' },
        onError: { target: 'done' },
      },
    },
    lost: { tags: ['terminal'], entry: assign({ outcome: 'lost' as const }), always: { target: 'done' } },
    skipped: { tags: ['terminal'], entry: assign({ outcome: 'skipped' as const }), always: { target: 'done' } },
    done: { tags: ['terminal'], type: 'final' },
  },
});

/**
 * The name of a state of the order machine (a flat machine: its state value
 * is always one of these). The `from`/`to` of every `order.transition` log
 * line, so code that reads the log compares against names that exist.
 */
export type OrderStateName = Extract<StateValueFrom<typeof orderMachine>, string>;

/** Every state name, in the machine's order (`Object.keys` is typed `string[]`; the keys are the machine's own). */
export const ORDER_STATES: readonly OrderStateName[] = Object.keys(orderMachine.states) as OrderStateName[];

const ORDER_STATE_SET: ReadonlySet<string> = new Set(ORDER_STATES);
const isOrderStateName = (name: string): name is OrderStateName => ORDER_STATE_SET.has(name);

/** The state a logged name designates; undefined when it names none (not a string, or a log written by a version with other states). */
export function orderStateOf(name: unknown): OrderStateName | undefined {
  return typeof name === 'string' && isOrderStateName(name) ? name : undefined;
}
