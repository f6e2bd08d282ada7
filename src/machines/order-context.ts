/**
 * The order machine's types and the pure helpers its actions use: what the
 * machine holds (context), takes (input), gives back (output), and what its
 * named actors take and return. Split from order.ts to keep each file small.
 */
import type { SerializedError } from '../errors.js';
import type { Address } from '../order/types.js';
import type { OrderLocation, PersistedOrderState, ResolvedOrder, ResolvedSmtp, SendResult } from '../ports.js';

/**
 * What `claimOrder` resolves with: whether this machine won the file, and the
 * retry state that came with it when another machine gave it back (taken over
 * after a crash): its try count, next-try time and, above all, `sentAt`, so a
 * message already accepted is archived rather than sent again. A plain boolean
 * means "won, nothing came with it".
 */
export type ClaimOutput = boolean | { won: boolean; state?: PersistedOrderState };

export function claimedState(output: ClaimOutput): PersistedOrderState | undefined {
  return typeof output === 'object' && output.won ? output.state : undefined;
}

export type OrderOutcome = 'sent' | 'failed' | 'deferred' | 'lost' | 'skipped';

export interface OrderInput {
  fileName: string;
  orderId: string;
  company: string;
  /** `inbox`: claim it first; `claimed`: resumed from this machine's work area. */
  location: OrderLocation;
  /** Seconds before each further try; used up = permanent failure. */
  retrySchedule: readonly number[];
}

/** Where a failure report goes, when the order could be read that far. */
export interface FailureRouting {
  company?: string;
  errorMail: Address[];
  smtp?: ResolvedSmtp;
  from?: Address;
}

export type LoadOrderOutput =
  | { ok: true; resolved: ResolvedOrder; warnings: string[] }
  | { ok: false; errors: SerializedError[]; routing: FailureRouting };

export interface OrderContext extends OrderInput {
  attempts: number;
  firstSeenAt: number;
  nextTryAt?: number;
  sentAt?: number;
  resolved?: ResolvedOrder;
  routing?: FailureRouting;
  /** Why the order failed for good (every reason found). */
  errors: SerializedError[];
  lastError?: SerializedError;
  result?: SendResult;
  outcome?: OrderOutcome;
}

export type OrderEvent = { type: 'GO' };

export interface OrderOutput {
  fileName: string;
  orderId: string;
  company: string;
  outcome: OrderOutcome;
  attempts: number;
  errors: SerializedError[];
}

export interface ArchiveFailedInput {
  fileName: string;
  orderId: string;
  errors: SerializedError[];
  attempts: number;
}

export interface NotifyInput {
  fileName: string;
  orderId: string;
  company?: string;
  errors: SerializedError[];
  routing: FailureRouting;
  rejectedRecipients?: SendResult['rejected'];
}

/** The state persisted beside a claimed order; a pure projection of the context. */
export function persistedStateOf(context: OrderContext): PersistedOrderState {
  return {
    attempts: context.attempts,
    firstSeenAt: context.firstSeenAt,
    company: context.company,
    ...(context.nextTryAt !== undefined && { nextTryAt: context.nextTryAt }),
    ...(context.lastError !== undefined && { lastError: context.lastError }),
    ...(context.sentAt !== undefined && { sentAt: context.sentAt }),
    ...(context.resolved !== undefined && { afterSend: context.resolved.afterSend }),
  };
}

export function errorOf(event: { error?: unknown }): SerializedError {
  const error = event.error as { toJSON?: () => SerializedError; code?: string; message?: string } | undefined;
  if (error && typeof error.toJSON === 'function') return error.toJSON();
  return { code: (error?.code as SerializedError['code']) ?? 'INTERNAL', message: error?.message ?? String(error) };
}

export function restored(state: PersistedOrderState): Partial<OrderContext> {
  return {
    attempts: state.attempts,
    firstSeenAt: state.firstSeenAt,
    ...(state.nextTryAt !== undefined && { nextTryAt: state.nextTryAt }),
    ...(state.lastError !== undefined && { lastError: state.lastError }),
    ...(state.sentAt !== undefined && { sentAt: state.sentAt }),
  };
}

export function routingOf(resolved: ResolvedOrder | undefined): FailureRouting | undefined {
  if (!resolved) return undefined;
  return { company: resolved.company, errorMail: resolved.errorMail, smtp: resolved.smtp, from: resolved.from };
}
