/**
 * `proscai-mailer send-test`: one test message through the settings the
 * mailer would use (a company's profile, or the configuration's top-level
 * `smtp` and `from`), and the outcome in plain words for the person setting
 * the mailer up: what the server answered and which setting to look at.
 * A company with a DKIM key (`companies.<Empresa>.dkim`) signs it, as it
 * signs its orders.
 *
 * Guarantees: resolves, never rejects, for every network outcome; no password
 * appears in the result (server replies are passed through the same redaction
 * as the log, and the explanation names the user at most); a pool it creates
 * itself is closed before it resolves.
 */
import { hostname } from 'node:os';

import { addressOf as parseAddress, addressesOf as parseAddressList } from '../../order/addresses.js';
import type { Config } from '../../config/types.js';
import { ErrorCodes, toMailerError, type ErrorCode } from '../../errors.js';
import { dkimOf, findProfile, resolvePartial } from '../../order/resolve.js';
import type { Address } from '../../order/types.js';
import type { ResolvedSmtp } from '../../ports.js';
import { explainSendTestFailure, sendTestText } from '../../text/send-test.js';
import type { TransportPool } from './transport-pool.js';

export interface SendTestOptions {
  config: Config;
  /** Recipient(s) of the test message: `a@b.mx`, or a `,`/`;` separated list. */
  to: string;
  /** Use this company's profile (matched ignoring case), else the top-level settings. */
  company?: string;
  /** Pool to send through; by default a fresh one, closed afterwards. */
  pool?: TransportPool;
}

export interface SendTestResult {
  ok: boolean;
  /** Why it failed: an SMTP code, or CONFIG_INVALID / USAGE when nothing was tried. */
  code?: ErrorCode;
  /** The outcome in plain words, in `config.language`. */
  message: string;
}

/** Lane of the transport pool for test messages: apart from the companies' and notifications' lanes. */
export const SEND_TEST_LANE = '\u0000send-test';

/** Sends one test message; see the module comment. */
export async function sendTest(opts: SendTestOptions): Promise<SendTestResult> {
  const { config } = opts;
  const lang = config.language;
  const to = parseAddressList(opts.to);
  if (to === undefined) return { ok: false, code: ErrorCodes.USAGE, message: sendTestText('badAddress', lang, { to: opts.to }) };
  if (opts.company !== undefined && findProfile(config, opts.company) === undefined) {
    return { ok: false, code: ErrorCodes.CONFIG_INVALID, message: sendTestText('unknownCompany', lang, { company: opts.company }) };
  }
  const routing = resolvePartial({ id: 'send-test', fileName: '', ...(opts.company !== undefined && { company: opts.company }) }, config);
  const smtp = routing.smtp;
  if (smtp === undefined) {
    return { ok: false, code: ErrorCodes.CONFIG_INVALID, message: sendTestText(opts.company ? 'noServerCompany' : 'noServer', lang, { company: opts.company ?? '' }) };
  }
  const from = routing.from ?? senderFromUser(smtp) ?? { name: 'proscai-mailer', address: `proscai-mailer@${hostname()}` };
  // nodemailer is loaded only when a test message is really sent (the CLI registers this command on every start).
  const pool = opts.pool ?? (await import('./pool.js')).createTransportPool();
  const recipients = to.map((a) => a.address).join(', ');
  try {
    const info = await pool.send(smtp, SEND_TEST_LANE, 1, {
      from: from.name === '' ? from.address : { name: from.name, address: from.address },
      to: to.map((a) => (a.name === '' ? a.address : { name: a.name, address: a.address })),
      subject: sendTestText('subject', lang),
      text: sendTestText('body', lang, {
        host: smtp.host,
        port: smtp.port,
        company: opts.company ?? '—',
        machine: hostname(),
        at: new Date().toISOString(),
      }),
      disableFileAccess: true,
      disableUrlAccess: true,
      // Signed like the company's orders, so a test message to a mailbox shows whether receivers accept the signature.
      ...dkimOf(opts.company === undefined ? undefined : findProfile(config, opts.company)),
    });
    const refused = (info.rejected ?? []).map(String);
    const message = sendTestText('accepted', lang, { host: smtp.host, port: smtp.port, reply: oneLine(info.response ?? '') });
    return {
      ok: true,
      message: refused.length === 0 ? message : `${message} ${sendTestText('someRefused', lang, { refused: refused.join(', ') })}`,
    };
  } catch (err) {
    const error = toMailerError(err);
    return { ok: false, code: error.code, message: explainSendTestFailure(error, { ...smtpContext(smtp), to: recipients }, lang) };
  } finally {
    if (opts.pool === undefined) await pool.closeAll();
  }
}

/** The SMTP user as sender when it is an address and nothing else names one (Office 365 and Gmail accounts are). */
function senderFromUser(smtp: ResolvedSmtp): Address | undefined {
  return smtp.user === undefined ? undefined : parseAddress(smtp.user);
}

function smtpContext(smtp: ResolvedSmtp) {
  return { host: smtp.host, port: smtp.port, security: smtp.security ?? '', user: smtp.user ?? '' };
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
