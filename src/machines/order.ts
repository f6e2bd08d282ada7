/**
 * The life of one send order, as an XState v5 machine.
 *
 *   detected → claiming → loading → sending → sent → archiving → done
 *                                      ↘ deferring → deferred ⟲ (after retryDelay) → waiting → sending
 *                                      ↘ failed → archivingFailed → notifying → done
 *
 * The machine is pure: every effect is a named actor (`claimOrder`,
 * `loadState`, `loadOrder`, `sendOrder`, `saveState`, `archiveSent`,
 * `archiveFailed`, `notifyFailure`) that `main.ts` provides over `src/io`, and
 * tests provide over real local servers and temp folders. The placeholders
 * below only carry the types; they fail loudly if nothing was provided.
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
 * - Talks to its parent (the supervisor) with three events: `ORDER.DEFERRED`
 *   (it is waiting on a timer and gave its lane slot back: deferred or one
 *   of the *Blocked states), `ORDER.WANTS_SLOT` (its retry is due) and its
 *   done event (the slot, if held, is free).
 */
import { assign, fromPromise, sendParent, setup } from 'xstate';
import type { SerializedError } from '../errors.js';
import type { AfterSend } from '../order/types.js';
import type { PersistedOrderState, ResolvedOrder, SendResult } from '../ports.js';
import {
  claimedState,
  errorOf,
  persistedStateOf,
  restored,
  routingOf,
  type ArchiveFailedInput,
  type ClaimOutput,
  type LoadOrderOutput,
  type NotifyInput,
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
    loadOrder: fromPromise<LoadOrderOutput, { fileName: string }>(async () => notProvided('loadOrder')),
    sendOrder: fromPromise<SendResult, { resolved: ResolvedOrder }>(async () => notProvided('sendOrder')),
    saveState: fromPromise<void, { fileName: string; state: PersistedOrderState }>(async () => notProvided('saveState')),
    archiveSent: fromPromise<void, { fileName: string; afterSend: AfterSend }>(async () => notProvided('archiveSent')),
    archiveFailed: fromPromise<void, ArchiveFailedInput>(async () => notProvided('archiveFailed')),
    notifyFailure: fromPromise<void, NotifyInput>(async () => notProvided('notifyFailure')),
  },
  guards: {
    claimWon: ({ event }) => {
      const output = (event as unknown as { output: ClaimOutput }).output;
      return output === true || (typeof output === 'object' && output !== null && output.won === true);
    },
    alreadySent: ({ context }) => context.sentAt !== undefined,
    dueLater: ({ context }) => context.nextTryAt !== undefined && context.nextTryAt > Date.now(),
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
  context: ({ input }) => ({ ...input, attempts: 0, firstSeenAt: Date.now(), errors: [] }),
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
          {
            guard: 'claimWon',
            target: 'loading',
            actions: assign(({ event }) => {
              const state = claimedState(event.output);
              return state ? restored(state) : {};
            }),
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
          target: 'loading',
          actions: assign(({ event }) => (event.output ? restored(event.output) : {})),
        },
        onError: { target: 'loading' },
      },
    },
    loading: {
      invoke: {
        src: 'loadOrder',
        input: ({ context }) => ({ fileName: context.fileName }),
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
      entry: 'notifyDeferred',
      after: { archiveRetryDelay: { target: 'loading' } },
    },
    parsed: {
      always: [
        { guard: 'alreadySent', target: 'archiving' },
        { guard: 'dueLater', target: 'deferred' },
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
      entry: [assign({ outcome: 'deferred' as const }), 'notifyDeferred'],
      after: { retryDelay: { target: 'waiting' } },
    },
    waiting: {
      entry: 'requestSlot',
      on: { GO: { target: 'sending' } },
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
        onError: { target: 'savingSent' },
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
      entry: 'notifyDeferred',
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
      entry: 'notifyDeferred',
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
