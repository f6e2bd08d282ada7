/**
 * Failure notifications (spec §3: a permanent failure is told to
 * `CorreoErrores`). One e-mail per report today; `deliver` already takes a
 * list of reports for one recipient set, so batching per minute
 * (Config.notifyEverySeconds) can be added in front of it without changing
 * how messages are built or sent.
 *
 * Guarantee: `notify` never rejects. A notification that cannot be sent (no
 * SMTP server known, server down, refused) is logged and dropped: it must
 * never turn into a failure of the order it reports on.
 */
import { hostname } from 'node:os';

import type { Language } from '../config/types.js';
import { renderNotification } from '../i18n.js';
import { toSendError } from '../machines/classify.js';
import type { Address } from '../order/types.js';
import type { FailureReport, Notifier, ResolvedSmtp } from '../ports.js';
import type { TransportPool } from './smtp.js';

export interface NotifierLogger {
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface NotifierDeps {
  pool: TransportPool;
  language: Language;
  /** Server used when a report carries none (e.g. the top-level `smtp` of the configuration). */
  defaultSmtp?: ResolvedSmtp;
  /** Sender used when a report carries none. */
  defaultFrom?: Address;
  logger?: NotifierLogger;
}

/** Header naming the order a notification is about. */
export const NOTIFICATION_HEADER = 'X-Proscai-Notification';

/** Lane of the transport pool used for notifications: apart from every company's lane. */
export const NOTIFY_LANE = '\u0000notifications';

export function createNotifier(deps: NotifierDeps): Notifier {
  const logger = deps.logger ?? silentLogger;

  /** Sends one notification covering `reports` (all with the same recipients and server). */
  async function deliver(reports: FailureReport[]): Promise<void> {
    const first = reports[0];
    if (first === undefined || first.to.length === 0) return;
    const smtp = first.smtp ?? deps.defaultSmtp;
    const orders = reports.map((r) => r.orderId);
    if (smtp === undefined) {
      logger.warn({ orders, to: first.to.map((a) => a.address) }, 'failure notification not sent: no SMTP server known');
      return;
    }
    const from = first.from ?? deps.defaultFrom ?? { name: 'proscai-mailer', address: `proscai-mailer@${hostname()}` };
    const { subject, text } = renderNotification(reports, deps.language);
    try {
      await deps.pool.send(smtp, NOTIFY_LANE, 1, {
        from: from.name === '' ? from.address : { name: from.name, address: from.address },
        to: first.to.map((a) => (a.name === '' ? a.address : { name: a.name, address: a.address })),
        subject,
        text,
        headers: { [NOTIFICATION_HEADER]: orders.join(', ') },
        disableFileAccess: true,
        disableUrlAccess: true,
      });
    } catch (err) {
      const error = toSendError(err, { secrets: [smtp.password] });
      logger.error({ orders, to: first.to.map((a) => a.address), err: error.toJSON() }, 'failure notification not sent');
    }
  }

  return {
    async notify(report: FailureReport): Promise<void> {
      try {
        await deliver([report]);
      } catch (err) {
        // deliver already catches send errors; this guards rendering and logging bugs.
        logger.error({ order: report.orderId, err: String(err) }, 'failure notification not sent');
      }
    },
    close: () => deps.pool.closeAll(),
  };
}

const silentLogger: NotifierLogger = { warn: () => undefined, error: () => undefined };
