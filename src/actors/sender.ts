/**
 * The sender: resolved order and its checked attachments → composed message →
 * pooled SMTP transport of the order's lane.
 *
 * Guarantees: every failure is a MailerError whose code tells retry from
 * fail (`classifySendError`, errors.ts): the one the pool rejected with (a
 * pool translates a failed send once, io/smtp/pool.ts), passed on as it is;
 * anything else a pool broke its promise with is INTERNAL. The attachments come
 * resolved and checked by the caller (actors/order-actors.ts `sendOrder`,
 * before any SMTP traffic), so a bad one never becomes a partial e-mail.
 */
import { toMailerError } from '../errors.js';
import type { SmtpSendInfo, TransportPool } from '../io/smtp/transport-pool.js';
import { composeMessage } from '../order/compose.js';
import type { ResolvedAttachment, ResolvedOrder, Sender, SendResult } from '../ports.js';

export interface SenderDeps {
  pool: TransportPool;
  /** Connections the company (the lane) may hold at once (Config / company profile). */
  maxConnectionsFor(company: string): number;
}

export function createSender(deps: SenderDeps): Sender {
  async function send(resolved: ResolvedOrder, attachments: ResolvedAttachment[]): Promise<SendResult> {
    const message = composeMessage(resolved, attachments);
    try {
      const info = await deps.pool.send(resolved.smtp, resolved.company, deps.maxConnectionsFor(resolved.company), message);
      return toSendResult(info, resolved.messageId);
    } catch (err) {
      throw toMailerError(err);
    }
  }

  return { send, close: () => deps.pool.closeAll() };
}

/**
 * SendResult from nodemailer's info. `rejected` lists every recipient the
 * server refused while it accepted the message for the others (normally a
 * 5xx; a 4xx-deferred recipient shows its reply too, as it will not be tried
 * again with this message).
 */
export function toSendResult(info: SmtpSendInfo, fallbackMessageId: string): SendResult {
  const responses = new Map<string, string>();
  for (const err of info.rejectedErrors ?? []) {
    if (err.recipient !== undefined && err.response !== undefined) responses.set(err.recipient, err.response);
  }
  return {
    messageId: info.messageId || fallbackMessageId,
    accepted: (info.accepted ?? []).map(String),
    rejected: (info.rejected ?? []).map((address) => {
      const response = responses.get(address);
      return response === undefined ? { address } : { address, response };
    }),
    response: info.response ?? '',
    ...(info.proof !== undefined && { proof: info.proof }),
  };
}
