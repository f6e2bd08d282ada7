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
import { assign, fromCallback, fromPromise, sendParent, setup, spawnChild, stopChild, type EventObject } from 'xstate';
import type { SerializedError } from '../errors.js';
import type { AfterSend } from '../order/types.js';
import type { PersistedOrderState, ResolvedOrder, SendResult } from '../ports.js';
import {
  CRASH_LIMIT,
  claimedState,
  crashError,
  errorOf,
  inFlightStateOf,
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
import { classifySerializedError } from './retry.js';

export * from './order-context.js';

function notProvided(name: string): never {
  throw new Error(`order machine: actor "${name}" was not provided`);
}

const MINUTE = 60_000;

export const orderMachine = setup({
  types: {
    context: {} as OrderContext,
    events: {} as OrderEvent,
    input: {} as OrderInput,
    output: {} as OrderOutput,
  },
  actors: {
    claimOrder: fromPromise<ClaimOutput, { fileName: string }>(async () => notProvided('claimOrder')),
    loadState: fromPromise<PersistedOrderState | undefined, { fileName: string }>(async () => notProvided('loadState')),
    loadOrder: fromPromise<LoadOrderOutput, { fileName: string; quiet?: boolean }>(async () => notProvided('loadOrder')),
    sendOrder: fromPromise<SendResult, { resolved: ResolvedOrder }>(async () => notProvided('sendOrder')),
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
    claimWon: ({ event }) => {
      const output = (event as unknown as { output: ClaimOutput }).output;
      return output === true || (typeof output === 'object' && output !== null && output.won === true);
    },
    /** Won, and no state came with the order (the usual case). */
    claimWonFresh: ({ event }) => {
      const output = (event as unknown as { output: ClaimOutput }).output;
      return output === true || (typeof output === 'object' && output !== null && output.won === true && output.state === undefined);
    },
    alreadySent: ({ context }) => context.sentAt !== undefined,
    /** Found in flight when the process ended (and not yet set aside): worked on only in its turn. */
    suspect: ({ context }) => context.crashes > 0,
    /** Found in flight at CRASH_LIMIT starts in a row: it is what stops the process (a message already accepted is only archived, never set aside). */
    crashLooping: ({ context }) => context.crashes >= CRASH_LIMIT && context.sentAt === undefined,
    /** Waiting for a later retry, nothing to archive: nothing to read before then. */
    restingUntilLater: ({ context }) => context.sentAt === undefined && context.nextTryAt !== undefined && context.nextTryAt > Date.now(),
    loadOk: ({ event }) => (event as unknown as { output: LoadOrderOutput }).output.ok,
    retryable: ({ event }) => classifySerializedError(errorOf(event as { error?: unknown })) === 'retry',
    hasRetriesLeft: ({ context }) => context.attempts <= context.retrySchedule.length,
    hasRejectedRecipients: ({ context }) => (context.result?.rejected.length ?? 0) > 0,
    hasErrorAddress: ({ context }) => (context.routing?.errorMail.length ?? 0) > 0,
    /** The claimed file vanished: another mailer took the claim over. */
    claimLost: ({ event }) => errorOf(event as { error?: unknown }).code === 'CLAIM_LOST',
    /** A file-system failure that passes (share down, file held open): try again later. */
    fsTemporary: ({ event }) => errorOf(event as { error?: unknown }).code === 'FS_ACCESS_FAILED',
  },
  delays: {
    /** Until the persisted next-try time (0 when it has passed). */
    retryDelay: ({ context }) => Math.max(0, (context.nextTryAt ?? 0) - Date.now()),
    /** A file held open by an antivirus or a full disk: try the move again later. */
    archiveRetryDelay: MINUTE,
  },
  actions: {
    recordAttemptFailure: assign(({ context, event }) => {
      const lastError = errorOf(event as { error?: unknown });
      const delaySeconds = context.retrySchedule[Math.min(context.attempts - 1, context.retrySchedule.length - 1)] ?? 0;
      return { lastError, nextTryAt: Date.now() + delaySeconds * 1000 };
    }),
    recordPermanentFailure: assign(({ context, event }) => {
      const error = errorOf(event as { error?: unknown });
      const exhausted = context.attempts > context.retrySchedule.length && classifySerializedError(error) === 'retry';
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
          { guard: 'claimWonFresh', target: 'loading' },
          {
            guard: 'claimWon',
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
          {
            guard: 'loadOk',
            target: 'parsed',
            actions: assign(({ event }) => {
              const output = event.output as Extract<LoadOrderOutput, { ok: true }>;
              return { resolved: output.resolved, routing: routingOf(output.resolved) };
            }),
          },
          {
            target: 'failed',
            actions: assign(({ event }) => {
              const output = event.output as Extract<LoadOrderOutput, { ok: false }>;
              return { errors: output.errors, lastError: output.errors[0], routing: output.routing };
            }),
          },
        ],
        onError: [
          { guard: 'claimLost', target: 'lost' },
          { guard: 'fsTemporary', target: 'loadBlocked' },
          {
            target: 'failed',
            actions: assign(({ event }) => ({ errors: [errorOf(event)], lastError: errorOf(event) })),
          },
        ],
      },
    },
    loadBlocked: {
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
        input: ({ context }) => ({ resolved: context.resolved! }),
        onDone: {
          target: 'sent',
          actions: assign(({ event }) => ({ result: event.output, sentAt: Date.now(), outcome: 'sent' as const })),
        },
        onError: [
          // Taken over by another machine before the message was handed to the server: nothing was sent.
          { guard: 'claimLost', target: 'lost' },
          { guard: { type: 'retryable' }, target: 'retryOrGiveUp' },
          { target: 'failed', actions: 'recordPermanentFailure' },
        ],
      },
    },
    retryOrGiveUp: {
      always: [{ guard: 'hasRetriesLeft', target: 'deferring' }, { target: 'failed', actions: 'recordPermanentFailure' }],
    },
    deferring: {
      entry: 'recordAttemptFailure',
      invoke: {
        src: 'saveState',
        input: ({ context }) => ({ fileName: context.fileName, state: persistedStateOf(context) }),
        onDone: { target: 'deferred' },
        // Not fatal: the timer below still retries; only a restart would lose the count.
        onError: { target: 'deferred' },
      },
    },
    deferred: {
      // The parsed order is dropped while it waits (it is read again when due).
      entry: [stopChild('turn'), assign({ outcome: 'deferred' as const, resolved: undefined }), 'notifyDeferred'],
      after: { retryDelay: { target: 'waiting' } },
    },
    waiting: {
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
        onError: [{ guard: 'claimLost', target: 'lost' }, { target: 'savingSent' }],
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
    lost: { entry: assign({ outcome: 'lost' as const }), always: { target: 'done' } },
    skipped: { entry: assign({ outcome: 'skipped' as const }), always: { target: 'done' } },
    done: { type: 'final' },
  },
});
