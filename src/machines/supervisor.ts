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
 * machine's context and changed only inside its actions: each can hold every
 * order in the pipeline (`running` keeps deferred orders too, thousands when
 * a server is down), and copying it on every event would make the supervisor
 * quadratic. `counts` is a value like any other, replaced through `assign`.
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
import { assign, cancel, enqueueActions, fromCallback, fromPromise, raise, setup, type ActorRefFrom, type DoneActorEvent } from 'xstate';
import { ChildIds, crashedOrderId } from './child-ids.js';
import { LaneScheduler, type PendingOrder } from './lanes.js';
import { orderMachine } from './order.js';
import type { OrderOutput } from './order-context.js';
import type { Counts, IntakeEvent, LockResult, ScanResult, SupervisorContext, SupervisorEvent, SupervisorInput, SupervisorOutput } from './supervisor-types.js';

/** Action params: the order file an order actor's event is about. */
const fileOf = ({ event }: { event: { fileName: string } }): { fileName: string } => ({ fileName: event.fileName });
/**
 * Action params: the outcome of a finished order actor. XState leaves the
 * event of a wildcard transition untyped, hence the annotation; in `active`
 * only order actors finish there (the scan's end is taken by its own state,
 * the intake and the watcher never finish).
 */
const orderOutputOf = ({ event }: { event: DoneActorEvent<OrderOutput> }): OrderOutput => event.output;

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
    admit: enqueueActions(({ context, enqueue }, { fileNames }: { fileNames: string[] }) => {
      const files = newFiles(context.known, fileNames, 'inbox');
      if (files.length > 0) enqueue.sendTo('intake', { type: 'INTAKE.FILES', files });
    }),
    admitScan: enqueueActions(({ context, enqueue }, { claimed, inbox, notFiles = [] }: ScanResult) => {
      const files = [...newFiles(context.known, claimed, 'claimed'), ...newFiles(context.known, inbox, 'inbox')];
      if (files.length > 0) enqueue.sendTo('intake', { type: 'INTAKE.FILES', files });
      // Never taken, so `once` cannot end with "all sent" while they are there.
      if (context.mode === 'once' && notFiles.length > 0) enqueue.assign(counted('ignored', notFiles.length));
    }),
    enqueueOrder: ({ context }, { order }: { order: PendingOrder }) => {
      context.lanes.enqueue(order);
    },
    /**
     * The intake dropped a file: gone (another mailer took it), or left in the
     * order folder (held open by another program, unreadable) for the next
     * pass, which `once` counts as queued (exit 4): it is not done.
     */
    forgetDropped: enqueueActions(({ context, enqueue }, e: { fileName: string; reason: string }) => {
      // Not known any more: a stop already counted it.
      if (!context.known.delete(e.fileName)) return;
      if (context.mode === 'once' && e.reason !== 'gone') enqueue.assign(counted('queued'));
    }),
    forgetIntake: ({ context }, { fileName }: { fileName: string }) => {
      context.known.delete(fileName);
    },
    requestResume: ({ context }, { fileName, company }: { fileName: string; company: string }) => {
      context.lanes.requestResume(fileName, company);
    },
    /** A deferred order gives its slot back; in once mode (and when stopping) it also leaves. */
    releaseDeferred: ({ context }, { fileName }: { fileName: string }) => {
      const entry = context.running.get(fileName);
      if (entry?.holdsSlot) {
        entry.holdsSlot = false;
        context.lanes.release(entry.company);
      }
    },
    dismissDeferred: enqueueActions(({ context, enqueue }, { fileName }: { fileName: string }) => {
      retireOrder(context, fileName, enqueue);
      enqueue.assign(counted('queued'));
    }),
    /** An order actor finished: count it, free its slot, stop it so it does not linger in children. */
    orderDone: enqueueActions(({ context, enqueue }, output: OrderOutput) => {
      retireOrder(context, output.fileName, enqueue);
      // Deferred orders and orders whose claim was refused (left in the order folder for the next pass) are not done yet: queued.
      enqueue.assign(counted(output.outcome === 'deferred' || output.outcome === 'skipped' ? 'queued' : output.outcome));
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
        enqueue.assign(counted('queued'));
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
      let left = 0;
      const children = self.getSnapshot().children;
      for (const [fileName, entry] of context.running) {
        // The ids in `running` name order actors (XState types children by the actors of all named sources).
        const child: ActorRefFrom<typeof orderMachine> | undefined = children[entry.childId];
        // Idle: waits on a timer or a slot, nothing in flight; its file is safe on disk.
        if (!child || child.getSnapshot().hasTag('idle')) {
          context.running.delete(fileName);
          context.known.delete(fileName);
          left += 1;
          stopOrder(context, entry.childId, enqueue);
        }
      }
      for (const fileName of [...context.known]) {
        if (context.running.has(fileName)) continue;
        context.known.delete(fileName);
        left += 1;
      }
      if (left > 0) enqueue.assign(counted('queued', left));
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
            actions: assign(({ event }) => lockFields(event.output)),
          },
          {
            target: 'refused',
            actions: assign(({ event }) => lockFields(event.output)),
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
        'INTAKE.READY': { actions: [{ type: 'enqueueOrder', params: ({ event }) => ({ order: event.order }) }, 'grantSlots'] },
        'INTAKE.DROPPED': { actions: { type: 'forgetDropped', params: ({ event }) => ({ fileName: event.fileName, reason: event.reason }) } },
        'ORDER.DEFERRED': [
          { guard: 'isOnce', actions: [{ type: 'dismissDeferred', params: fileOf }, 'grantSlots'] },
          { actions: [{ type: 'releaseDeferred', params: fileOf }, 'grantSlots'] },
        ],
        'ORDER.WANTS_SLOT': { actions: [{ type: 'requestResume', params: ({ event }) => ({ fileName: event.fileName, company: event.company }) }, 'grantSlots'] },
        'xstate.done.actor.*': { actions: [{ type: 'orderDone', params: orderOutputOf }, 'grantSlots'] },
        'xstate.error.actor.*': { guard: 'isOrderCrash', actions: ['orderCrashed', 'grantSlots'] },
        'LANES.TICK': { actions: 'grantSlots' },
        'FILE.SEEN': { actions: { type: 'admit', params: ({ event }) => ({ fileNames: event.fileNames }) } },
        STOP: { target: '.stopping' },
      },
      states: {
        scanning: {
          invoke: {
            src: 'scan',
            onDone: [
              { guard: 'isOnce', target: 'draining', actions: { type: 'admitScan', params: ({ event }) => event.output } },
              { target: 'watching', actions: { type: 'admitScan', params: ({ event }) => event.output } },
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
            'INTAKE.READY': { actions: { type: 'forgetIntake', params: ({ event }) => ({ fileName: event.order.fileName }) } },
            'ORDER.DEFERRED': { actions: { type: 'dismissDeferred', params: fileOf } },
            'ORDER.WANTS_SLOT': {},
            'LANES.TICK': {},
            'xstate.done.actor.*': { actions: { type: 'orderDone', params: orderOutputOf } },
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

/** What the lock's outcome puts in the context: the lock held, or who holds it. */
function lockFields(result: LockResult): Pick<SupervisorContext, 'lock' | 'refused'> {
  return result.ok ? { lock: result.handle } : { refused: result.running };
}

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

/** An assignment of `counts` with `key` raised by `n`: a new object, so a snapshot's counts never change after it was taken. */
function counted(key: keyof Counts, n = 1) {
  return { counts: ({ context }: { context: SupervisorContext }): Counts => ({ ...context.counts, [key]: context.counts[key] + n }) };
}
