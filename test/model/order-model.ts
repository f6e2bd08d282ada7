/**
 * The abstract model of an order's life, as an operator sees it: where the
 * file is and what the SMTP server and the error address have received.
 * Event-only (no invoke, no after), as `createTestModel` requires; each event
 * is executed against the real system by `order.model.test.ts`.
 */
import { setup } from 'xstate';

export type ModelEvent =
  | { type: 'DROP_VALID' }
  | { type: 'DROP_INVALID' }
  | { type: 'DROP_INVALID_SILENT' }
  | { type: 'DROP_UNREADABLE' }
  | { type: 'DROP_TAKEN' }
  | { type: 'DROP_HANDED_OVER' }
  | { type: 'PASS' }
  | { type: 'PASS_ACCEPT' }
  | { type: 'PASS_PARTIAL' }
  | { type: 'PASS_TEMPFAIL' }
  | { type: 'PASS_PERMFAIL' }
  | { type: 'PASS_CLAIM_BLOCKED' }
  | { type: 'PASS_READ_BLOCKED' }
  | { type: 'PASS_ARCHIVE_BLOCKED' }
  | { type: 'PASS_ARCHIVE_AND_STATE_BLOCKED' }
  | { type: 'PASS_ERRORES_BLOCKED' }
  | { type: 'PASS_TEMPFAIL_UNSAVED' }
  | { type: 'PASS_READ_AND_STATE_BLOCKED' }
  | { type: 'PASS_ERRORES_AND_STATE_BLOCKED' }
  | { type: 'PASS_CRASH' }
  | { type: 'RETRY_LIVE_ACCEPT' }
  | { type: 'RESTART_EARLY' }
  | { type: 'RESTART_ACCEPT' }
  | { type: 'RETRY_ACCEPT' }
  | { type: 'RETRY_TEMPFAIL' }
  | { type: 'RETRY_PERMFAIL' }
  | { type: 'FIX_AND_LIVE' }
  | { type: 'UNBLOCK_LIVE' }
  | { type: 'RESTART_AFTER_SENT' };

export const orderModel = setup({ types: { events: {} as ModelEvent } }).createMachine({
  id: 'orderModel',
  initial: 'empty',
  states: {
    empty: {
      on: {
        DROP_VALID: 'inbox',
        DROP_INVALID: 'inboxInvalid',
        DROP_INVALID_SILENT: 'inboxInvalidSilent',
        DROP_UNREADABLE: 'inboxUnreadable',
        DROP_TAKEN: 'lost',
        DROP_HANDED_OVER: 'inboxHandedOver',
      },
    },
    // Given back by another machine with its retry state (taken over after that machine stopped, or `retry`).
    inboxHandedOver: { on: { PASS_ACCEPT: 'sent' } },
    inbox: {
      on: {
        PASS_ACCEPT: 'sent',
        PASS_PARTIAL: 'sentPartial',
        PASS_TEMPFAIL: 'deferred',
        PASS_PERMFAIL: 'failed',
        PASS_CLAIM_BLOCKED: 'claimBlocked',
        PASS_ARCHIVE_BLOCKED: 'stuckSent',
        PASS_ARCHIVE_AND_STATE_BLOCKED: 'stuckSentUnsaved',
        PASS_TEMPFAIL_UNSAVED: 'deferredUnsaved',
        PASS_CRASH: 'crashedOnce',
      },
    },
    // The process dies while reading the order (out of memory, killed): the next start tries it again once…
    crashedOnce: { on: { PASS_CRASH: 'crashedTwice', PASS_ACCEPT: 'sent' } },
    // …and after a second death, the next start sets it aside instead of trying it a third time.
    crashedTwice: { on: { PASS: 'setAside' } },
    inboxInvalid: { on: { PASS: 'failed', PASS_ERRORES_BLOCKED: 'stuckFailed', PASS_ERRORES_AND_STATE_BLOCKED: 'stuckFailed' } },
    inboxInvalidSilent: { on: { PASS: 'failedSilent' } },
    inboxUnreadable: { on: { PASS_READ_BLOCKED: 'readBlocked', PASS_READ_AND_STATE_BLOCKED: 'readBlocked' } },
    readBlocked: { on: { FIX_AND_LIVE: 'sent' } },
    claimBlocked: { on: { PASS_ACCEPT: 'sent' } },
    deferred: {
      on: {
        RETRY_LIVE_ACCEPT: 'sent',
        RESTART_EARLY: 'deferredResumed',
        RETRY_ACCEPT: 'sent',
        RETRY_TEMPFAIL: 'exhausted',
        RETRY_PERMFAIL: 'failed',
      },
    },
    deferredResumed: { on: { RETRY_ACCEPT: 'sent', RETRY_TEMPFAIL: 'exhausted' } },
    deferredUnsaved: { on: { RETRY_LIVE_ACCEPT: 'sent', RESTART_ACCEPT: 'sent' } },
    stuckSent: { on: { UNBLOCK_LIVE: 'sent', RESTART_AFTER_SENT: 'sent' } },
    stuckSentUnsaved: { on: { UNBLOCK_LIVE: 'sent' } },
    stuckFailed: { on: { UNBLOCK_LIVE: 'failed' } },
    sent: { type: 'final' },
    sentPartial: { type: 'final' },
    failed: { type: 'final' },
    setAside: { type: 'final' },
    failedSilent: { type: 'final' },
    exhausted: { type: 'final' },
    lost: { type: 'final' },
  },
});
