/**
 * Model-based test of the supervisor (xstate/graph `createTestModel`): every
 * shortest path of the model in supervisor-model.ts, and every self-loop of
 * it appended to a shortest path to its state, is executed against the real
 * supervisor machine spawning the real order machine, with in-process fakes
 * for every effect (supervisor-world.ts). At each model state the test checks
 * where the supervisor is, its order actors, what the intake was asked, the
 * timers set, the lock, and the counts. The run records which transitions of
 * the real supervisor were taken and fails unless every one of them was; it
 * also fails if a model state has no check or a model event no exec.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createTestModel } from 'xstate/graph';
import { supervisorMachine } from '../../src/machines/supervisor.js';
import { ModelRules, TransitionRecorder } from './model-rules.js';
import { supervisorModel } from './supervisor-model.js';
import { COMPANY, LOCK_OWNER, NOT_A_FILE, RETRY_SECONDS, SupervisorWorld, X, Y, Z } from './supervisor-world.js';

type W = SupervisorWorld;
const ZERO = { sent: 0, failed: 0, queued: 0, lost: 0, ignored: 0 };

// ---- the model's states, checked against the supervisor ----
/** What holds in every state once the supervisor exists: its counts, and each arrival asked of the intake once. */
function ledger(w: W) {
  expect(w.snapshot.context.counts).toEqual(w.expected);
  expect(w.intakeAsked).toEqual(w.expectedAsked);
}
function locking(w: W) {
  ledger(w);
  expect(w.where).toBe('locking');
  expect(w.lockRequests).toBe(1);
  expect(w.scans).toBe(0);
  expect(w.intakeAlive).toBe(false);
  expect(w.watcherAlive).toBe(false);
}
function scanning(w: W) {
  ledger(w);
  expect(w.where).toBe('active.scanning');
  expect(w.snapshot.context.lock).toBe(w.handle);
  expect(w.scans).toBe(1);
  expect(w.intakeAlive).toBe(true);
  expect(w.watcherAlive).toBe(false);
}
/** Ended without ever holding the lock: nothing scanned, nothing to release. */
function endedUnlocked(w: W) {
  expect(w.snapshot.status).toBe('done');
  expect(w.scans).toBe(0);
  expect(w.releases).toEqual([]);
  expect(w.intakeAlive).toBe(false);
}
/** Running (run mode, watching): `inFlight` are the orders sending, `known` every name in the pipeline. */
function watching(w: W, orders: Record<string, string>, known: string[]) {
  ledger(w);
  expect(w.where).toBe('active.watching');
  expect(w.watcherAlive).toBe(true);
  expect(w.orders()).toEqual(orders);
  expect([...w.snapshot.context.known].sort()).toEqual(known);
}
function draining(w: W, orders: Record<string, string>) {
  ledger(w);
  expect(w.where).toBe('active.draining');
  expect(w.toSupervisorFromWatcher).toBeUndefined(); // once never watches
  expect(w.orders()).toEqual(orders);
  expect([...w.snapshot.context.known]).toEqual([X]);
}
/** Stopping with X in flight: the watcher is gone, only X is left, nothing new is asked of the intake. */
function stopping(w: W, timers: number) {
  ledger(w);
  expect(w.where).toBe('active.stopping');
  expect(w.watcherAlive).toBe(false);
  expect(w.orders()).toEqual({ [X]: 'sending' });
  expect([...w.snapshot.context.known]).toEqual([X]);
  expect(w.snapshot.context.running.get(X)?.holdsSlot).toBe(true);
  expect(w.clock.dueTimes).toHaveLength(timers);
  expect(w.slotsGiven).toBe(w.slotsGivenAtStop);
  expect(w.releases).toEqual([]);
}

const checks: Record<string, (w: W) => unknown> = {
  off: (w) => expect(w.actor).toBeUndefined(),
  locking,
  lockingOnce: locking,
  refused: (w) => {
    endedUnlocked(w);
    expect(w.snapshot.output).toEqual({ counts: ZERO, refused: LOCK_OWNER });
  },
  lockFailed: (w) => {
    endedUnlocked(w);
    expect(w.snapshot.output).toEqual({ counts: ZERO, lockError: 'EACCES: permission denied, mkdir instance.lock' });
  },
  stoppedUnlocked: (w) => {
    endedUnlocked(w);
    expect(w.snapshot.output).toEqual({ counts: ZERO });
  },
  scanning,
  scanningOnce: scanning,
  watching: (w) => {
    watching(w, {}, []);
    expect(w.snapshot.context.running.size).toBe(0);
    expect(w.clock.dueTimes).toEqual([]);
  },
  intakeX: (w) => {
    watching(w, {}, [X]);
    expect(w.atIntake).toEqual([X]);
  },
  sendingX: (w) => {
    watching(w, { [X]: 'sending' }, [X]);
    expect(w.snapshot.context.running.get(X)?.holdsSlot).toBe(true);
    expect([...w.sends.keys()]).toEqual([X]);
    expect(w.clock.dueTimes).toEqual([]);
  },
  deferredX: (w) => {
    // Its slot is free; its retry timer is the only one set.
    watching(w, { [X]: 'deferred' }, [X]);
    expect(w.snapshot.context.running.get(X)?.holdsSlot).toBe(false);
    expect(w.clock.dueTimes).toEqual([w.clock.now + RETRY_SECONDS * 1000]);
  },
  sendingXIntakeY: (w) => {
    watching(w, { [X]: 'sending' }, [X, Y]);
    expect(w.atIntake).toEqual([Y]);
  },
  sendingXYWaiting: (w) => {
    // Y waits for the lane's tick, a minute after X's send started.
    watching(w, { [X]: 'sending' }, [X, Y]);
    expect(w.snapshot.context.running.has(Y)).toBe(false);
    expect(w.clock.dueTimes).toEqual([w.clock.now + 60_000]);
  },
  sendingXY: (w) => {
    watching(w, { [X]: 'sending', [Y]: 'sending' }, [X, Y]);
    expect([...w.snapshot.context.running.values()].map((r) => r.holdsSlot)).toEqual([true, true]);
    expect(w.clock.dueTimes).toEqual([]);
  },
  drainingIntakeX: (w) => {
    draining(w, {});
    expect(w.atIntake).toEqual([X]);
  },
  drainingSendingX: (w) => draining(w, { [X]: 'sending' }),
  stopping: (w) => stopping(w, 0),
  stoppingIntakeY: (w) => {
    stopping(w, 0);
    expect(w.atIntake).toEqual([Y]);
  },
  stoppingTickPending: (w) => stopping(w, 1),
  releasing: (w) => {
    ledger(w);
    expect(w.where).toBe('releasing');
    expect(w.releases).toEqual([w.handle]);
    expect(w.orders()).toEqual({});
    expect(w.sends.size).toBe(0);
    expect(w.watcherAlive).toBe(false);
    expect(w.intakeAlive).toBe(false);
  },
  stopped: (w) => {
    expect(w.snapshot.status).toBe('done');
    expect(w.snapshot.output).toEqual({ counts: w.expected });
    expect(w.intakeAsked).toEqual(w.expectedAsked);
    expect(w.releases).toEqual([w.handle]);
  },
};

// ---- the model's events, executed against the supervisor ----
const execs: Record<string, (w: W) => unknown> = {
  START_RUN: (w) => w.start('run'),
  START_ONCE: (w) => w.start('once'),
  LOCK_GRANTED: (w) => w.lock.resolve({ ok: true, handle: w.handle }),
  LOCK_HELD: (w) => w.lock.resolve({ ok: false, running: LOCK_OWNER }),
  LOCK_BROKEN: (w) => w.lock.reject(new Error('EACCES: permission denied, mkdir instance.lock')),
  SCAN_FINDS: (w) => {
    w.folder = [X];
    w.expectedAsked.push(X);
    w.inPipeline.add(X);
    // once never takes an entry that is not a file, and says so in its counts.
    if (w.mode === 'once') w.expected.ignored += 1;
    w.scan.resolve({ claimed: [], inbox: [X], notFiles: [NOT_A_FILE] });
  },
  SCAN_FAILS: (w) => w.scan.reject(new Error('EIO: i/o error, scandir')),
  X_ARRIVES: (w) => w.arrives(X),
  Y_ARRIVES: (w) => w.arrives(Y),
  INTAKE_READY: (w) => w.intakeAnswers('ready'),
  INTAKE_DROPS: (w) => {
    w.inPipeline.delete(w.intakeAnswers('dropped'));
    // Left in the order folder: not done, so once counts it queued.
    if (w.mode === 'once') w.expected.queued += 1;
  },
  SEND_OK: (w) => (w.expected.sent += w.finish(w.sendsEnd('accept'))),
  SEND_FAILS: (w) => (w.expected.failed += w.finish(w.sendsEnd('refuse'))),
  // Its file stays claimed for the next start: queued.
  ORDER_CRASHES: (w) => (w.expected.queued += w.finish(w.sendsEnd('crash'))),
  SEND_DEFERS: (w) => {
    const files = w.sendsEnd('defer');
    // run keeps a deferred order in memory until its retry; once (and a stopping run) leave it on disk, queued.
    if (w.mode === 'once' || w.stopRequested) w.expected.queued += w.finish(files);
  },
  RETRY_DUE: (w) => {
    const given = w.slotsGiven;
    w.clock.advance(RETRY_SECONDS * 1000);
    return w.settle().then(() => expect(w.slotsGiven).toBe(given + 1)); // its slot, given back at once
  },
  MINUTE_PASSES: (w) => w.clock.advance(60_000),
  // A report after admission ended (no watcher runs then: a rescan's report already on its way).
  LATE_REPORT: (w) => w.actor!.send({ type: 'FILE.SEEN', fileNames: [Z] }),
  // An order's request for a slot that arrives after the stop: no slot is given.
  LATE_WANTS_SLOT: (w) => w.actor!.send({ type: 'ORDER.WANTS_SLOT', fileName: X, company: COMPANY }),
  STOP: (w) => {
    // Everything not in flight stays on disk for the next start: queued.
    for (const f of [...w.inPipeline]) {
      if (w.sends.has(f)) continue;
      w.inPipeline.delete(f);
      w.expected.queued += 1;
    }
    if (!w.stopRequested) w.slotsGivenAtStop = w.slotsGiven;
    w.stopRequested = true;
    w.actor!.send({ type: 'STOP' });
  },
  RELEASE_OK: (w) => w.release.resolve(),
  RELEASE_FAILS: (w) => w.release.reject(new Error('EPERM: operation not permitted, rmdir instance.lock')),
};

const settled = Object.fromEntries(
  Object.entries(execs).map(([k, f]) => [
    k,
    async (w: W) => {
      await f(w);
      await w.settle();
    },
  ]),
);

const rules = new ModelRules<W>(supervisorModel, checks, settled);
const recorder = new TransitionRecorder(() => true);
const model = createTestModel(supervisorModel);
const shortest = model.getShortestPaths();

/** Each self-loop of the model (never on a shortest path) taken at the end of a shortest path to its state. */
function selfLoopPaths() {
  const out: { description: string; path: (typeof shortest)[number] }[] = [];
  for (const [name, node] of Object.entries(supervisorModel.root.states)) {
    for (const [type, defs] of node.transitions) {
      if (!defs.some((d) => d.target?.[0] === node)) continue;
      const to = shortest.find((p) => p.state.value === name)!;
      out.push({
        description: `${to.description} → ${type} (self-loop)`,
        path: { ...to, steps: [...to.steps, { state: to.state, event: { type } as (typeof to.steps)[number]['event'] }] },
      });
    }
  }
  return out;
}
const paths = [...shortest.map((path) => ({ description: path.description, path })), ...selfLoopPaths()];

afterAll(() => {
  console.log(
    `supervisor model-based run: ${paths.length} paths (${shortest.length} shortest, ${paths.length - shortest.length} self-loops); ` +
      `model ${rules.size.states} states, ${rules.size.events} events, ${rules.size.transitions} transitions; ` +
      `supervisor transitions covered: ${recorder.coverage(supervisorMachine)}`,
  );
});

describe('supervisor, model-based, in-process', () => {
  it('has a check for every model state and an exec for every model event', () => {
    expect(rules.missing()).toEqual({ statesWithoutCheck: [], eventsWithoutExec: [], strayChecks: [], strayExecs: [] });
  });

  for (const { description, path } of paths) {
    it(description, async () => {
      const w = new SupervisorWorld(recorder.record);
      try {
        await model.testPath(path, rules.params(w) as Parameters<typeof model.testPath>[1]);
        rules.walkedPath(path.steps);
      } finally {
        w.stop();
      }
    });
  }

  it('walked every model transition, checked every model state and executed every model event', () => {
    expect(rules.unwalked()).toEqual({ transitions: [], states: [], events: [] });
  });

  it('covered every transition of the real supervisor', () => {
    const missing = recorder.missing(supervisorMachine);
    expect(missing, `not covered:\n${missing.join('\n')}`).toEqual([]);
  });
});
