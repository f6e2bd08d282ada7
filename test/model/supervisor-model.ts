/**
 * The abstract model of the supervisor's life, as the world around it sees
 * it: the lock, the startup scan, what the intake was asked to read, which
 * orders are in flight or waiting, and what is left when it stops. One
 * company, at most two orders (X, then Y) besides late reports of a third.
 * Event-only, as `createTestModel` requires; each event is executed against
 * the real supervisor by `supervisor.model.test.ts`.
 *
 * The lane allows one send per minute (perMinute 1), so a second order that
 * is ready while the first is in flight waits for the lane's tick.
 */
import { setup } from 'xstate';

export type SupervisorModelEvent =
  | { type: 'START_RUN' }
  | { type: 'START_ONCE' }
  | { type: 'LOCK_GRANTED' }
  | { type: 'LOCK_HELD' }
  | { type: 'LOCK_BROKEN' }
  | { type: 'SCAN_FINDS' }
  | { type: 'SCAN_FAILS' }
  | { type: 'X_ARRIVES' }
  | { type: 'Y_ARRIVES' }
  | { type: 'INTAKE_READY' }
  | { type: 'INTAKE_DROPS' }
  | { type: 'SEND_OK' }
  | { type: 'SEND_FAILS' }
  | { type: 'SEND_DEFERS' }
  | { type: 'ORDER_CRASHES' }
  | { type: 'RETRY_DUE' }
  | { type: 'MINUTE_PASSES' }
  | { type: 'LATE_REPORT' }
  | { type: 'LATE_WANTS_SLOT' }
  | { type: 'STOP' }
  | { type: 'RELEASE_OK' }
  | { type: 'RELEASE_FAILS' };

export const supervisorModel = setup({ types: { events: {} as SupervisorModelEvent } }).createMachine({
  id: 'supervisorModel',
  initial: 'off',
  states: {
    off: { on: { START_RUN: 'locking', START_ONCE: 'lockingOnce' } },
    locking: { on: { LOCK_GRANTED: 'scanning', LOCK_HELD: 'refused', LOCK_BROKEN: 'lockFailed', STOP: 'stoppedUnlocked' } },
    lockingOnce: { on: { LOCK_GRANTED: 'scanningOnce' } },
    scanning: { on: { SCAN_FINDS: 'intakeX', SCAN_FAILS: 'watching' } },
    scanningOnce: { on: { SCAN_FINDS: 'drainingIntakeX', SCAN_FAILS: 'releasing' } },
    // run: nothing in the pipeline, the watcher reports what arrives.
    watching: { on: { X_ARRIVES: 'intakeX', STOP: 'releasing' } },
    intakeX: { on: { INTAKE_READY: 'sendingX', INTAKE_DROPS: 'watching', STOP: 'releasing' } },
    sendingX: {
      on: {
        SEND_OK: 'watching',
        SEND_FAILS: 'watching',
        ORDER_CRASHES: 'watching',
        SEND_DEFERS: 'deferredX',
        Y_ARRIVES: 'sendingXIntakeY',
        STOP: 'stopping',
      },
    },
    // X gave its slot back and waits for its retry (in memory: run mode).
    deferredX: { on: { RETRY_DUE: 'sendingX', STOP: 'releasing' } },
    sendingXIntakeY: { on: { INTAKE_READY: 'sendingXYWaiting', STOP: 'stoppingIntakeY' } },
    // Y is ready but the lane has started its one send of this minute.
    sendingXYWaiting: { on: { MINUTE_PASSES: 'sendingXY', STOP: 'stoppingTickPending' } },
    sendingXY: { on: { SEND_OK: 'watching' } },
    // once: the scan's orders, nothing else; ends when they are done.
    drainingIntakeX: { on: { INTAKE_READY: 'drainingSendingX', INTAKE_DROPS: 'releasing', LATE_REPORT: 'drainingIntakeX', STOP: 'releasing' } },
    drainingSendingX: { on: { SEND_OK: 'releasing', SEND_DEFERS: 'releasing', ORDER_CRASHES: 'releasing', STOP: 'stopping' } },
    // Stopped with X in flight: it finishes (or defers, or crashes); nothing new starts.
    stopping: {
      on: {
        LATE_REPORT: 'stopping',
        STOP: 'stopping',
        LATE_WANTS_SLOT: 'stopping',
        SEND_OK: 'releasing',
        SEND_DEFERS: 'releasing',
        ORDER_CRASHES: 'releasing',
      },
    },
    stoppingIntakeY: { on: { INTAKE_READY: 'stopping' } },
    stoppingTickPending: { on: { MINUTE_PASSES: 'stopping' } },
    releasing: { on: { RELEASE_OK: 'stopped', RELEASE_FAILS: 'stopped' } },
    stopped: { type: 'final' },
    refused: { type: 'final' },
    lockFailed: { type: 'final' },
    stoppedUnlocked: { type: 'final' },
  },
});
