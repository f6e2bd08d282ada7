/**
 * Per-company lanes: the unit of fairness. Pure bookkeeping (no timers, no
 * I/O); the supervisor asks it who may go now and when to ask again.
 *
 * Guarantees:
 * - A lane never has more than `window` orders holding a slot at once, and
 *   never starts more than `perMinute` sends in any 60-second span.
 * - Lanes are independent: a backlog of thousands in one lane does not change
 *   when another lane's order is granted (each grant round visits every lane).
 * - Work is FIFO within a lane: new orders and due retries queue together.
 * - Memory per waiting order is one small record; no order content is held.
 */

export interface LaneLimits {
  /** Simultaneous SMTP connections (the transport pool's size). */
  maxConnections: number;
  /** Sends started per minute; null = unlimited. */
  perMinute: number | null;
}

/** An order waiting for its first slot: not yet an actor. */
export interface PendingOrder {
  fileName: string;
  orderId: string;
  company: string;
  location: 'inbox' | 'claimed';
}

export type Grant = { kind: 'spawn'; order: PendingOrder } | { kind: 'resume'; fileName: string; company: string };

type QueueItem = Grant;

/** The sliding window `perMinute` counts a lane's starts in. */
const RATE_WINDOW_MS = 60_000;

/**
 * How many orders of one lane may hold a slot. Slightly more than the
 * connection count so the pool always has the next message ready while the
 * previous one is being claimed, read or archived; the pool itself never opens
 * more than `maxConnections` connections.
 */
export function windowFor(limits: LaneLimits): number {
  return limits.maxConnections * 2;
}

class Lane {
  readonly queue: QueueItem[] = [];
  private head = 0;
  active = 0;
  /** Start times of the sends in the last minute (for perMinute). */
  readonly starts: number[] = [];

  constructor(readonly limits: LaneLimits) {}

  get waiting(): number {
    return this.queue.length - this.head;
  }

  push(item: QueueItem): void {
    this.queue.push(item);
  }

  shift(): QueueItem | undefined {
    if (this.head >= this.queue.length) return undefined;
    const item = this.queue[this.head++];
    // Compact now and then so a long-lived lane does not grow without bound.
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    return item;
  }

  /** Drops start times older than a minute; returns when the next one expires (or undefined). */
  rateWakeAt(now: number): number | undefined {
    while (this.starts.length > 0 && this.starts[0]! <= now - RATE_WINDOW_MS) this.starts.shift();
    if (this.limits.perMinute === null || this.starts.length < this.limits.perMinute) return undefined;
    return this.starts[0]! + RATE_WINDOW_MS;
  }
}

export class LaneScheduler {
  private readonly lanes = new Map<string, Lane>();

  constructor(private readonly limitsFor: (company: string) => LaneLimits) {}

  private lane(company: string): Lane {
    let lane = this.lanes.get(company);
    if (!lane) {
      lane = new Lane(this.limitsFor(company));
      this.lanes.set(company, lane);
    }
    return lane;
  }

  /** A newly detected order joins the back of its company's queue. */
  enqueue(order: PendingOrder): void {
    this.lane(order.company).push({ kind: 'spawn', order });
  }

  /** A deferred order whose retry is due asks for a slot again. */
  requestResume(fileName: string, company: string): void {
    this.lane(company).push({ kind: 'resume', fileName, company });
  }

  /** A slot-holding order finished, or went back to waiting (deferred). */
  release(company: string): void {
    const lane = this.lane(company);
    lane.active = Math.max(0, lane.active - 1);
  }

  /** Every grant possible now, across all lanes. The caller acts on each. */
  grant(now: number): Grant[] {
    const grants: Grant[] = [];
    for (const lane of this.lanes.values()) {
      const window = windowFor(lane.limits);
      while (lane.waiting > 0 && lane.active < window && lane.rateWakeAt(now) === undefined) {
        const item = lane.shift()!;
        lane.active += 1;
        if (lane.limits.perMinute !== null) lane.starts.push(now);
        grants.push(item);
      }
    }
    return grants;
  }

  /** The earliest time a rate-limited lane may grant again, if any lane waits on its rate. */
  nextWakeAt(now: number): number | undefined {
    let earliest: number | undefined;
    for (const lane of this.lanes.values()) {
      if (lane.waiting === 0 || lane.active >= windowFor(lane.limits)) continue;
      const at = lane.rateWakeAt(now);
      if (at !== undefined && (earliest === undefined || at < earliest)) earliest = at;
    }
    return earliest;
  }

  /** Drops a waiting order that will not be spawned (e.g. stopping). Returns how many were dropped. */
  clearWaiting(): number {
    let dropped = 0;
    for (const lane of this.lanes.values()) {
      while (lane.shift()) dropped += 1;
    }
    return dropped;
  }
}
