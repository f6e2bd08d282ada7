/**
 * The system under test for the supervisor's model-based run: the real
 * supervisor machine, spawning the real order machine, with every effect an
 * in-process fake the test controls: the lock, the scan and the release
 * resolve when the test says; the intake reports a file ready or dropped
 * when told; the watcher reports names when told; each order's send is
 * pending until the test accepts, refuses or defers it. Time is a fake clock
 * (the supervisor's lane tick and the order's retry timer both run on it,
 * and `Date.now` reads it), so a minute passes in no time and exactly.
 *
 * The world also keeps what the test has done and so expects: the names the
 * intake must have been asked about, and the supervisor's counts.
 */
import { vi, type MockInstance } from 'vitest';
import { createActor, fromCallback, fromPromise, type Actor, type AnyActorRef, type InspectionEvent } from 'xstate';
import { MailerError } from '../../src/errors.js';
import { orderMachine } from '../../src/machines/order.js';
import type { ArchiveFailedInput, ClaimOutput, FailureRouting, LoadOrderOutput, NotifyInput, RouteInput } from '../../src/machines/order-context.js';
import { supervisorMachine } from '../../src/machines/supervisor.js';
import type { Counts, IntakeEvent, LockResult, ScanResult, SupervisorEvent, SupervisorMode } from '../../src/machines/supervisor-types.js';
import type { PersistedOrderState, ResolvedOrder, SendResult } from '../../src/ports.js';
import type { AfterSend } from '../../src/order/types.js';

export const X = '_CFD_MAIL_REQ_X.XML';
export const Y = '_CFD_MAIL_REQ_Y.XML';
/** Named like an order, reported only after the supervisor stopped admitting (or in once mode). */
export const Z = '_CFD_MAIL_REQ_Z.XML';
/** An entry named like an order that is not a file (the scan reports it apart). */
export const NOT_A_FILE = '_CFD_MAIL_REQ_LINK.XML';
export const COMPANY = 'ACME';
export const LIMITS = { maxConnections: 1, perMinute: 1 } as const;
export const RETRY_SECONDS = 120;
export const LOCK_OWNER = { pid: 4242, host: 'other-host', since: '2026-01-01T00:00:00.000Z' };
const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);

interface Pending<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}
function pending<T>(): Pending<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

/** XState's clock, moved by hand: `advance` fires what falls due, in time order. */
export class FakeClock {
  now = T0;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();
  private nextId = 1;

  setTimeout = (fn: () => void, ms: number): number => {
    const id = this.nextId++;
    this.timers.set(id, { at: this.now + ms, fn });
    return id;
  };

  clearTimeout = (id: number): void => {
    this.timers.delete(id);
  };

  /** Due times of the timers still set. */
  get dueTimes(): number[] {
    return [...this.timers.values()].map((t) => t.at).sort((a, b) => a - b);
  }

  advance(ms: number): void {
    const until = this.now + ms;
    for (;;) {
      const due = [...this.timers.entries()].filter(([, t]) => t.at <= until).sort((a, b) => a[1].at - b[1].at || a[0] - b[0])[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.now = due[1].at;
      due[1].fn();
    }
    this.now = until;
  }
}

/** A read order with nothing the supervisor looks at: for fakes of `loadOrder`. */
export function fakeResolved(fileName: string, company: string): ResolvedOrder {
  return {
    order: { id: fileName, fileName } as ResolvedOrder['order'],
    company,
    smtp: { host: '127.0.0.1', port: 25, security: 'NINGUNA', timeoutMinutes: 1, rejectUnauthorized: true },
    from: { name: '', address: 'facturas@acme.example' },
    afterSend: 'CONSERVAR',
    logSuccess: false,
    errorMail: [],
    messageId: `<${fileName}@acme.example>`,
  };
}

const accepted = (fileName: string): SendResult => ({ messageId: fileName, accepted: ['cliente@example.com'], rejected: [], response: '250 OK' });

function buildMachine(w: SupervisorWorld) {
  const order = orderMachine.provide({
    actors: {
      claimOrder: fromPromise<ClaimOutput, { fileName: string }>(async () => true),
      loadState: fromPromise<PersistedOrderState | undefined, { fileName: string }>(async () => undefined),
      loadOrder: fromPromise<LoadOrderOutput, { fileName: string }>(async ({ input }) => ({ ok: true, resolved: fakeResolved(input.fileName, COMPANY), warnings: [] })),
      sendOrder: fromPromise<SendResult, { resolved: ResolvedOrder }>(({ input }) => {
        const send = pending<SendResult>();
        w.sends.set(input.resolved.order.fileName, send);
        return send.promise;
      }),
      saveState: fromPromise<void, { fileName: string; state: PersistedOrderState }>(async () => undefined),
      archiveSent: fromPromise<void, { fileName: string; afterSend: AfterSend }>(async () => undefined),
      archiveFailed: fromPromise<void, ArchiveFailedInput>(async () => undefined),
      notifyFailure: fromPromise<void, NotifyInput>(async () => undefined),
      routeOrder: fromPromise<FailureRouting, RouteInput>(async () => ({ errorMail: [] })),
    },
  });
  return supervisorMachine.provide({
    actors: {
      acquireLock: fromPromise<LockResult, void>(() => {
        w.lockRequests += 1;
        return w.lock.promise;
      }),
      releaseLock: fromPromise<void, { handle?: { release(): Promise<void> } }>(({ input }) => {
        w.releases.push(input.handle);
        return w.release.promise;
      }),
      scan: fromPromise<ScanResult, void>(() => {
        w.scans += 1;
        return w.scan.promise;
      }),
      intake: fromCallback<IntakeEvent>(({ receive, sendBack }) => {
        w.intakeAlive = true;
        w.toSupervisorFromIntake = sendBack;
        receive((e) => {
          for (const f of e.files) {
            w.intakeAsked.push(f.fileName);
            w.atIntake.push(f.fileName);
          }
        });
        return () => {
          w.intakeAlive = false;
        };
      }),
      watcher: fromCallback(({ sendBack }) => {
        w.watcherAlive = true;
        w.toSupervisorFromWatcher = sendBack;
        // As chokidar does at its start: every order already in the folder is reported again.
        if (w.folder.length > 0) sendBack({ type: 'FILE.SEEN', fileNames: [...w.folder] });
        return () => {
          w.watcherAlive = false;
        };
      }),
      order,
    },
  });
}

export class SupervisorWorld {
  readonly clock = new FakeClock();
  actor: Actor<ReturnType<typeof buildMachine>> | undefined;
  mode: SupervisorMode = 'run';
  readonly handle = { release: async () => {} };
  lock = pending<LockResult>();
  scan = pending<ScanResult>();
  release = pending<void>();
  lockRequests = 0;
  scans = 0;
  releases: ({ release(): Promise<void> } | undefined)[] = [];
  intakeAlive = false;
  watcherAlive = false;
  /** Names the order folder holds when the watcher starts. */
  folder: string[] = [];
  /** Every name the intake was asked to read, in order. */
  readonly intakeAsked: string[] = [];
  /** Names the intake was asked about and has not answered yet. */
  readonly atIntake: string[] = [];
  /** The send each order in flight waits on, by file name. */
  readonly sends = new Map<string, Pending<SendResult>>();
  toSupervisorFromIntake: ((e: SupervisorEvent) => void) | undefined;
  toSupervisorFromWatcher: ((e: SupervisorEvent) => void) | undefined;

  // ---- what the test expects, from what it did ----
  /** The names the intake must have been asked about, each once per arrival. */
  readonly expectedAsked: string[] = [];
  readonly expected: Counts = { sent: 0, failed: 0, queued: 0, lost: 0, ignored: 0 };
  /** Names admitted and not yet done: at the intake, waiting in the lane, in flight or deferred. */
  readonly inPipeline = new Set<string>();
  stopRequested = false;
  /** Slots given back to deferred orders (GO), and how many had been given when STOP was sent. */
  slotsGiven = 0;
  slotsGivenAtStop = 0;

  private dateNow: MockInstance<() => number> | undefined;

  constructor(private readonly inspect: (event: InspectionEvent) => void) {}

  start(mode: SupervisorMode): void {
    this.mode = mode;
    this.dateNow = vi.spyOn(Date, 'now').mockImplementation(() => this.clock.now);
    const actor = createActor(buildMachine(this), {
      clock: this.clock,
      input: { mode, retrySchedule: [RETRY_SECONDS], limitsFor: () => ({ ...LIMITS }) },
      inspect: (event) => {
        if (event.actorRef === this.actor) this.inspect(event);
        if (event.type === '@xstate.event' && event.event.type === 'GO' && event.sourceRef === this.actor) this.slotsGiven += 1;
      },
    });
    this.actor = actor;
    actor.start();
  }

  stop(): void {
    this.actor?.stop();
    this.dateNow?.mockRestore();
  }

  /** Lets every promise and event in flight run to its end (the fakes resolve in microtasks). */
  async settle(): Promise<void> {
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
  }

  get snapshot() {
    return this.actor!.getSnapshot();
  }

  /** The supervisor's state as a dotted path ('active.watching'). */
  get where(): string {
    const value = this.snapshot.value as string | Record<string, string>;
    return typeof value === 'string' ? value : Object.entries(value).map(([k, v]) => `${k}.${v}`)[0]!;
  }

  /** The order actors alive, by file name, with the state each is in. */
  orders(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [id, child] of Object.entries(this.snapshot.children as Record<string, AnyActorRef | undefined>)) {
      if (!id.startsWith('order:') || !child) continue;
      const snap = child.getSnapshot() as { value: string; context: { fileName: string }; status: string };
      if (snap.status === 'active') out[snap.context.fileName] = snap.value;
    }
    return out;
  }

  /** A name arrives in the order folder and the watcher reports it. */
  arrives(fileName: string): void {
    this.toSupervisorFromWatcher!({ type: 'FILE.SEEN', fileNames: [fileName] });
    this.expectedAsked.push(fileName);
    this.inPipeline.add(fileName);
  }

  /** These orders are done (for the supervisor): returns how many. */
  finish(files: string[]): number {
    for (const f of files) this.inPipeline.delete(f);
    return files.length;
  }

  /** The intake answers for the oldest name it was asked about. */
  intakeAnswers(answer: 'ready' | 'dropped'): string {
    const fileName = this.atIntake.shift()!;
    if (answer === 'ready') {
      this.toSupervisorFromIntake!({ type: 'INTAKE.READY', order: { fileName, orderId: fileName, company: COMPANY, location: 'inbox' } });
    } else {
      // Held open by another program: left in the order folder for the next pass.
      this.toSupervisorFromIntake!({ type: 'INTAKE.DROPPED', fileName, reason: 'held' });
    }
    return fileName;
  }

  /** Every send in flight ends the same way. */
  sendsEnd(how: 'accept' | 'refuse' | 'defer' | 'crash'): string[] {
    const files = [...this.sends.keys()];
    for (const fileName of files) {
      const send = this.sends.get(fileName)!;
      this.sends.delete(fileName);
      if (how === 'accept') send.resolve(accepted(fileName));
      else if (how === 'refuse') send.reject(new MailerError('SMTP_PERMANENT', '550 5.1.1 User unknown', { smtp: { responseCode: 550 } }));
      else if (how === 'defer') send.reject(new MailerError('SMTP_TEMPORARY', '451 4.7.1 Try again later', { smtp: { responseCode: 451 } }));
      // A bug inside the order machine: here a send result that throws when it is read.
      else
        send.resolve({
          ...accepted(fileName),
          get rejected(): SendResult['rejected'] {
            throw new Error(`bug while reading the result of ${fileName}`);
          },
        });
    }
    return files;
  }
}
