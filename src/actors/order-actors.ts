/**
 * The real implementations of the order machine's named actors: thin
 * `fromPromise` wrappers over the store, the parser, the resolver, the sender
 * and the notifier. `main.ts` passes them to `orderMachine.provide(...)`;
 * tests pass the same factory real temp folders and a local SMTP server.
 */
import { fromCallback, fromPromise, type EventObject } from 'xstate';
import type { Config } from '../config/types.js';
import { ErrorCodes, toMailerError, type MailerError, type SerializedError } from '../errors.js';
import { describeError, renderErrorNote } from '../text/errors.js';
import type { ArchiveFailedInput, ClaimOutput, FailureRouting, LoadOrderOutput, NotifyInput, RouteInput } from '../machines/order-context.js';
import { parseOrder } from '../order/parse.js';
import { resolveOrder, resolvePartial } from '../order/resolve.js';
import { orderIdOf, type AfterSend, type ParseResult } from '../order/types.js';
import { incompleteError } from '../order/complete.js';
import type { Notifier, OrderStore, PersistedOrderState, ResolvedOrder, Sender, SendResult } from '../ports.js';
import type { ResolvedAttachment } from '../ports.js';
import type { RecentParses } from './parse-cache.js';
import { withEnvelope } from '../order/envelope.js';
import type { AcuseBook } from '../io/store/acuse.js';

export interface OrderActorDeps {
  config: Config;
  store: OrderStore;
  sender: Sender;
  notifier: Notifier;
  /** Resolves and checks every attachment of an order (containment, readability). */
  resolveAttachments: (resolved: ResolvedOrder) => Promise<ResolvedAttachment[]>;
  /** The intake's parses of recent orders, reused when the claimed bytes are identical. */
  recentParses?: RecentParses;
  /** Called with every password met in an order, so the logger can mask it anywhere. */
  registerSecret?: (secret: string) => void;
  /** Unknown elements are logged once per order. */
  onWarnings?: (fileName: string, warnings: string[]) => void;
  /** Parses an order's bytes (io/parse/thread.ts: large ones off the main thread); default: here. */
  parse?: (bytes: Buffer, fileName: string) => Promise<ParseResult>;
  /** Parses in isolation (a worker), for an order suspected of having stopped the mailer; default: not read at all. */
  parseIsolated?: (bytes: Buffer, fileName: string) => Promise<ParseResult>;
  /** Called as an order starts being read (main.ts's test hook that ends the process there). */
  onLoad?: (fileName: string) => void;
  /** Reads a company's HTML envelope (io/host/envelope.ts), rejecting with ENVELOPE_MISSING / ENVELOPE_INVALID; absent = bodies sent as they are. */
  readEnvelope?: (file: string, key: string) => Promise<string>;
  /** The acuse de envío of each send (io/store/acuse.ts); none when absent. */
  acuse?: Pick<AcuseBook, 'begin' | 'accepted' | 'abandon'>;
  /** Called once the server accepted an order's message and its acuse was written, before it is archived (the test hook that ends the process there). */
  onSent?: (fileName: string) => void;
}

/** What `loadOrder` is asked: `quiet` when the order was read before (a retry), so its warnings are not logged again. */
export interface LoadOrderOptions {
  quiet?: boolean;
}

/** Reads, parses and resolves an order: pure functions over the bytes the store returns. */
export async function loadOrder(deps: OrderActorDeps, fileName: string, options: LoadOrderOptions = {}): Promise<LoadOrderOutput> {
  deps.onLoad?.(fileName);
  let bytes: Buffer;
  try {
    bytes = await deps.store.read(fileName, 'claimed');
  } catch (error) {
    // Refused by its size alone (nothing read): it fails like any order the parser refuses.
    if ((error as MailerError).code !== ErrorCodes.ORDER_TOO_LARGE) throw error;
    return { ok: false, errors: [(error as MailerError).toJSON()], routing: resolvePartial({ id: orderIdOf(fileName) ?? fileName, fileName }, deps.config) };
  }
  const parsed = deps.recentParses?.take(fileName, bytes) ?? (deps.parse ? await deps.parse(bytes, fileName) : parseOrder(bytes, fileName));
  if (!parsed.ok) {
    // A document cut short says so, instead of the parser's "unclosed tag at line 1".
    const incomplete = incompleteError(bytes, parsed.errors);
    return {
      ok: false,
      errors: incomplete ? [incomplete.toJSON()] : parsed.errors.map((e) => e.toJSON()),
      routing: resolvePartial(parsed.partial, deps.config),
    };
  }
  const { order } = parsed;
  if (order.smtp.password) deps.registerSecret?.(order.smtp.password);
  if (parsed.warnings.length > 0 && options.quiet !== true) deps.onWarnings?.(fileName, parsed.warnings);
  const result = resolveOrder(order, deps.config);
  if (!result.ok) {
    return {
      ok: false,
      errors: result.errors.map((e) => e.toJSON()),
      routing: resolvePartial(
        { id: order.id, fileName, company: order.company, smtp: order.smtp, from: order.from, errorMail: order.errorMail },
        deps.config,
      ),
    };
  }
  if (result.resolved.smtp.password) deps.registerSecret?.(result.resolved.smtp.password);
  return { ok: true, resolved: result.resolved, warnings: parsed.warnings };
}

/**
 * Where to report an order set aside because it stopped the mailer: what the
 * order itself says when it can be read in isolation (a worker, which an
 * order that exhausts memory or time cannot take down with it), else its
 * company's profile or the configuration. Never throws.
 */
export async function routeSetAside(deps: OrderActorDeps, { fileName, orderId, company }: RouteInput): Promise<FailureRouting> {
  const fallback = resolvePartial({ id: orderId, fileName, ...(company !== '?' && { company }) }, deps.config);
  if (deps.parseIsolated === undefined) return fallback;
  try {
    const parsed = await deps.parseIsolated(await deps.store.read(fileName, 'claimed'), fileName);
    const known = parsed.ok ? parsed.order : parsed.partial;
    if (known.smtp?.password) deps.registerSecret?.(known.smtp.password);
    return resolvePartial(
      { id: orderId, fileName, company: known.company ?? fallback.company, smtp: known.smtp, from: known.from, errorMail: known.errorMail },
      deps.config,
    );
  } catch {
    return fallback;
  }
}

/**
 * One turn at a time, first come first served: `take` calls `granted` when
 * the turn is its own, and returns what gives it back (or withdraws the
 * request, if it is still waiting). Giving back twice is harmless.
 */
export class TurnGate {
  private holder: object | undefined;
  private readonly waiting: { key: object; granted: () => void }[] = [];

  take(granted: () => void): () => void {
    const key = {};
    this.waiting.push({ key, granted });
    this.next();
    return () => {
      const at = this.waiting.findIndex((w) => w.key === key);
      if (at !== -1) this.waiting.splice(at, 1);
      if (this.holder === key) {
        this.holder = undefined;
        this.next();
      }
    };
  }

  private next(): void {
    if (this.holder !== undefined) return;
    const first = this.waiting.shift();
    if (first === undefined) return;
    this.holder = first.key;
    first.granted();
  }
}

export function createOrderActors(deps: OrderActorDeps) {
  const lang = deps.config.language;
  /** Orders found in flight at a crash are worked on one at a time (see the order machine's `holdTurn`). */
  const suspects = new TurnGate();
  return {
    holdTurn: fromCallback<EventObject, { fileName: string }>(({ sendBack }) => suspects.take(() => sendBack({ type: 'TURN' }))),
    // A claim may bring the state of an order another machine gave back (store.claim adopts it): load it with the claim.
    claimOrder: fromPromise<ClaimOutput, { fileName: string }>(async ({ input }) => {
      if (!(await deps.store.claim(input.fileName))) return false;
      const state = await deps.store.loadState(input.fileName).catch(() => undefined);
      return state ? { won: true, state } : true;
    }),
    loadState: fromPromise<PersistedOrderState | undefined, { fileName: string }>(({ input }) =>
      deps.store.loadState(input.fileName),
    ),
    loadOrder: fromPromise<LoadOrderOutput, { fileName: string; quiet?: boolean }>(({ input }) => loadOrder(deps, input.fileName, { quiet: input.quiet === true })),
    routeOrder: fromPromise<FailureRouting, RouteInput>(({ input }) => routeSetAside(deps, input)),
    sendOrder: fromPromise<SendResult, { resolved: ResolvedOrder; firstSeenAt?: number }>(async ({ input }) => {
      // Every attachment is checked before the SMTP conversation starts: never a partial e-mail.
      const attachments = await deps.resolveAttachments(input.resolved);
      // The company's HTML envelope, read with the attachments: a missing one fails the order before anything is sent.
      const envelope = input.resolved.envelope;
      const resolved =
        envelope === undefined || deps.readEnvelope === undefined
          ? input.resolved
          : withEnvelope(input.resolved, await deps.readEnvelope(envelope.file, envelope.key));
      const acuseOrder = { resolved: input.resolved, ...(input.firstSeenAt !== undefined && { detectedAt: input.firstSeenAt }) };
      // The try is on record before the message can reach the server: a process that ends meanwhile leaves it as "unknown".
      const startedAt = deps.acuse === undefined ? 0 : await deps.acuse.begin(acuseOrder);
      let result: SendResult;
      try {
        // Still ours? A machine that was stopped past the stale-claim time (frozen,
        // asleep, cut off) finds here that another one took the order over, and
        // sends nothing (CLAIM_LOST). Checked last: from here to the message being
        // posted to the SMTP worker nothing waits (composing is synchronous), so
        // only a message already handed over when the takeover happened can be
        // sent by both machines (the spec's in-flight bound).
        await deps.store.confirmClaim(input.resolved.order.fileName);
        result = await deps.sender.send(resolved, attachments);
      } catch (error) {
        await deps.acuse?.abandon(acuseOrder, startedAt);
        throw error;
      }
      // Never fails the order: a record that cannot be written is reported by the book (acuse.missing).
      await deps.acuse?.accepted(acuseOrder, startedAt, result);
      deps.onSent?.(input.resolved.order.fileName);
      // The kept bytes are on disk (or reported); the machine's context must not hold them.
      if (result.proof?.eml === undefined) return result;
      const { eml: _kept, ...proof } = result.proof;
      return { ...result, proof };
    }),
    saveState: fromPromise<void, { fileName: string; state: PersistedOrderState }>(({ input }) =>
      deps.store.saveState(input.fileName, input.state),
    ),
    archiveSent: fromPromise<void, { fileName: string; afterSend: AfterSend }>(({ input }) =>
      deps.store.archiveSent(input.fileName, input.afterSend),
    ),
    archiveFailed: fromPromise<void, ArchiveFailedInput>(({ input }) =>
      deps.store.archiveFailed(
        input.fileName,
        renderErrorNote(
          { fileName: input.fileName, orderId: input.orderId, errors: input.errors, at: new Date(), attempts: input.attempts },
          lang,
        ),
      ),
    ),
    notifyFailure: fromPromise<void, NotifyInput>(async ({ input }) => {
      const error: SerializedError =
        input.errors[0] ??
        toMailerError(new Error('some recipients were refused'), 'SMTP_PERMANENT').toJSON();
      const reason = input.errors.length > 0 ? input.errors.map((e) => describeError(e, lang)).join(' ') : '';
      await deps.notifier.notify({
        orderId: input.orderId,
        fileName: input.fileName,
        ...(input.company !== undefined && { company: input.company }),
        error,
        reason,
        to: input.routing.errorMail,
        ...(input.routing.smtp && { smtp: input.routing.smtp }),
        ...(input.routing.from && { from: input.routing.from }),
        ...(input.rejectedRecipients && { rejectedRecipients: input.rejectedRecipients }),
      });
    }),
  };
}
