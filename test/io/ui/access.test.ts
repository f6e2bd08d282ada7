/**
 * Who may change state through the status window (src/io/ui/access.ts,
 * postAllowed): same-origin pages, served directly (http) or through a TLS
 * reverse proxy that passes the Host header on (https); never a cross-site page.
 */
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { postAllowed } from '../../../src/io/ui/access.js';

const request = (headers: Record<string, string>): IncomingMessage => ({ headers }) as unknown as IncomingMessage;

describe('postAllowed', () => {
  it('accepts the page own origin, over http and behind a TLS proxy', () => {
    expect(postAllowed(request({ host: '127.0.0.1:8025', origin: 'http://127.0.0.1:8025' }), false)).toBe(true);
    expect(postAllowed(request({ host: 'mailer.oficina.example', origin: 'https://mailer.oficina.example' }), true)).toBe(true);
  });

  it('refuses another origin, another port, and a browser that says cross-site', () => {
    expect(postAllowed(request({ host: 'mailer.oficina.example', origin: 'https://evil.example' }), true)).toBe(false);
    expect(postAllowed(request({ host: '127.0.0.1:8025', origin: 'http://127.0.0.1:9000' }), false)).toBe(false);
    expect(postAllowed(request({ host: '127.0.0.1:8025', origin: 'http://127.0.0.1:8025', 'sec-fetch-site': 'cross-site' }), false)).toBe(false);
  });

  it('without an Origin: a script with the Bearer token, or anyone when no token is configured', () => {
    expect(postAllowed(request({ host: 'h' }), false)).toBe(true);
    expect(postAllowed(request({ host: 'h' }), true)).toBe(false);
    expect(postAllowed(request({ host: 'h', authorization: 'Bearer s3cret' }), true)).toBe(true);
  });
});
