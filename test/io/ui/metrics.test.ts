/**
 * The status window's metrics (src/io/ui/metrics.ts) and what feeds them
 * (src/io/ui/feed.ts): Prometheus text in a registry of its own, hostile
 * company names escaped, outcomes and latency from the order actors' states.
 */
import { register as globalRegistry } from 'prom-client';
import type { InspectionEvent } from 'xstate';
import { describe, expect, it } from 'vitest';
import { createUiFeed } from '../../../src/io/ui/feed.js';
import { createMailerMetrics } from '../../../src/io/ui/metrics.js';
import { ORDER_ID_PREFIX } from '../../../src/machines/child-ids.js';

/** The inspection event XState emits when order actor `session` of `company` enters `state`. */
function entered(session: string, company: string, state: string, status = 'active'): InspectionEvent {
  return {
    type: '@xstate.snapshot',
    actorRef: { id: `${ORDER_ID_PREFIX}${session}`, sessionId: session },
    snapshot: { value: state, status, context: { company } },
  } as unknown as InspectionEvent;
}

describe('metrics', () => {
  it('a hostile company name stays one label value: no line is broken and no series forged', async () => {
    const metrics = createMailerMetrics();
    const hostile = 'ACME"} 1\nproscai_mailer_forged_total{x="y\\';
    metrics.outcome(hostile, 'sent');
    metrics.sentAt(hostile, new Date(1_700_000_000_000));
    metrics.sendSeconds(hostile, 0.3);
    const { body, contentType } = await metrics.render();
    expect(contentType).toMatch(/^text\/plain/);
    expect(body.split('\n').filter((l) => l.startsWith('proscai_mailer_forged_total'))).toEqual([]);
    expect(body).toContain('proscai_mailer_orders_total{company="ACME\\"} 1\\nproscai_mailer_forged_total{x=\\"y\\\\",outcome="sent"} 1');
    expect(body).toContain('proscai_mailer_last_success_timestamp_seconds{company="ACME\\"} 1\\nproscai_mailer_forged_total{x=\\"y\\\\"} 1700000000');
    // Its own registry: nothing in prom-client's global one.
    expect(await globalRegistry.metrics()).not.toContain('proscai_mailer');
  });

  it('counts outcomes, time in sending, the last success and the orders deferred now, per company', async () => {
    const metrics = createMailerMetrics();
    let now = 1_000_000;
    let changes = 0;
    const feed = createUiFeed(metrics, () => changes++, () => now);
    feed(entered('a', 'ACME', 'sending'));
    now += 1500;
    feed(entered('a', 'ACME', 'sent'));
    feed(entered('b', 'BETA', 'sending'));
    now += 200;
    feed(entered('b', 'BETA', 'retryOrGiveUp'));
    feed(entered('b', 'BETA', 'deferring'));
    feed(entered('b', 'BETA', 'deferred'));
    feed(entered('c', 'BETA', 'deferring'));
    feed(entered('c', 'BETA', 'deferred'));
    feed(entered('c', 'BETA', 'deferred')); // the same state again: nothing
    feed(entered('b', 'BETA', 'waiting'));
    feed(entered('d', 'GAMMA', 'failed'));
    feed(entered('c', 'BETA', 'deferred', 'stopped')); // dismissed at the end of a pass
    const { body } = await metrics.render();
    expect(body).toContain('proscai_mailer_orders_total{company="ACME",outcome="sent"} 1');
    expect(body).toContain('proscai_mailer_orders_total{company="BETA",outcome="deferred"} 2');
    expect(body).toContain('proscai_mailer_orders_total{company="GAMMA",outcome="failed"} 1');
    expect(body).toContain('proscai_mailer_send_duration_seconds_sum{company="ACME"} 1.5');
    expect(body).toContain('proscai_mailer_send_duration_seconds_bucket{le="2.5",company="ACME"} 1');
    expect(body).toContain('proscai_mailer_send_duration_seconds_bucket{le="1",company="ACME"} 0');
    expect(body).toContain('proscai_mailer_send_duration_seconds_count{company="BETA"} 1');
    expect(body).toContain('proscai_mailer_last_success_timestamp_seconds{company="ACME"} 1001.5');
    expect(body).toContain('proscai_mailer_deferred_orders{company="BETA"} 0');
    expect(changes).toBe(11); // one per state change, none for the repeated state

    metrics.fromStatus([{ company: 'ACME', waiting: 3, failed24h: 1 }]);
    metrics.fromStatus([{ company: 'BETA', waiting: 2, failed24h: 0 }]);
    const after = (await metrics.render()).body;
    expect(after).toContain('proscai_mailer_waiting_orders{company="BETA"} 2');
    expect(after).not.toContain('proscai_mailer_waiting_orders{company="ACME"}');
  });
});
