/**
 * The real implementations of the order machine's named actors: thin
 * `fromPromise` wrappers over the store, the parser, the resolver, the sender
 * and the notifier. `main.ts` passes them to `orderMachine.provide(...)`;
 * tests pass the same factory real temp folders and a local SMTP server.
 */
import { fromPromise } from 'xstate';
import type { Config } from '../config/types.js';
import { toMailerError, type SerializedError } from '../errors.js';
import { describeError, renderErrorNote } from '../i18n.js';
import type { ArchiveFailedInput, ClaimOutput, LoadOrderOutput, NotifyInput } from '../machines/order.js';
import { parseOrder } from '../order/parse.js';
import { resolveOrder, resolvePartial } from '../order/resolve.js';
import type { AfterSend } from '../order/types.js';
import type { Notifier, OrderStore, PersistedOrderState, ResolvedOrder, Sender, SendResult } from '../ports.js';
import type { ResolvedAttachment } from '../ports.js';
import type { RecentParses } from './parse-cache.js';

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
}

/** Reads, parses and resolves an order: pure functions over the bytes the store returns. */
export async function loadOrder(deps: OrderActorDeps, fileName: string): Promise<LoadOrderOutput> {
  const bytes = await deps.store.read(fileName, 'claimed');
  const parsed = deps.recentParses?.take(fileName, bytes) ?? parseOrder(bytes, fileName);
  if (!parsed.ok) {
    return {
      ok: false,
      errors: parsed.errors.map((e) => e.toJSON()),
      routing: resolvePartial(parsed.partial, deps.config),
    };
  }
  const { order } = parsed;
  if (order.smtp.password) deps.registerSecret?.(order.smtp.password);
  if (parsed.warnings.length > 0) deps.onWarnings?.(fileName, parsed.warnings);
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

export function createOrderActors(deps: OrderActorDeps) {
  const lang = deps.config.language;
  return {
    // A claim may bring the state of an order another machine gave back (store.claim adopts it): load it with the claim.
    claimOrder: fromPromise<ClaimOutput, { fileName: string }>(async ({ input }) => {
      if (!(await deps.store.claim(input.fileName))) return false;
      const state = await deps.store.loadState(input.fileName).catch(() => undefined);
      return state ? { won: true, state } : true;
    }),
    loadState: fromPromise<PersistedOrderState | undefined, { fileName: string }>(({ input }) =>
      deps.store.loadState(input.fileName),
    ),
    loadOrder: fromPromise<LoadOrderOutput, { fileName: string }>(({ input }) => loadOrder(deps, input.fileName)),
    sendOrder: fromPromise<SendResult, { resolved: ResolvedOrder }>(async ({ input }) => {
      // Every attachment is checked before the SMTP conversation starts: never a partial e-mail.
      const attachments = await deps.resolveAttachments(input.resolved);
      return deps.sender.send(input.resolved, attachments);
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
