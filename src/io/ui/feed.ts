/**
 * What the status window learns from the running mailer: the XState
 * inspection events of every order actor (the same stream the bitácora is
 * written from, io/log/transitions.ts) turned into metrics (outcomes, time
 * in `sending`, last success, orders deferred now) and into a "something
 * changed" signal that makes the page's state be computed again.
 *
 * Guarantees: constant work per event (a map lookup; no file or network
 * call), so feeding it never slows the mailer; one small entry per live
 * order actor, dropped when the actor ends.
 */
import type { InspectionEvent } from 'xstate';
import { ORDER_ID_PREFIX } from '../../machines/child-ids.js';
import { laneLabel } from '../../order/lane.js';
import type { MailerMetrics } from './metrics.js';

interface Tracked {
  state: string;
  company: string;
  /** When the current try entered `sending` (ms). */
  sendingSince?: number;
}

type ActorKeys = { id?: string; sessionId?: string };
type OrderSnapshot = { value?: unknown; status?: string; context?: { company?: string } };

/**
 * An `inspect` callback for createMailer: feeds `metrics` and calls
 * `changed` on every state change of an order and on every event the
 * supervisor receives (a new file, a retry), at most once per event.
 */
export function createUiFeed(metrics: MailerMetrics, changed: () => void, now: () => number = Date.now): (event: InspectionEvent) => void {
  const actors = new Map<string, Tracked>();
  return (inspection) => {
    if (inspection.type === '@xstate.event') {
      // Events to the supervisor: new files, watcher notices, slots freed.
      if (!(inspection.actorRef as ActorKeys).id?.startsWith(ORDER_ID_PREFIX)) changed();
      return;
    }
    if (inspection.type !== '@xstate.microstep' && inspection.type !== '@xstate.snapshot') return;
    const ref = inspection.actorRef as ActorKeys;
    if (!ref.id?.startsWith(ORDER_ID_PREFIX)) return;
    const snapshot = inspection.snapshot as OrderSnapshot;
    const key = ref.sessionId ?? ref.id;
    const seen = actors.get(key);
    if (snapshot.status === 'done' || snapshot.status === 'stopped') {
      if (seen?.state === 'deferred') metrics.deferredNow(seen.company, -1);
      actors.delete(key);
      changed();
      return;
    }
    const state = typeof snapshot.value === 'string' ? snapshot.value : undefined;
    if (state === undefined || seen?.state === state) return;
    const company = laneLabel(snapshot.context?.company);
    const at = now();
    if (seen?.state === 'sending' && seen.sendingSince !== undefined) metrics.sendSeconds(seen.company, (at - seen.sendingSince) / 1000);
    if (seen?.state === 'deferred') metrics.deferredNow(seen.company, -1);
    if (state === 'deferred') metrics.deferredNow(company, 1);
    if (state === 'sent') {
      metrics.outcome(company, 'sent');
      metrics.sentAt(company, new Date(at));
    } else if (state === 'failed') metrics.outcome(company, 'failed');
    else if (state === 'deferring') metrics.outcome(company, 'deferred');
    actors.set(key, { state, company, ...(state === 'sending' && { sendingSince: at }) });
    changed();
  };
}
