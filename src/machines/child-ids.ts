/**
 * Ids for the supervisor's order actors: `order:1`, `order:2`, …, each handed
 * back when its actor is stopped and then given to a later order.
 *
 * Why not one id per order (`order:<file name>`): an order actor that
 * finishes sends its parent `xstate.done.actor.<its id>`, and XState
 * memoizes, per state node and per event type, which transitions match an
 * event, for as long as the machine exists. With one id per order, every
 * order sent would leave an entry behind (about 330 bytes; the figures are in
 * docs/benchmark.md), and a mailer that runs for years would run out of
 * heap. Reused ids bound those event types by the largest number of order
 * actors alive at once.
 *
 * Guarantees: an id is never given to two live actors, provided each is given
 * back only after the supervisor has stopped (or enqueued the stop of) its
 * actor; the supervisor finds an actor by file name through its `running`
 * entry, never by parsing the id.
 */
/** Every order actor's id starts with this (the transition logger and the supervisor's crash guard rely on it). */
export const ORDER_ID_PREFIX = 'order:';

/** What XState sends a parent when a child actor failed with an exception: this, then the child's id. */
const ACTOR_ERROR_PREFIX = 'xstate.error.actor.';

/**
 * The id of the order actor whose crash this event type reports (an exception
 * in one of its steps), or undefined when it reports none (another event, or
 * another actor's error). Shared by the supervisor, which frees the order,
 * and the transition logger, which logs it.
 */
export function crashedOrderId(eventType: string): string | undefined {
  if (!eventType.startsWith(ACTOR_ERROR_PREFIX + ORDER_ID_PREFIX)) return undefined;
  return eventType.slice(ACTOR_ERROR_PREFIX.length);
}

export class ChildIds {
  private readonly free: string[] = [];
  private next = 1;

  /** An id no live order actor holds. */
  take(): string {
    return this.free.pop() ?? `${ORDER_ID_PREFIX}${this.next++}`;
  }

  /** Gives back the id of an actor that has been stopped. */
  give(id: string): void {
    this.free.push(id);
  }

  /** Ids ever made (the most order actors alive at once): for tests. */
  get made(): number {
    return this.next - 1;
  }
}
