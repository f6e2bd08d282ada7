/**
 * The status window's `/metrics`: Prometheus text through prom-client, in a
 * Registry of its own (never prom-client's global one, so two mailers in one
 * test process, or a library that registers defaults, cannot mix their
 * series). Counters count since this process started; gauges say now.
 *
 * Label values are company names from order files, so anything: prom-client
 * escapes `\`, `"` and line breaks in them, so a hostile name cannot break a
 * line or forge another series. Nothing secret is a label or a value.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The outcomes `proscai_mailer_orders_total` counts: a send, a final failure, a failed try that will be retried. */
export type Outcome = 'sent' | 'failed' | 'deferred';

/** Seconds in `sending`: from under a second (a local relay) to the 10-minute maximum TiempoEspera. */
const LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

export interface MailerMetrics {
  /** One order reached an outcome (`deferred`: one failed try). */
  outcome(company: string, outcome: Outcome): void;
  /** One try spent `seconds` in `sending` (whatever came of it). */
  sendSeconds(company: string, seconds: number): void;
  /** A send succeeded at `at`. */
  sentAt(company: string, at: Date): void;
  /** The orders of `company` waiting for a retry now changed by `delta`. */
  deferredNow(company: string, delta: number): void;
  /** The status report's counts, refreshed when the status is computed (waiting, failed in the last 24 h, per company). */
  fromStatus(rows: readonly { company: string; waiting: number; failed24h: number }[]): void;
  /** The exposition text and its content type. */
  render(): Promise<{ contentType: string; body: string }>;
}

export function createMailerMetrics(): MailerMetrics {
  const registry = new Registry();
  const orders = new Counter({
    name: 'proscai_mailer_orders_total',
    help: 'Orders by outcome and company since the mailer started (deferred: failed tries that will be retried).',
    labelNames: ['company', 'outcome'] as const,
    registers: [registry],
  });
  /** A gauge per company in this registry. */
  const perCompany = (name: string, help: string) => new Gauge({ name, help, labelNames: ['company'] as const, registers: [registry] });
  const deferred = perCompany('proscai_mailer_deferred_orders', 'Orders waiting for a retry now, per company.');
  const latency = new Histogram({
    name: 'proscai_mailer_send_duration_seconds',
    help: 'Seconds each try spent sending (SMTP conversation), per company.',
    labelNames: ['company'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const lastSent = perCompany('proscai_mailer_last_success_timestamp_seconds', 'Unix time of the last successful send, per company.');
  const waiting = perCompany('proscai_mailer_waiting_orders', 'Orders waiting in the order folder at the last status computation, per company.');
  const failed24h = perCompany(
    'proscai_mailer_failed_24h_orders',
    'Orders in errores/ that failed in the last 24 hours at the last status computation, per company.',
  );
  return {
    outcome: (company, outcome) => orders.inc({ company, outcome }),
    sendSeconds: (company, seconds) => latency.observe({ company }, seconds),
    sentAt: (company, at) => lastSent.set({ company }, at.getTime() / 1000),
    deferredNow: (company, delta) => deferred.inc({ company }, delta),
    fromStatus: (rows) => {
      waiting.reset();
      failed24h.reset();
      for (const row of rows) {
        waiting.inc({ company: row.company }, row.waiting);
        failed24h.inc({ company: row.company }, row.failed24h);
      }
    },
    render: async () => ({ contentType: registry.contentType, body: await registry.metrics() }),
  };
}
