/**
 * The sender: resolved order → checked attachments → composed message →
 * pooled SMTP transport of the order's lane. And `createSendLogic`, the XState
 * actor logic the order machine invokes to do exactly that.
 *
 * Guarantees: attachments are all checked before any SMTP traffic (a bad one
 * fails the order and nothing is sent, never a partial e-mail); every failure
 * is a MailerError whose code tells retry from fail (io/smtp/errors.ts).
 */
import { fromPromise } from 'xstate';

import { ErrorCodes, MailerError } from '../errors.js';
import { resolveAttachments, type AttachmentOptions } from '../io/store/attachments.js';
import type { SmtpSendInfo, TransportPool } from '../io/smtp/pool.js';
import { toSendError } from '../io/smtp/errors.js';
import { composeMessage } from '../order/compose.js';
import type { ResolvedAttachment, ResolvedOrder, Sender, SendResult } from '../ports.js';

export interface SenderDeps extends Partial<AttachmentOptions> {
  pool: TransportPool;
  /** Connections the company (the lane) may hold at once (Config / company profile). */
  maxConnectionsFor(company: string): number;
  // attachmentsDir / orderDir / pathMap: needed by `sendOrder` only; a caller
  // that resolves attachments itself and calls `send` may leave them out.
}

/** A Sender that can also check the attachments of an order itself. */
export interface OrderSender extends Sender {
  /** Resolves the order's attachments (failing before any SMTP if one is bad), then sends. */
  sendOrder(resolved: ResolvedOrder): Promise<SendResult>;
}

export function createSender(deps: SenderDeps): OrderSender {
  const { attachmentsDir, orderDir } = deps;
  const attachmentOptions: AttachmentOptions | undefined =
    attachmentsDir !== undefined && orderDir !== undefined
      ? { attachmentsDir, orderDir, pathMap: deps.pathMap ?? {} }
      : undefined;

  async function send(resolved: ResolvedOrder, attachments: ResolvedAttachment[]): Promise<SendResult> {
    const message = composeMessage(resolved, attachments);
    try {
      const info = await deps.pool.send(resolved.smtp, resolved.company, deps.maxConnectionsFor(resolved.company), message);
      return toSendResult(info, resolved.messageId);
    } catch (err) {
      throw toSendError(err, { secrets: [resolved.smtp.password] });
    }
  }

  async function sendOrder(resolved: ResolvedOrder): Promise<SendResult> {
    if (attachmentOptions === undefined) {
      throw new MailerError(ErrorCodes.INTERNAL, 'createSender: sendOrder needs attachmentsDir and orderDir');
    }
    const attachments = await resolveAttachments(resolved.order, attachmentOptions);
    return send(resolved, attachments);
  }

  return { send, sendOrder, close: () => deps.pool.closeAll() };
}

/**
 * Actor logic for the order machine: `invoke: { src: createSendLogic(sender),
 * input: ({ context }) => ({ resolved: context.resolved }) }`. Resolves with
 * the SendResult, rejects with a MailerError.
 */
export function createSendLogic(sender: Pick<OrderSender, 'sendOrder'>) {
  return fromPromise<SendResult, { resolved: ResolvedOrder }>(({ input }) => sender.sendOrder(input.resolved));
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
  };
}
