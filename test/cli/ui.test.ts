/**
 * The status window end to end: the real CLI (`run --ui`) with a real SMTP
 * server and a real order folder, asked over HTTP as the page and scripts ask
 * it (issue 16, items 1, 3 and 4; the page itself is driven in a browser by
 * test/e2e/ui-browser.test.ts).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { eventually, runCli, startCli, stopMailer, type RunningCli } from '../helpers/cli.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import { makeTmpDir, removeTmpDirs } from '../helpers/tmp.js';
import { simpleOrder } from '../e2e/folder.js';

const PASSWORD = 'smtp-Secret-4711';
const TOKEN = 'ui-Token-0815-abcdef';
const name = (id: string) => `_CFD_MAIL_REQ_${id}.XML`;
const HOSTILE = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">';
/** HOSTILE as the order's XML writes it. */
const HOSTILE_XML = HOSTILE.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const running: RunningCli[] = [];
const sinks: SmtpSink[] = [];
afterEach(async () => {
  for (const cli of running.splice(0)) if (cli.child.exitCode === null && cli.child.signalCode === null) await stopMailer(cli);
  for (const sink of sinks.splice(0)) await sink.close();
});
afterAll(removeTmpDirs);

async function sinkWithAuth(): Promise<SmtpSink> {
  const sink = await startSmtpSink({ auth: { user: 'facturas', pass: PASSWORD } });
  sinks.push(sink);
  return sink;
}

/** A folder with a configuration file naming the SMTP password (and `ui` settings when given). */
async function folderWithConfig(sink: SmtpSink, ui?: Record<string, unknown>): Promise<{ dir: string; config: string }> {
  const dir = await makeTmpDir('proscai-ui-');
  const config = path.join(dir, 'config.json');
  const file = { smtp: { host: '127.0.0.1', port: sink.port, user: 'facturas', password: PASSWORD }, retry: [1], ...(ui && { ui }) };
  await writeFile(config, JSON.stringify(file));
  const orders = path.join(dir, 'orders');
  await mkdir(orders);
  return { dir: orders, config };
}

/** Starts `run` with the window and resolves with its base URL (the port it chose, read from its started line). */
async function startWindow(args: string[], env: Record<string, string> = {}): Promise<{ cli: RunningCli; base: string }> {
  const cli = startCli(['run', ...args], env);
  running.push(cli);
  const match = await eventually(() => /http:\/\/127\.0\.0\.1:(\d+)\//.exec(cli.stderr()) ?? (cli.child.exitCode !== null ? ['exit'] : null), 20_000, 'the window');
  if (match[0] === 'exit') throw new Error(`run ended: ${cli.stderr()}`);
  return { cli, base: match[0].replace(/\/$/, '') };
}

interface AskInit {
  method?: string;
  headers?: Record<string, string>;
}

/** The answer of `ask`, shaped like fetch's Response where the tests read it. */
interface Answer {
  status: number;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
}

/**
 * One HTTP request through node:http, shaped like `fetch` (which never
 * follows a redirect here). Not fetch itself: undici's connect fails under
 * Wine (`connect UNKNOWN`), and the Windows lane runs these tests too.
 */
function ask(url: string, init: AskInit = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: init.method ?? 'GET', headers: init.headers ?? {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const header = (name: string): string | null => {
          const value = res.headers[name.toLowerCase()];
          return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
        };
        resolve({ status: res.statusCode ?? 0, headers: { get: header }, text: async () => Buffer.concat(chunks).toString('utf8') });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

async function getJson(url: string, init: AskInit = {}): Promise<{ status: number; body: any }> {
  const res = await ask(url, init);
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text) };
}

/** Reads `state` events of `/api/events` into `events` until `stop()`. */
function listen(url: string, init: AskInit = {}): { events: { at: number; state: any }[]; stop: () => void } {
  const events: { at: number; state: any }[] = [];
  let buffer = '';
  const req = request(url, { headers: init.headers ?? {} }, (res) => {
    res.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = /^event: state\ndata: (.*)$/m.exec(block);
        if (data) events.push({ at: Date.now(), state: JSON.parse(data[1]!) });
      }
    });
    res.on('error', () => {});
  });
  req.on('error', () => {});
  req.end();
  return { events, stop: () => req.destroy() };
}

describe('run --ui', { timeout: 120_000 }, () => {
  it('shows a failed order with recipients, subject and reason; retry from the window sends it while run runs', async () => {
    const sink = await sinkWithAuth();
    const { dir, config } = await folderWithConfig(sink);
    await writeFile(path.join(dir, name('F1')), simpleOrder({ port: sink.port, subject: HOSTILE_XML, to: 'Cliente Uno &lt;uno@example.com&gt;', attachments: ['docs\\F1.pdf'] }));
    const { base } = await startWindow(['--config', config, '--dir', dir, '--ui', '127.0.0.1:0']);
    await eventually(() => existsSync(path.join(dir, 'errores', name('F1'))), 20_000, 'the failure');

    const status = await eventually(async () => {
      const { body } = await getJson(`${base}/api/status`);
      return body.failed.length === 1 && body.failed[0].error !== undefined ? body : undefined;
    });
    expect(status.failed[0]).toMatchObject({ orderId: 'F1', company: 'ACME', to: ['Cliente Uno <uno@example.com>'], subject: HOSTILE, error: { code: 'ATTACHMENT_MISSING' } });
    const page = await ask(`${base}/?lang=en`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    );
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(await page.text()).toMatch(/<html lang="en"/);
    expect((await ask(`${base}/app.js`)).headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect((await ask(`${base}/nothing-here`)).status).toBe(404);
    expect((await ask(`${base}/api/status`, { method: 'POST', headers: { Origin: base } })).status).toBe(405);
    const state = (await getJson(`${base}/api/page-state`)).body;
    expect(state.lang).toBe('es');
    expect(state.status.failed[0].orderId).toBe('F1');
    expect(state.reasons[state.status.dir].F1).toMatch(/adjunto «docs\\F1\.pdf»/);
    const english = (await getJson(`${base}/api/page-state?lang=en`)).body;
    expect(english.reasons[english.status.dir].F1).toMatch(/attachment "docs\\F1\.pdf"/);

    const trace = await getJson(`${base}/api/orders/F1?lang=en`);
    expect(trace.status).toBe(200);
    expect(trace.body.entries.length).toBeGreaterThan(0);
    expect(trace.body.text).toMatch(/FAILED/);
    expect(await getJson(`${base}/api/orders/NO_SUCH_ORDER`)).toMatchObject({ status: 404, body: { error: 'not_found' } });

    // State changes are POST only, and never from another site.
    expect((await ask(`${base}/api/orders/F1/retry`)).status).toBe(405);
    expect((await ask(`${base}/api/orders/F1/retry`, { method: 'POST', headers: { Origin: 'http://evil.example' } })).status).toBe(403);
    expect(existsSync(path.join(dir, 'errores', name('F1')))).toBe(true);

    const stream = listen(`${base}/api/events`);
    await eventually(() => stream.events.length > 0, 10_000, 'the first state');
    await mkdir(path.join(dir, 'docs'));
    await writeFile(path.join(dir, 'docs', 'F1.pdf'), 'pdf');
    const retried = await getJson(`${base}/api/orders/F1/retry`, { method: 'POST', headers: { Origin: base } });
    expect(retried.status).toBe(200);
    expect(retried.body.ok).toBe(true);
    expect(retried.body.message).toContain('Devuelta a la cola');
    await eventually(() => sink.messages.length === 1, 20_000, 'the send');
    expect(sink.messages[0]!.parsed.subject).toBe(HOSTILE);
    // The window shows it sent without being asked again.
    await eventually(() => stream.events.some((e) => e.state.status.totals.sent24h === 1 && e.state.status.failed.length === 0), 5_000, 'the sent state');
    stream.stop();

    const metrics = await (await ask(`${base}/metrics`)).text();
    expect(metrics).toContain('proscai_mailer_orders_total{company="ACME",outcome="failed"} 1');
    expect(metrics).toContain('proscai_mailer_orders_total{company="ACME",outcome="sent"} 1');
    expect(metrics).toMatch(/proscai_mailer_send_duration_seconds_count\{company="ACME"\} [12]\n/);
    expect(metrics).toMatch(/proscai_mailer_last_success_timestamp_seconds\{company="ACME"\} \d{10}/);
  });

  it('pushes a new order to an open window within 2 s, without a reload', async () => {
    const sink = await sinkWithAuth();
    const { dir, config } = await folderWithConfig(sink);
    const { base } = await startWindow(['--config', config, '--dir', dir, '--ui', '127.0.0.1:0', '--language', 'en']);
    const stream = listen(`${base}/api/events`);
    await eventually(() => stream.events.length > 0, 10_000, 'the first state');
    expect(stream.events[0]!.state.lang).toBe('en');
    const before = stream.events.length;
    const written = Date.now();
    await writeFile(path.join(dir, name('N1')), simpleOrder({ port: sink.port }));
    const seen = await eventually(
      () => stream.events.slice(before).find((e) => e.state.status.totals.waiting + e.state.status.totals.sending + e.state.status.totals.sent24h > 0),
      10_000,
      'the new order',
    );
    expect(seen.at - written).toBeLessThan(2000);
    await eventually(() => stream.events.some((e) => e.state.status.totals.sent24h === 1), 10_000, 'the send');
    stream.stop();
  });

  it('one window for every folder of the configuration: the status of each, a retry in the second', async () => {
    const sink = await sinkWithAuth();
    const root = await makeTmpDir('proscai-ui-folders-');
    const [a, b] = [path.join(root, 'a'), path.join(root, 'b')];
    await Promise.all([mkdir(a), mkdir(b)]);
    const config = path.join(root, 'config.json');
    const smtp = { host: '127.0.0.1', port: sink.port, user: 'facturas', password: PASSWORD };
    await writeFile(config, JSON.stringify({ smtp, folders: [{ dir: a }, { dir: b }], ui: { listen: '127.0.0.1:0' } }));
    await writeFile(path.join(a, name('A1')), simpleOrder({ port: sink.port }));
    await writeFile(path.join(b, name('B1')), simpleOrder({ port: sink.port, company: 'BETA', attachments: ['docs\\B1.pdf'] }));
    const { base } = await startWindow(['--config', config]);
    const status = await eventually(async () => {
      const { body } = await getJson(`${base}/api/status`);
      // The reason comes from the log's order.failed line, written just after the order reaches errores/.
      return body.folders?.[1]?.failed[0]?.error !== undefined && body.folders[0].totals.sent24h === 1 ? body : undefined;
    }, 20_000, 'both folders');
    expect(status.folders.map((f: { dir: string }) => f.dir)).toEqual([a, b]);
    expect(status.folders[1].failed[0]).toMatchObject({ orderId: 'B1', company: 'BETA', error: { code: 'ATTACHMENT_MISSING' } });
    const english = (await getJson(`${base}/api/page-state?lang=en`)).body;
    expect(english.reasons[b].B1).toMatch(/attachment "docs\\B1\.pdf"/);
    expect(english.reasons[a]).toEqual({});
    await mkdir(path.join(b, 'docs'));
    await writeFile(path.join(b, 'docs', 'B1.pdf'), 'pdf');
    const retried = await getJson(`${base}/api/orders/b1/retry`, { method: 'POST', headers: { Origin: base } });
    expect(retried.body).toMatchObject({ ok: true, report: { requeued: [{ from: name('B1'), to: name('B1') }] } });
    await eventually(() => sink.messages.length === 2, 20_000, 'the retried send');
    const trace = await getJson(`${base}/api/orders/B1`);
    expect(trace.body.entries.every((e: { dir: string }) => e.dir === b)).toBe(true);
    const metrics = await (await ask(`${base}/metrics`)).text();
    expect(metrics).toContain('proscai_mailer_orders_total{company="ACME",outcome="sent"} 1');
    expect(metrics).toContain('proscai_mailer_orders_total{company="BETA",outcome="sent"} 1');
  });

  it('with a token: 401 without it; Bearer, or the cookie /?token= sets; no secret in any answer', async () => {
    const sink = await sinkWithAuth();
    const { dir, config } = await folderWithConfig(sink, { listen: '127.0.0.1:0', tokenEnv: 'UI_TOKEN_FOR_TEST' });
    await writeFile(path.join(dir, name('S1')), simpleOrder({ port: sink.port }));
    await writeFile(path.join(dir, name('S2')), simpleOrder({ port: sink.port, attachments: ['missing.pdf'] }));
    const { cli, base } = await startWindow(['--config', config, '--dir', dir], { UI_TOKEN_FOR_TEST: TOKEN });
    await eventually(() => sink.messages.length === 1 && existsSync(path.join(dir, 'errores', name('S2'))), 20_000, 'the orders');

    const bearer = { Authorization: `Bearer ${TOKEN}` };
    // The log lines of both orders are written (the trace reads them).
    await eventually(async () => (await ask(`${base}/api/orders/S1`, { headers: bearer })).status === 200, 10_000, 'the trace');
    const routes = ['/', '/app.js', '/app.css', '/api/page-state', '/api/status', '/api/orders/S1', '/api/orders/S2', '/metrics'];
    for (const route of routes) expect((await ask(`${base}${route}`)).status, route).toBe(401);
    expect((await ask(`${base}/api/orders/S2/retry`, { method: 'POST' })).status).toBe(401);
    expect((await ask(`${base}/api/status`, { headers: { Authorization: 'Bearer wrong' } })).status).toBe(401);
    const refused = await ask(`${base}/?token=wrong&lang=en`);
    expect(refused.status).toBe(401);
    expect(await refused.text()).toBe('This status window asks for its access token (ui.token): open it as /?token=<token>, or ask the administrator for it.\n');
    expect(await (await ask(`${base}/`)).text()).toContain('Esta ventana de estado pide el token de acceso');

    const bodies: string[] = [];
    for (const route of routes) {
      const res = await ask(`${base}${route}`, { headers: bearer });
      expect(res.status, route).toBe(200);
      bodies.push(await res.text());
    }
    const events = listen(`${base}/api/events`, { headers: bearer });
    await eventually(() => events.events.length > 0, 10_000, 'an event');
    events.stop();
    bodies.push(JSON.stringify(events.events));

    const opened = await ask(`${base}/?token=${TOKEN}&lang=en`);
    expect(opened.status).toBe(303);
    expect(opened.headers.get('location')).toBe('/?lang=en');
    const cookie = opened.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^proscai_ui=[0-9a-f]{64}; HttpOnly; SameSite=Strict; Path=\/$/);
    bodies.push(cookie);
    const withCookie = { Cookie: cookie.split(';')[0]! };
    expect((await ask(`${base}/api/status`, { headers: withCookie })).status).toBe(200);
    // A POST carried by the cookie alone must come from the page itself.
    expect((await ask(`${base}/api/orders/S2/retry`, { method: 'POST', headers: withCookie })).status).toBe(403);
    expect((await ask(`${base}/api/orders/S2/retry`, { method: 'POST', headers: { ...withCookie, Origin: 'http://evil.example' } })).status).toBe(403);
    const retried = await ask(`${base}/api/orders/S2/retry?lang=en`, { method: 'POST', headers: { ...withCookie, Origin: base } });
    expect(retried.status).toBe(200);
    bodies.push(await retried.text());

    for (const body of bodies) {
      expect(body).not.toContain(PASSWORD);
      expect(body).not.toContain(TOKEN);
    }
    const log = await readFile(path.join(dir, '.proscai-mailer', 'logs', 'mailer.log'), 'utf8');
    expect(log).not.toContain(PASSWORD);
    expect(cli.stderr()).not.toContain(TOKEN);
    expect(cli.stderr()).toContain('?token=…');
  });

  it('refuses a Host header that is not this machine (DNS rebinding) when no token is set', async () => {
    const sink = await sinkWithAuth();
    const { dir, config } = await folderWithConfig(sink);
    const { base } = await startWindow(['--config', config, '--dir', dir, '--ui', '127.0.0.1:0']);
    const port = Number(new URL(base).port);
    const statusFor = (host: string) =>
      new Promise<number>((resolve, reject) => {
        request({ host: '127.0.0.1', port, path: '/api/status', headers: { Host: host } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
          .on('error', reject)
          .end();
      });
    expect(await statusFor('attacker.example')).toBe(403);
    expect(await statusFor(`attacker.example:${port}`)).toBe(403);
    expect(await statusFor(`127.0.0.1:${port}`)).toBe(200);
    expect(await statusFor(`localhost:${port}`)).toBe(200);
    expect(await statusFor(`[::1]:${port}`)).toBe(200);
  });

  it('a window that never reads holds no send up: 50 orders go out in normal time', async () => {
    const sink = await sinkWithAuth();
    const { dir, config } = await folderWithConfig(sink);
    const { base } = await startWindow(['--config', config, '--dir', dir, '--ui', '127.0.0.1:0']);
    const port = Number(new URL(base).port);
    // Clients that ask for the stream and then never read a byte.
    const stuck = await Promise.all(
      Array.from({ length: 10 }, () =>
        new Promise<net.Socket>((resolve) => {
          const socket = net.connect(port, '127.0.0.1', () => {
            socket.write(`GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
            socket.pause();
            resolve(socket);
          });
        }),
      ),
    );
    const started = Date.now();
    for (let i = 0; i < 50; i++) await writeFile(path.join(dir, name(`B${i}`)), simpleOrder({ port: sink.port, subject: `Factura ${i} ${'x'.repeat(150)}` }));
    await eventually(() => sink.messages.length === 50, 60_000, 'every send').catch((error: Error) => {
      throw new Error(`${error.message}: ${sink.messages.length} sent after ${Date.now() - started} ms; ${JSON.stringify(readdirSync(dir))} ${existsSync(path.join(dir, 'errores')) ? readFileSync(path.join(dir, 'errores', readdirSync(path.join(dir, 'errores')).find((f) => f.endsWith('.txt'))!), 'utf8') : ''}`);
    });
    const ms = Date.now() - started;
    expect(ms).toBeLessThan(30_000);
    await eventually(async () => (await readdir(path.join(dir, 'enviados'))).filter((f) => f.endsWith('.XML')).length === 50, 10_000, 'every order archived');
    // The window still answers others.
    expect((await ask(`${base}/api/status`)).status).toBe(200);
    for (const socket of stuck) socket.destroy();
  });

  it('exits 2 with a sentence when the address is in use, or off this machine without a token', async () => {
    const sink = await sinkWithAuth();
    const { dir, config } = await folderWithConfig(sink);
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as net.AddressInfo).port;
    try {
      const inUse = await runCli(['run', '--config', config, '--dir', dir, '--ui', `127.0.0.1:${port}`], {}, 30_000);
      expect(inUse.code).toBe(2);
      expect(inUse.stderr).toContain(`no se puede abrir la ventana de estado en 127.0.0.1:${port}: la dirección ya está en uso`);
    } finally {
      taken.close();
    }
    const open = await runCli(['run', '--config', config, '--dir', dir, '--ui', '0.0.0.0:0'], {}, 30_000);
    expect(open.code).toBe(2);
    expect(open.stderr).toContain('necesita "ui.token" o "ui.tokenEnv"');
    const english = await runCli(['run', '--config', config, '--dir', dir, '--ui', 'nonsense', '--language', 'en'], {}, 30_000);
    expect(english.code).toBe(2);
    expect(english.stderr).toContain('--ui: must be PORT or HOST:PORT');
  });
});
