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
      },
    },
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
      },
    },
    inboxInvalid: { on: { PASS: 'failed', PASS_ERRORES_BLOCKED: 'stuckFailed' } },
    inboxInvalidSilent: { on: { PASS: 'failedSilent' } },
    inboxUnreadable: { on: { PASS_READ_BLOCKED: 'readBlocked' } },
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
    failedSilent: { type: 'final' },
    exhausted: { type: 'final' },
    lost: { type: 'final' },
  },
});
