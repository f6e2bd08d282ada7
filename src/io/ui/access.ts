/**
 * Who may use the status window (issue 16, "safe with hostile orders"):
 *
 * - With a token, every request must carry it: `Authorization: Bearer
 *   <token>`, or the `proscai_ui` cookie the window sets when it is opened as
 *   `/?token=<token>`. The cookie holds a digest of the token, not the token.
 * - Without a token the window listens on loopback only (config/load.ts), and
 *   the `Host` header must name this machine (the listen host, 127.0.0.1,
 *   localhost or [::1]): a web page whose name an attacker points at
 *   127.0.0.1 (DNS rebinding) is refused.
 * - A POST (the only state change: a retry) from a browser must come from the
 *   window's own page: an `Origin` other than the window's own is refused,
 *   and so is a POST without one that relies on the cookie. Scripts send the
 *   Bearer header (or, without a token, no Origin at all).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const COOKIE_NAME = 'proscai_ui';

/** The cookie's value for `token`: a digest, so the cookie jar never holds the token itself. */
export function cookieValueOf(token: string): string {
  return createHmac('sha256', token).update('proscai-mailer status window').digest('hex');
}

/** Compares in constant time (a wrong token's first right characters take no longer to refuse). */
export function same(a: string, b: string): boolean {
  const [x, y] = [Buffer.from(a), Buffer.from(b)];
  return x.length === y.length && timingSafeEqual(x, y);
}

function cookieOf(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=');
  }
  return undefined;
}

/** The Bearer token of the request, if it sent one. */
export function bearerOf(req: IncomingMessage): string | undefined {
  const match = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
  return match?.[1]?.trim();
}

/** With a token configured: whether the request carries it (header or cookie). */
export function hasToken(req: IncomingMessage, token: string): boolean {
  const bearer = bearerOf(req);
  if (bearer !== undefined) return same(bearer, token);
  const cookie = cookieOf(req, COOKIE_NAME);
  return cookie !== undefined && same(cookie, cookieValueOf(token));
}

/** The host name of a `Host` header, lower-cased, IPv6 without brackets; undefined when absent. */
export function hostNameOf(header: string | undefined): string | undefined {
  if (header === undefined || header === '') return undefined;
  const match = /^\[([^\]]+)\](?::\d+)?$/.exec(header) ?? /^([^:]+)(?::\d+)?$/.exec(header);
  return match?.[1]?.toLowerCase();
}

/** Without a token: whether the `Host` header names this machine (see the module comment). */
export function hostAllowed(req: IncomingMessage, listenHost: string): boolean {
  const name = hostNameOf(req.headers.host);
  return name !== undefined && [listenHost.toLowerCase(), '127.0.0.1', 'localhost', '::1'].includes(name);
}

/** Whether a POST may change state: same-origin, or a script that needs no cookie (see the module comment). */
export function postAllowed(req: IncomingMessage, tokenConfigured: boolean): boolean {
  const origin = req.headers.origin;
  if (req.headers['sec-fetch-site'] === 'cross-site') return false;
  if (origin === undefined) return !tokenConfigured || bearerOf(req) !== undefined;
  // https: the page served through a TLS reverse proxy that passes the Host header on (docs/operations.md).
  const host = req.headers.host ?? '';
  return origin === `http://${host}` || origin === `https://${host}`;
}
