/**
 * The supervisor: holds the single-instance lock, learns of order files
 * (startup scan, watcher, rescans), hands each through the intake (wait until
 * written, read its company), queues it in its company's lane, and spawns one
 * order actor per granted slot.
 *
 *   locking → active.scanning → active.watching (run) | active.draining (once)
 *           → active.stopping → releasing → stopped        (refused: lock held)
 *
 * Pure: `acquireLock`, `releaseLock`, `scan`, `intake`, `watcher` and `order`
 * are named actors provided by main.ts (or tests).
 *
 * Bookkeeping (`known`, `running`, `lanes`) is mutable data owned by this
 * machine's context and changed only inside its actions: with 10,000 orders
 * queued, copying it on every event would make the supervisor quadratic.
 *
 * Guarantees:
 * - One file name is in the pipeline at most once (`known`), however often the
 *   watcher and the rescans report it.
 * - A spawned order actor is stopped and forgotten as soon as it is done, so a
 *   long-running supervisor does not accumulate children.
 * - On STOP, nothing new starts; orders in the middle of a send finish (their
 *   timeout bounds it); waiting and deferred orders stay where they are on disk
 *   and are resumed by the next start.
 */
import { assign, cancel, enqueueActions, fromCallback, fromPromise, raise, setup, type AnyActorRef } from 'xstate';
import { ChildIds, crashedOrderId } from './child-ids.js';
import { LaneScheduler } from './lanes.js';
import { orderMachine, type OrderOutcome, type OrderOutput } from './order.js';
import type { Counts, IntakeEvent, LockResult, ScanResult, SupervisorContext, SupervisorEvent, SupervisorInput, SupervisorOutput } from './supervisor-types.js';

export * from './supervisor-types.js';

/** Order states a STOP does not wait for: nothing is in flight there, the file is safe on disk. */
const IDLE_ORDER_STATES = new Set(['deferred', 'waiting', 'archiveBlocked', 'archiveFailedBlocked', 'loadBlocked']);

function notProvided(name: string): never {
  throw new Error(`supervisor: actor "${name}" was not provided`);
}

export const supervisorMachine = setup({
  types: {
    context: {} as SupervisorContext,
    events: {} as SupervisorEvent,
    input: {} as SupervisorInput,
    output: {} as SupervisorOutput,
  },
  actors: {
    acquireLock: fromPromise<LockResult, void>(async () => notProvided('acquireLock')),
    releaseLock: fromPromise<void, { handle?: { release(): Promise<void> } }>(async () => notProvided('releaseLock')),
    scan: fromPromise<ScanResult, void>(async () => notProvided('scan')),
    intake: fromCallback<IntakeEvent>(() => notProvided('intake')),
    watcher: fromCallback(() => notProvided('watcher')),
    order: orderMachine,
  },
  guards: {
    isOnce: ({ context }) => context.mode === 'once',
    drained: ({ context }) => context.known.size === 0,
    nothingRunning: ({ context }) => context.running.size === 0,
    /** An order actor failed with an exception (a bug): any other actor's error still stops the supervisor. */
    isOrderCrash: ({ event }) => crashedOrderId(event.type) !== undefined,
  },
  actions: {
    /** Sends the files not already in the pipeline to the intake, as one event. */
    admit: enqueueActions(({ context, event, enqueue }) => {
      const files = newFiles(context.known, (event as Extract<SupervisorEvent, { type: 'FILE.SEEN' }>).fileNames, 'inbox');
      if (files.length > 0) enqueue.sendTo('intake', { type: 'INTAKE.FILES', files });
    }),
    admitScan: enqueueActions(({ context, event, enqueue }) => {
      const { claimed, inbox, notFiles = [] } = (event as unknown as { output: ScanResult }).output;
      const files = [...newFiles(context.known, claimed, 'claimed'), ...newFiles(context.known, inbox, 'inbox')];
      if (files.length > 0) enqueue.sendTo('intake', { type: 'INTAKE.FILES', files });
      // Never taken, so `once` cannot end with "all sent" while they are there.
      if (context.mode === 'once') context.counts.ignored += notFiles.length;
    }),
    enqueueOrder: ({ context, event }) => {
      context.lanes.enqueue((event as Extract<SupervisorEvent, { type: 'INTAKE.READY' }>).order);
    },
    /**
     * The intake dropped a file: gone (another mailer took it), or left in the
     * order folder (held open by another program, unreadable) for the next
     * pass, which `once` counts as queued (exit 4): it is not done.
     */
    forgetDropped: ({ context, event }) => {
      const e = event as Extract<SupervisorEvent, { type: 'INTAKE.DROPPED' }>;
      // Not known any more: a stop already counted it.
      if (!context.known.delete(e.fileName)) return;
      if (context.mode === 'once' && e.reason !== 'gone') context.counts.queued += 1;
    },
    forgetIntake: ({ context, event }) => {
      context.known.delete((event as Extract<SupervisorEvent, { type: 'INTAKE.READY' }>).order.fileName);
    },
    requestResume: ({ context, event }) => {
      const e = event as Extract<SupervisorEvent, { type: 'ORDER.WANTS_SLOT' }>;
      context.lanes.requestResume(e.fileName, e.company);
    },
    /** A deferred order gives its slot back; in once mode (and when stopping) it also leaves. */
    releaseDeferred: ({ context, event }) => {
      const e = event as Extract<SupervisorEvent, { type: 'ORDER.DEFERRED' }>;
      const entry = context.running.get(e.fileName);
      if (entry?.holdsSlot) {
        entry.holdsSlot = false;
        context.lanes.release(entry.company);
      }
    },
    dismissDeferred: enqueueActions(({ context, event, enqueue }) => {
      const e = event as Extract<SupervisorEvent, { type: 'ORDER.DEFERRED' }>;
      retireOrder(context, e.fileName, enqueue);
      context.counts.queued += 1;
    }),
    /** An order actor finished: count it, free its slot, stop it so it does not linger in children. */
    orderDone: enqueueActions(({ context, event, enqueue }) => {
      const output = (event as unknown as { output: OrderOutput }).output;
      retireOrder(context, output.fileName, enqueue);
      bump(context.counts, output.outcome);
    }),
    /**
     * An order actor crashed (an exception in our code, not an SMTP or file
     * failure: those are states). Without this the error would reach the
     * supervisor and stop the whole mailer, and the restart would resume the
     * same order and stop again. Its file stays claimed on disk for the next
     * start (counted as queued); its slot and id are freed.
     */
    orderCrashed: enqueueActions(({ context, event, enqueue }) => {
      const childId = crashedOrderId(event.type);
      for (const [fileName, entry] of context.running) {
        if (entry.childId !== childId) continue;
        retireOrder(context, fileName, enqueue);
        context.counts.queued += 1;
        return;
      }
    }),
    grantSlots: enqueueActions(({ context, enqueue }) => {
      const now = Date.now();
      for (const grant of context.lanes.grant(now)) {
        if (grant.kind === 'spawn') {
          const { order } = grant;
          const childId = context.childIds.take();
          context.running.set(order.fileName, { childId, company: order.company, holdsSlot: true });
          enqueue.spawnChild('order', {
            id: childId,
            input: {
              fileName: order.fileName,
              orderId: order.orderId,
              company: order.company,
              location: order.location,
              retrySchedule: context.retrySchedule,
            },
          });
        } else {
          const entry = context.running.get(grant.fileName);
          if (!entry) {
            context.lanes.release(grant.company);
            continue;
          }
          entry.holdsSlot = true;
          enqueue.sendTo(entry.childId, { type: 'GO' });
        }
      }
      const wakeAt = context.lanes.nextWakeAt(now);
      enqueue(cancel('lanesTick'));
      if (wakeAt !== undefined) enqueue(raise({ type: 'LANES.TICK' }, { id: 'lanesTick', delay: Math.max(1, wakeAt - now) }));
    }),
    /**
     * On STOP: drop what has not started, stop what is only waiting. Both stay
     * on disk for the next start and are counted queued, so a stopped `once`
     * never reports "all sent" while orders are left.
     */
    stopIdle: enqueueActions(({ context, enqueue, self }) => {
      context.lanes.clearWaiting();
      const children = self.getSnapshot().children as Record<string, AnyActorRef | undefined>;
      for (const [fileName, entry] of context.running) {
        const child = children[entry.childId];
        const value = child?.getSnapshot()?.value;
        if (!child || (typeof value === 'string' && IDLE_ORDER_STATES.has(value))) {
          context.running.delete(fileName);
          context.known.delete(fileName);
          context.counts.queued += 1;
          stopOrder(context, entry.childId, enqueue);
        }
      }
      for (const fileName of [...context.known]) {
        if (context.running.has(fileName)) continue;
        context.known.delete(fileName);
        context.counts.queued += 1;
      }
    }),
  },
}).createMachine({
  id: 'supervisor',
  context: ({ input }) => ({
    ...input,
    lanes: new LaneScheduler(input.limitsFor),
    known: new Set<string>(),
    running: new Map(),
    childIds: new ChildIds(),
    counts: { sent: 0, failed: 0, queued: 0, lost: 0, ignored: 0 },
  }),
  initial: 'locking',
  output: ({ context }) => ({
    counts: context.counts,
    ...(context.refused && { refused: context.refused }),
    ...(context.lockError && { lockError: context.lockError }),
  }),
  states: {
    locking: {
      invoke: {
        src: 'acquireLock',
        onDone: [
          {
            guard: ({ event }) => event.output.ok,
            target: 'active',
            actions: assign(({ event }) => ({ lock: (event.output as Extract<LockResult, { ok: true }>).handle })),
          },
          {
            target: 'refused',
            actions: assign(({ event }) => ({ refused: (event.output as Extract<LockResult, { ok: false }>).running })),
          },
        ],
        onError: {
          target: 'refused',
          actions: assign(({ event }) => ({ lockError: String((event.error as Error)?.message ?? event.error) })),
        },
      },
      on: { STOP: { target: 'stopped' } },
    },
    active: {
      invoke: { src: 'intake', id: 'intake' },
      initial: 'scanning',
      on: {
        'INTAKE.READY': { actions: ['enqueueOrder', 'grantSlots'] },
        'INTAKE.DROPPED': { actions: 'forgetDropped' },
        'ORDER.DEFERRED': [{ guard: 'isOnce', actions: ['dismissDeferred', 'grantSlots'] }, { actions: ['releaseDeferred', 'grantSlots'] }],
        'ORDER.WANTS_SLOT': { actions: ['requestResume', 'grantSlots'] },
        'xstate.done.actor.*': { actions: ['orderDone', 'grantSlots'] },
        'xstate.error.actor.*': { guard: 'isOrderCrash', actions: ['orderCrashed', 'grantSlots'] },
        'LANES.TICK': { actions: 'grantSlots' },
        'FILE.SEEN': { actions: 'admit' },
        STOP: { target: '.stopping' },
      },
      states: {
        scanning: {
          invoke: {
            src: 'scan',
            onDone: [
              { guard: 'isOnce', target: 'draining', actions: 'admitScan' },
              { target: 'watching', actions: 'admitScan' },
            ],
            onError: [{ guard: 'isOnce', target: 'draining' }, { target: 'watching' }],
          },
        },
        watching: {
          invoke: { src: 'watcher', id: 'watcher' },
        },
        draining: {
          on: { 'FILE.SEEN': {} },
          always: { guard: 'drained', target: '#supervisor.releasing' },
        },
        stopping: {
          entry: 'stopIdle',
          on: {
            'FILE.SEEN': {},
            STOP: {},
            'INTAKE.READY': { actions: 'forgetIntake' },
            'ORDER.DEFERRED': { actions: 'dismissDeferred' },
            'ORDER.WANTS_SLOT': {},
            'LANES.TICK': {},
            'xstate.done.actor.*': { actions: 'orderDone' },
            'xstate.error.actor.*': { guard: 'isOrderCrash', actions: 'orderCrashed' },
          },
          always: { guard: 'nothingRunning', target: '#supervisor.releasing' },
        },
      },
    },
    releasing: {
      invoke: {
        src: 'releaseLock',
        input: ({ context }) => ({ ...(context.lock && { handle: context.lock }) }),
        onDone: { target: 'stopped' },
        onError: { target: 'stopped' },
      },
    },
    refused: { type: 'final' },
    stopped: { type: 'final' },
  },
});

/** The names not yet in the pipeline, now marked as in it. */
function newFiles(
  known: Set<string>,
  names: string[],
  location: 'inbox' | 'claimed',
): { fileName: string; location: 'inbox' | 'claimed' }[] {
  const files: { fileName: string; location: 'inbox' | 'claimed' }[] = [];
  for (const fileName of names) {
    if (known.has(fileName)) continue;
    known.add(fileName);
    files.push({ fileName, location });
  }
  return files;
}

/**
 * An order leaves the pipeline (finished, dismissed or crashed): its slot is
 * released if it held one, it is forgotten, and its actor is stopped. The
 * caller counts it.
 */
function retireOrder(context: SupervisorContext, fileName: string, enqueue: { stopChild(id: string): void }): void {
  const entry = context.running.get(fileName);
  if (entry?.holdsSlot) context.lanes.release(entry.company);
  context.running.delete(fileName);
  context.known.delete(fileName);
  if (entry) stopOrder(context, entry.childId, enqueue);
}

/** Stops an order actor (if it is still there) and makes its id free for a later order. */
function stopOrder(context: SupervisorContext, childId: string, enqueue: { stopChild(id: string): void }): void {
  enqueue.stopChild(childId);
  context.childIds.give(childId);
}

/** Deferred orders and orders whose claim was refused (left in the order folder for the next pass) are both not done yet: queued. */
function bump(counts: Counts, outcome: OrderOutcome): void {
  if (outcome === 'deferred' || outcome === 'skipped') counts.queued += 1;
  else counts[outcome] += 1;
}
