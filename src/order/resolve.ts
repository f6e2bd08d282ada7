/**
 * Turns a parsed order into one ready to send by filling what it leaves out.
 * PURE: order + config in, resolved order or every missing field out.
 *
 * Precedence per field, highest first: the order, the company's profile
 * (`companies.<Empresa>`, matched ignoring case), the configuration's top level
 * (`smtp`, `from`, `errorMail`), built-in defaults.
 *
 * Guarantees:
 * - SMTP user and password always come together from ONE source, and a
 *   profile's (or the top level's) credentials are only used when the server
 *   is that source's own server: an order naming another host never receives
 *   the company's password.
 * - The Message-ID depends only on the order id and the sender's domain, so a
 *   message repeated after a crash carries the same Message-ID.
 */
import { ErrorCodes, MailerError } from '../errors.js';
import type { CompanyProfile, Config, SmtpProfile } from '../config/types.js';
import type { DkimKey, ResolvedOrder, ResolvedSmtp } from '../ports.js';
import { addressOf, addressesOf } from './addresses.js';
import { messageIdFor } from './compose.js';
import { laneKey } from './lane.js';
import type { Address, Order, OrderSmtp, ParseResult, PartialOrder } from './types.js';

/** The one Message-ID rule lives in compose.ts; re-exported here because resolving is where it is assigned. */
export { messageIdFor };

export type ResolveResult = { ok: true; resolved: ResolvedOrder } | { ok: false; errors: MailerError[] };

/** Default minutes allowed to send one message (spec: `TiempoEspera`, 1 to 10). */
export const DEFAULT_TIMEOUT_MINUTES = 2;

/** The company's profile, looked up ignoring case and surrounding spaces. */
export function findProfile(config: Config, company: string | undefined): CompanyProfile | undefined {
  const key = profileName(config, company);
  return key === undefined ? undefined : config.companies[key];
}

/** The company's name as the configuration writes it (`companies.<name>`), looked up like `findProfile`. */
export function profileName(config: Pick<Config, 'companies'>, company: string | undefined): string | undefined {
  if (company === undefined || company.trim() === '') return undefined;
  const wanted = company.trim().toUpperCase();
  return Object.keys(config.companies).find((k) => k.trim().toUpperCase() === wanted);
}

/** Fills every default; reports all missing required fields at once. */
export function resolveOrder(order: Order, config: Config): ResolveResult {
  const profile = findProfile(config, order.company);
  const errors: MailerError[] = [];
  const smtp = resolveSmtp(order.smtp, profile, config);
  if (smtp === undefined) {
    errors.push(
      new MailerError(ErrorCodes.ORDER_FIELD_MISSING, 'no SMTP server: the order, its company profile and the configuration give none', {
        field: 'SMTP/Servidor',
      }),
    );
  }
  const from = order.from ?? configuredFrom(profile, config);
  if (from === undefined) {
    errors.push(
      new MailerError(ErrorCodes.ORDER_FIELD_MISSING, 'no sender: the order, its company profile and the configuration give none', {
        field: 'Remitente',
      }),
    );
  }
  if (smtp === undefined || from === undefined) return { ok: false, errors };
  return {
    ok: true,
    resolved: {
      order,
      company: laneKey(order.company, smtp.user, from),
      smtp,
      from,
      afterSend: order.afterSend ?? config.afterSend,
      logSuccess: order.logSuccess ?? config.logSuccess,
      errorMail: order.errorMail.length > 0 ? order.errorMail : configuredErrorMail(profile, config),
      messageId: messageIdFor(order.id, from.address),
      ...dkimOf(profile),
      ...envelopeOf(config, order),
    },
  };
}

/** The company's HTML envelope, for an HTML body (plain text is sent as it is). */
function envelopeOf(config: Config, order: Order): { envelope?: { file: string; key: string } } {
  const name = profileName(config, order.company);
  const file = name === undefined ? undefined : config.companies[name]!.htmlEnvelope;
  if (file === undefined || order.body.kind !== 'html') return {};
  return { envelope: { file, key: `companies.${name}.htmlEnvelope` } };
}

/** The company's signing key as nodemailer takes it; nothing when the company signs nothing (or its key was not loaded). */
export function dkimOf(profile: CompanyProfile | undefined): { dkim?: DkimKey } {
  const dkim = profile?.dkim;
  if (dkim?.privateKey === undefined) return {};
  return { dkim: { domainName: dkim.domain, keySelector: dkim.selector, privateKey: dkim.privateKey } };
}

/**
 * Where to report an order that could not be parsed: what the partial order
 * gives, else its company's profile, else the top level. `smtp` and `from` are
 * left out when nobody gives them (the notifier then uses its own fallback).
 */
export function resolvePartial(
  partial: PartialOrder,
  config: Config,
): { company: string; errorMail: Address[]; smtp?: ResolvedSmtp; from?: Address } {
  const profile = findProfile(config, partial.company);
  const smtp = resolveSmtp(partial.smtp ?? {}, profile, config);
  const from = partial.from ?? configuredFrom(profile, config);
  const errorMail = partial.errorMail !== undefined && partial.errorMail.length > 0 ? partial.errorMail : configuredErrorMail(profile, config);
  return {
    company: laneKey(partial.company, smtp?.user ?? partial.smtp?.user, from),
    errorMail,
    ...(smtp !== undefined && { smtp }),
    ...(from !== undefined && { from }),
  };
}

/**
 * The lane key (order/lane.ts) of a parsed order, with the SMTP user and the
 * sender that apply to it. It is the `company` that `resolveOrder` gives a
 * complete order (both apply the same profile, SMTP precedence and sender
 * defaults), and the one `resolvePartial` gives an order that cannot be sent.
 * Pure.
 */
export function laneOfParsed(parsed: ParseResult, config: Config): string {
  return resolvePartial(parsed.ok ? parsed.order : parsed.partial, config).company;
}

function configuredFrom(profile: CompanyProfile | undefined, config: Config): Address | undefined {
  const text = profile?.from ?? config.from ?? undefined;
  return text === undefined ? undefined : addressOf(text);
}

function configuredErrorMail(profile: CompanyProfile | undefined, config: Config): Address[] {
  const text = profile?.errorMail ?? config.errorMail ?? undefined;
  return (text === undefined ? undefined : addressesOf(text)) ?? [];
}

/** One profile's own server (the `notify` route): an order's defaults, nothing inherited from other layers. */
export function resolveProfileSmtp(smtp: SmtpProfile): ResolvedSmtp | undefined {
  return resolveSmtp({}, { smtp, maxConnections: 1, perMinute: null }, { smtp: {} });
}

/** Field-by-field SMTP precedence; undefined when no source names a host. */
function resolveSmtp(order: OrderSmtp, profile: CompanyProfile | undefined, config: Pick<Config, 'smtp'>): ResolvedSmtp | undefined {
  const layers: (OrderSmtp | SmtpProfile)[] = [order, profile?.smtp ?? {}, config.smtp];
  const first = <K extends keyof OrderSmtp>(key: K): OrderSmtp[K] => layers.map((l) => l[key]).find((v) => v !== undefined);
  const host = first('host');
  if (host === undefined) return undefined;
  let security = first('security');
  const port = first('port') ?? (security === 'SSL' ? 465 : 587);
  if (security === undefined && port === 465) security = 'SSL';
  const creds = credentials(host, layers);
  return {
    host,
    port,
    security,
    ...creds,
    timeoutMinutes: first('timeoutMinutes') ?? DEFAULT_TIMEOUT_MINUTES,
    rejectUnauthorized: profile?.smtp?.rejectUnauthorized ?? config.smtp.rejectUnauthorized ?? true,
    ...caOf(profile?.smtp?.ca ?? config.smtp.ca),
  };
}

function caOf(ca: string | undefined): { ca?: string } {
  return ca === undefined ? {} : { ca };
}

/**
 * User and password from the first source that gives either, provided that
 * source's host is the host in use (the order's own credentials always go
 * with the order).
 */
function credentials(host: string, layers: (OrderSmtp | SmtpProfile)[]): { user?: string; password?: string } {
  const source = layers.find((l, i) => (l.user !== undefined || l.password !== undefined) && (i === 0 || sameHost(l.host, host)));
  if (source === undefined) return {};
  return {
    ...(source.user !== undefined && { user: source.user }),
    ...(source.password !== undefined && { password: source.password }),
  };
}

function sameHost(a: string | undefined, b: string): boolean {
  return a !== undefined && a.trim().toLowerCase() === b.trim().toLowerCase();
}
