/**
 * The status window's HTTP server (node:http): routes, access control
 * (./access.ts), security headers, and the answers the callers compute
 * (`UiRoutes`). Nothing here reads the order folder: src/cli/ui.ts hands in
 * what `status`, `trace` and `retry` compute.
 *
 * Routes: `GET /` (the page), `/app.js`, `/app.css`, `/api/page-state`,
 * `/api/events` (Server-Sent Events), `/api/status`, `/api/orders/<id>`,
 * `POST /api/orders/<id>/retry`, `GET /metrics`. Any other method on a known
 * route is 405 (with `Allow`); an unknown path 404; every API error is JSON.
 *
 * Every answer carries a Content-Security-Policy that allows only the page's
 * own script and style (no inline code), refuses framing, and is never cached.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Language } from '../../config/types.js';
import { formatListen, type ListenAddress } from '../../config/ui-listen.js';
import { COOKIE_NAME, cookieValueOf, hasToken, hostAllowed, postAllowed, same } from './access.js';
import type { StateHub } from './state-hub.js';
import { t } from '../../text/messages.js';

export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/** What the server answers with; each function may be called concurrently. */
export interface UiRoutes {
  defaultLanguage: Language;
  page(lang: Language): string;
  script: string;
  style: string;
  hub: StateHub;
  /** The `status --json` document. */
  status(): Promise<unknown>;
  /** The order's trace document; undefined when the log knows no such order (404). */
  order(id: string, lang: Language): Promise<unknown>;
  /** `retry <id>`: `{ ok, message, report }`. */
  retry(id: string, lang: Language): Promise<unknown>;
  metrics(): Promise<{ contentType: string; body: string }>;
  /** A route failed unexpectedly (answered 500 without details). */
  onError?(error: unknown): void;
}

export interface UiServerOptions {
  listen: ListenAddress;
  /** null: loopback only, and the Host header is checked instead. */
  token: string | null;
  routes: UiRoutes;
}

export interface UiServer {
  /** The address listened on, `HOST:PORT`, with the port chosen when 0 was asked. */
  address: string;
  /** `http://HOST:PORT/` (127.0.0.1 when listening on every address). */
  url: string;
  close(): Promise<void>;
}

const COMMON_HEADERS = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
} as const;

function answer(res: ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...COMMON_HEADERS, 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

function json(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  answer(res, status, 'application/json; charset=utf-8', JSON.stringify(value), headers);
}

function languageOf(url: URL, fallback: Language): Language {
  const lang = url.searchParams.get('lang');
  return lang === 'es' || lang === 'en' ? lang : fallback;
}

/** `/api/orders/<id>` and `/api/orders/<id>/retry`: the decoded id and which; undefined for other paths. */
function orderRoute(pathname: string): { id: string; retry: boolean } | undefined {
  const match = /^\/api\/orders\/([^/]+)(\/retry)?$/.exec(pathname);
  if (!match) return undefined;
  try {
    return { id: decodeURIComponent(match[1]!), retry: match[2] !== undefined };
  } catch {
    return undefined;
  }
}

const GET_ROUTES = new Set(['/', '/app.js', '/app.css', '/api/page-state', '/api/events', '/api/status', '/metrics']);

async function handle(req: IncomingMessage, res: ServerResponse, options: UiServerOptions): Promise<void> {
  const { routes, token } = options;
  const url = new URL(req.url ?? '/', 'http://window.invalid');
  if (token === null && !hostAllowed(req, options.listen.host)) {
    json(res, 403, { error: 'host_not_allowed' });
    return;
  }
  const lang = languageOf(url, routes.defaultLanguage);
  if (token !== null && !hasToken(req, token)) {
    const given = url.searchParams.get('token');
    if (req.method === 'GET' && url.pathname === '/' && given !== null && same(given, token)) {
      url.searchParams.delete('token');
      const location = `/${url.search}`;
      answer(res, 303, 'text/plain; charset=utf-8', '', {
        Location: location,
        'Set-Cookie': `${COOKIE_NAME}=${cookieValueOf(token)}; HttpOnly; SameSite=Strict; Path=/`,
      });
      return;
    }
    const challenge = { 'WWW-Authenticate': 'Bearer realm="proscai-mailer"' };
    // A person opening the page reads why; scripts get JSON.
    if (url.pathname === '/') answer(res, 401, 'text/plain; charset=utf-8', `${t('ui.unauthorized', lang)}\n`, challenge);
    else json(res, 401, { error: 'unauthorized' }, challenge);
    return;
  }
  const order = orderRoute(url.pathname);
  const method = req.method ?? 'GET';
  const wanted = order?.retry === true ? 'POST' : 'GET';
  if (order === undefined && !GET_ROUTES.has(url.pathname)) {
    json(res, 404, { error: 'not_found' });
    return;
  }
  if (method !== wanted && !(wanted === 'GET' && method === 'HEAD')) {
    json(res, 405, { error: 'method_not_allowed' }, { Allow: wanted === 'GET' ? 'GET, HEAD' : 'POST' });
    return;
  }
  if (order?.retry === true) {
    if (!postAllowed(req, token !== null)) {
      json(res, 403, { error: 'cross_site' });
      return;
    }
    json(res, 200, await routes.retry(order.id, lang));
    return;
  }
  if (order !== undefined) {
    const trace = await routes.order(order.id, lang);
    if (trace === undefined) json(res, 404, { error: 'not_found', orderId: order.id });
    else json(res, 200, trace);
    return;
  }
  switch (url.pathname) {
    case '/':
      answer(res, 200, 'text/html; charset=utf-8', routes.page(lang));
      return;
    case '/app.js':
      answer(res, 200, 'text/javascript; charset=utf-8', routes.script);
      return;
    case '/app.css':
      answer(res, 200, 'text/css; charset=utf-8', routes.style);
      return;
    case '/api/page-state':
      answer(res, 200, 'application/json; charset=utf-8', (await routes.hub.current()).json(lang));
      return;
    case '/api/status':
      json(res, 200, await routes.status());
      return;
    case '/metrics': {
      const metrics = await routes.metrics();
      answer(res, 200, metrics.contentType, metrics.body);
      return;
    }
    case '/api/events':
      res.writeHead(200, { ...COMMON_HEADERS, 'Content-Type': 'text/event-stream; charset=utf-8', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
      res.flushHeaders();
      req.socket.setNoDelay(true);
      routes.hub.attach(res, lang);
      return;
  }
}

/** Listens on `options.listen`; rejects with the system's error (EADDRINUSE, EACCES, EADDRNOTAVAIL…) when it cannot. */
export async function startUiServer(options: UiServerOptions): Promise<UiServer> {
  const server: Server = createServer((req, res) => {
    handle(req, res, options).catch((error: unknown) => {
      options.routes.onError?.(error);
      if (!res.headersSent) json(res, 500, { error: 'internal' });
      else res.destroy();
    });
  });
  // A client that sends its headers slowly or never is cut off; event streams stay open.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.listen.port, options.listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (error) => options.routes.onError?.(error));
  const bound = server.address() as AddressInfo;
  const address = formatListen({ host: options.listen.host, port: bound.port });
  const urlHost = ['0.0.0.0', '::'].includes(options.listen.host) ? '127.0.0.1' : options.listen.host;
  return {
    address,
    url: `http://${formatListen({ host: urlHost, port: bound.port })}/`,
    close: async () => {
      options.routes.hub.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
