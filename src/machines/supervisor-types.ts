/**
 * The supervisor machine's types: its input, context, events and output, and
 * the lock and intake protocols it shares with mailer.ts.
 */
import type { ChildIds } from './child-ids.js';
import type { LaneLimits, LaneScheduler, PendingOrder } from './lanes.js';

export type SupervisorMode = 'run' | 'once';

export interface LockInfo {
  pid: number;
  host: string;
  since: string;
}

export type LockResult = { ok: true; handle: { release(): Promise<void> } } | { ok: false; running: LockInfo };

export interface SupervisorInput {
  mode: SupervisorMode;
  retrySchedule: readonly number[];
  limitsFor: (company: string) => LaneLimits;
}

export interface Counts {
  sent: number;
  failed: number;
  /**
   * Not done, left for a later pass (once mode, or at stop): deferred for a
   * retry, or left in the order folder because it could not be read or
   * taken now (held open, access denied, still being written).
   */
  queued: number;
  /** Taken by another mailer. */
  lost: number;
  /** Entries named like an order that are not regular files (links, folders): never taken (once mode). */
  ignored: number;
}

export interface SupervisorContext extends SupervisorInput {
  lanes: LaneScheduler;
  /** File names in the pipeline: intake, lane queues, actors. */
  known: Set<string>;
  /** Spawned order actors by file name: their actor id, company, and whether they hold a slot. */
  running: Map<string, { childId: string; company: string; holdsSlot: boolean }>;
  /** Reusable actor ids (see child-ids.ts: why not one id per order). */
  childIds: ChildIds;
  counts: Counts;
  lock?: { release(): Promise<void> };
  refused?: LockInfo;
  lockError?: string;
}

/** What the startup scan found: claimed orders to resume, orders waiting, and entries named like orders that are not files. */
export interface ScanResult {
  claimed: string[];
  inbox: string[];
  notFiles?: string[];
}

export type SupervisorEvent =
  /** Names the watcher saw, in one event per batch (a rescan of 100,000 files is one event, not 100,000). */
  | { type: 'FILE.SEEN'; fileNames: string[] }
  | { type: 'INTAKE.READY'; order: PendingOrder }
  | { type: 'INTAKE.DROPPED'; fileName: string; reason: string }
  | { type: 'ORDER.DEFERRED'; fileName: string; company: string; nextTryAt?: number; attempts: number }
  | { type: 'ORDER.WANTS_SLOT'; fileName: string; company: string }
  | { type: 'LANES.TICK' }
  | { type: 'STOP' };

export interface SupervisorOutput {
  refused?: LockInfo;
  lockError?: string;
  counts: Counts;
}

/** Events the intake actor receives from the supervisor: files to read, in batches. */
export type IntakeEvent = { type: 'INTAKE.FILES'; files: { fileName: string; location: 'inbox' | 'claimed' }[] };
