/**
 * The order machine's types and the pure helpers its actions use: what the
 * machine holds (context), takes (input), gives back (output), and what its
 * named actors take and return. Apart from the machine (order.ts), so that the
 * actors, the supervisor and the transition log take these types without
 * importing the machine's definition.
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
  /** Consecutive starts that found this order in flight (the process ended while reading or sending it). */
  crashes: number;
  /** A state file exists beside the claimed order (so starting work on it must mark it in flight there). */
  persisted: boolean;
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

/** `GO`: the parent grants a slot for a due retry. `TURN`: the order found in flight at a crash may be worked on now (see `holdTurn`). */
export type OrderEvent = { type: 'GO' } | { type: 'TURN' };

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

export interface RouteInput {
  fileName: string;
  orderId: string;
  company: string;
}

export interface NotifyInput {
  fileName: string;
  orderId: string;
  company?: string;
  errors: SerializedError[];
  routing: FailureRouting;
  rejectedRecipients?: SendResult['rejected'];
}

/**
 * The state persisted beside a claimed order while it waits (deferred,
 * blocked, sent but not yet archived); a pure projection of the context.
 * It carries no in-flight mark and no crash count: reaching a normal
 * outcome ends a run of crashes.
 */
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

/** Starts in a row that found an order in flight before it is set aside (ORDER_CRASHED_MAILER) rather than tried again. */
export const CRASH_LIMIT = 2;

/**
 * The context of an order resumed from this machine's claims folder at a
 * start, from its saved state: claimed with no state, or with its in-flight
 * mark, it was in flight when the process ended, one more crash.
 */
export function restoredAtStart(state: PersistedOrderState | undefined): Partial<OrderContext> {
  if (state === undefined) return { crashes: 1, persisted: false };
  return { ...restored(state), crashes: crashesIn(state), persisted: true };
}

/** The crashes a saved state records, its in-flight mark counted as one more (a state file edited by hand counts what it can). */
function crashesIn(state: PersistedOrderState): number {
  const counted = typeof state.crashes === 'number' && state.crashes > 0 ? Math.floor(state.crashes) : 0;
  return counted + (typeof state.inFlightSince === 'number' ? 1 : 0);
}

/**
 * The context of an order just claimed from the order folder, with the state
 * handed over by a machine that gave it back (or none): only an in-flight
 * mark in that state counts as a crash.
 */
export function restoredAtClaim(state: PersistedOrderState | undefined): Partial<OrderContext> {
  if (state === undefined) return {};
  return { ...restored(state), crashes: crashesIn(state), persisted: true };
}

/** The state that marks an order in flight from now (see PersistedOrderState.inFlightSince). */
export function inFlightStateOf(context: OrderContext, now: number): PersistedOrderState {
  return { ...persistedStateOf(context), inFlightSince: now, ...(context.crashes > 0 && { crashes: context.crashes }) };
}

/** Why an order was set aside after CRASH_LIMIT starts found it in flight. */
export function crashError(crashes: number): SerializedError {
  return {
    code: 'ORDER_CRASHED_MAILER',
    message: `the mailer stopped unexpectedly while this order was being read or sent, ${crashes} times in a row; it is set aside so that the other orders are sent`,
    value: String(crashes),
  };
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

/** What a read order puts in the context: the order and where its failures go, or why it cannot be sent and where to report that. */
export function loadedContext(output: LoadOrderOutput): Partial<OrderContext> {
  if (output.ok) return { resolved: output.resolved, routing: routingOf(output.resolved) };
  return { errors: output.errors, lastError: output.errors[0], routing: output.routing };
}
