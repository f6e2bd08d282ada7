/**
 * The status window's browser code (plain ES2020, no framework, no external
 * resource), served as `/app.js` under a Content-Security-Policy that forbids
 * inline script, inline style and eval.
 *
 * What it guarantees:
 * - every value that comes from an order or the server (ids, recipients,
 *   subjects, reasons, alerts, the trace) reaches the page through
 *   `textContent` / `createElement`, never through `innerHTML`, so a hostile
 *   `Asunto` shows as text;
 * - it follows the server's Server-Sent Events (`/api/events`, event
 *   `state`) and redraws without a reload; while the stream is down it says
 *   so and keeps trying;
 * - what the person is doing survives a redraw: an open timeline, a retry in
 *   flight (its button stays disabled) and the answer to it;
 * - it redraws only when the state changed (the report's times aside), so a
 *   click is not lost to a redraw of identical content, and never goes back
 *   to an older state (the first fetch and the stream may cross).
 *
 * Both languages' labels travel in the script (from ./strings.ts); the page
 * speaks the language of `<html lang>`, which the server set from `?lang=`
 * or the configuration. Order ids and `lang` go to the server URL-encoded.
 */
import { PAGE_TEXT } from './strings.js';

const BODY = String.raw`
  var lang = document.documentElement.lang === 'en' ? 'en' : 'es';
  var T = TEXT[lang];
  var LANG_QUERY = '?lang=' + lang;
  var LOCALE = lang === 'en' ? 'en-US' : 'es-MX';
  var ui = { pending: {}, answers: {}, open: {}, traces: {}, retried: [] };
  var current = null;
  var currentKey = '';

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function when(iso, timeOnly) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) return String(iso || '');
    return timeOnly ? d.toLocaleTimeString(LOCALE) : d.toLocaleString(LOCALE, { dateStyle: 'short', timeStyle: 'medium' });
  }

  function field(list, label, value, className) {
    var row = el('div', 'field' + (className ? ' ' + className : ''));
    row.appendChild(el('dt', null, label));
    row.appendChild(el('dd', null, value));
    list.appendChild(row);
  }

  function orderUrl(id) {
    return '/api/orders/' + encodeURIComponent(id);
  }

  function renderAlerts(alerts) {
    if (!alerts || alerts.length === 0) return el('section', 'alerts ok', T.allWell);
    var box = el('section', 'alerts bad');
    box.setAttribute('role', 'alert');
    box.appendChild(el('h2', null, T.attention));
    var list = el('ul');
    alerts.forEach(function (text) { list.appendChild(el('li', null, text)); });
    box.appendChild(list);
    return box;
  }

  function companyName(key) {
    return key === '?' || !key ? T.unknownCompany : key;
  }

  function renderCompanies(report) {
    var box = el('div', 'companies');
    var companies = report.companies || [];
    if (companies.length === 0) {
      box.appendChild(el('p', 'quiet', T.noCompanies));
      return box;
    }
    companies.forEach(function (c) {
      var card = el('section', 'company');
      card.setAttribute('data-company', c.company);
      card.appendChild(el('h3', null, companyName(c.company)));
      var counts = el('dl', 'counts');
      field(counts, T.waiting, c.waiting, 'waiting');
      field(counts, T.sending, c.sending, 'sending');
      field(counts, T.deferred, c.deferred, 'deferred' + (c.deferred > 0 ? ' warn' : ''));
      field(counts, T.failed24h, c.failed24h, 'failed' + (c.failed24h > 0 ? ' bad' : ''));
      field(counts, T.sent24h, c.sent24h, 'sent');
      card.appendChild(counts);
      box.appendChild(card);
    });
    return box;
  }

  function renderDeferred(report, reasons) {
    var orders = report.deferred || [];
    var box = el('section', 'deferred-orders');
    if (orders.length === 0) return box;
    box.appendChild(el('h3', null, T.deferredOrders));
    orders.forEach(function (o) {
      var card = el('article', 'order deferred');
      card.setAttribute('data-order', o.orderId);
      var head = el('header');
      head.appendChild(el('strong', 'id', o.orderId));
      head.appendChild(el('span', 'company-name', companyName(o.company)));
      card.appendChild(head);
      var list = el('dl');
      field(list, T.attempts, o.attempts);
      field(list, T.nextTry, when(o.nextTryAt), 'next-try');
      // The reason in plain words quotes the server's reply; the bare reply only when there is none.
      var last = o.lastError || {};
      var reply = reasons[o.orderId] || last.smtpResponse || last.message;
      if (reply) field(list, T.lastReply, reply, 'last-reply');
      card.appendChild(list);
      box.appendChild(card);
    });
    return box;
  }

  function renderTimeline(id) {
    var details = el('details', 'timeline');
    details.appendChild(el('summary', null, T.timeline));
    var trace = ui.traces[id];
    var pre = el('pre', null, trace === undefined ? T.timelineLoading : trace);
    details.appendChild(pre);
    details.open = !!ui.open[id];
    details.addEventListener('toggle', function () {
      var wasOpen = !!ui.open[id];
      ui.open[id] = details.open;
      if (details.open && !wasOpen) loadTrace(id);
    });
    return details;
  }

  function renderFailed(report, reasons) {
    var box = el('section', 'failed-orders');
    box.appendChild(el('h3', null, T.failedOrders));
    var orders = report.failed || [];
    if (orders.length === 0) {
      box.appendChild(el('p', 'quiet', T.noFailed));
      return box;
    }
    orders.forEach(function (o) {
      var id = o.orderId;
      var card = el('article', 'order failed');
      card.setAttribute('data-order', id);
      var head = el('header');
      head.appendChild(el('strong', 'id', id));
      head.appendChild(el('span', 'company-name', companyName(o.company)));
      card.appendChild(head);
      var list = el('dl');
      field(list, T.failedAt, when(o.failedAt), 'failed-at');
      field(list, T.recipients, (o.to || []).join(', '), 'to');
      field(list, T.subject, o.subject || '', 'subject');
      var error = o.error || {};
      var reason = reasons[id] || error.message;
      if (reason) field(list, T.reason, reason, 'reason');
      card.appendChild(list);
      var actions = el('div', 'actions');
      var button = el('button', 'retry', ui.pending[id] ? T.retrying : T.retry);
      button.type = 'button';
      button.disabled = !!ui.pending[id];
      button.addEventListener('click', function () { retry(id); });
      actions.appendChild(button);
      var answer = ui.answers[id];
      var said = el('p', 'answer' + (answer ? (answer.ok ? ' ok' : ' bad') : ''), answer ? answer.text : '');
      said.setAttribute('role', 'status');
      actions.appendChild(said);
      card.appendChild(actions);
      card.appendChild(renderTimeline(id));
      box.appendChild(card);
    });
    return box;
  }

  function renderFolder(report, several, reasons) {
    var box = el('section', 'folder');
    if (report.dir) box.setAttribute('data-dir', report.dir);
    var head = el(several ? 'h2' : 'p', several ? null : 'folder-line');
    head.textContent = T.folder + ': ' + (report.dir || '');
    box.appendChild(head);
    if (report.mailer) box.appendChild(el('p', 'mailer ' + (report.mailer.running ? 'running' : 'stopped'), report.mailer.running ? T.mailerRunning : T.mailerStopped));
    if (report.folderProblem) box.appendChild(el('p', 'warn-line folder-problem', T.folderProblem));
    if (report.logGaps && report.logGaps.length > 0) box.appendChild(el('p', 'warn-line', T.logGaps));
    if (!several) box.appendChild(el('h2', null, T.companies));
    box.appendChild(renderCompanies(report));
    box.appendChild(renderDeferred(report, reasons));
    box.appendChild(renderFailed(report, reasons));
    return box;
  }

  var OUTCOME_TEXT = { queued: 'retriedQueued', sent: 'retriedSent', failed: 'retriedFailed', deferred: 'retriedDeferred' };

  function renderRetried() {
    var box = el('section', 'retried');
    box.appendChild(el('h2', null, T.retried));
    var list = el('ul');
    ui.retried.forEach(function (r) {
      var item = el('li', 'retried-order ' + r.outcome);
      item.setAttribute('data-order', r.id);
      item.appendChild(el('strong', 'id', r.id));
      item.appendChild(el('span', 'outcome', T[OUTCOME_TEXT[r.outcome]]));
      if (r.message) item.appendChild(el('span', 'message', r.message));
      list.appendChild(item);
    });
    box.appendChild(list);
    return box;
  }

  function draw() {
    if (!current) return;
    var app = document.getElementById('app');
    var doc = current.status || {};
    var folders = Array.isArray(doc.folders) ? doc.folders : [doc];
    var several = folders.length > 1;
    var reasons = current.reasons || {};
    var content = document.createDocumentFragment();
    content.appendChild(renderAlerts(current.alerts));
    if (ui.retried.length > 0) content.appendChild(renderRetried());
    folders.forEach(function (report) { content.appendChild(renderFolder(report, several, reasons[report.dir] || {})); });
    app.replaceChildren(content);
    app.setAttribute('aria-busy', 'false');
    // A tab left open in the office shows in its title that something needs a person.
    var alerts = (current.alerts || []).length;
    document.title = (alerts > 0 ? '(' + alerts + ') ' : '') + T.title;
  }

  function withoutTimes(key, value) {
    return key === 'at' ? undefined : value;
  }

  function apply(state) {
    if (!state || typeof state !== 'object') return;
    // The first answer to /api/page-state may arrive after a newer state from the stream: keep the newer.
    if (current && Date.parse(state.at) < Date.parse(current.at)) return;
    current = state;
    var updated = document.getElementById('updated');
    updated.textContent = T.updated + ': ' + when(state.at, true);
    updated.setAttribute('data-at', String(state.at || ''));
    var key = JSON.stringify(state, withoutTimes);
    if (key !== currentKey) {
      currentKey = key;
      draw();
      followRetried();
      // An open timeline follows its order.
      Object.keys(ui.open).forEach(function (id) { if (ui.open[id]) loadTrace(id); });
    }
  }

  function readJson(response) {
    return response.json().then(function (body) {
      return { status: response.status, ok: response.ok, body: body };
    }, function () {
      return { status: response.status, ok: false, body: null };
    });
  }

  function loadTrace(id) {
    fetch(orderUrl(id) + LANG_QUERY, { credentials: 'same-origin' })
      .then(readJson)
      .then(function (r) {
        ui.traces[id] = r.ok && r.body && typeof r.body.text === 'string' ? r.body.text : T.timelineFailed + ' (HTTP ' + r.status + ')';
      }, function () {
        ui.traces[id] = T.timelineFailed;
      })
      .then(draw);
  }

  function retry(id) {
    if (ui.pending[id]) return;
    ui.pending[id] = true;
    delete ui.answers[id];
    draw();
    fetch(orderUrl(id) + '/retry' + LANG_QUERY, { method: 'POST', credentials: 'same-origin' })
      .then(readJson)
      .then(function (r) {
        var body = r.body || {};
        var text = typeof body.message === 'string' && body.message ? body.message : T.retryFailed + ' (HTTP ' + r.status + ')';
        var ok = r.ok && body.ok === true;
        ui.answers[id] = { ok: ok, text: text };
        if (ok) {
          ui.retried = ui.retried.filter(function (x) { return x.id !== id; });
          ui.retried.unshift({ id: id, message: text, outcome: 'queued' });
          delete ui.traces[id];
        }
      }, function () {
        ui.answers[id] = { ok: false, text: T.retryFailed };
      })
      .then(function () {
        delete ui.pending[id];
        draw();
        followRetried();
      });
  }

  // The outcome of an order retried from this page, from its trace: the last
  // outcome state entered after the last retry request.
  function outcomeOf(trace) {
    var entries = (trace && trace.entries) || [];
    var outcome = 'queued';
    entries.forEach(function (e) {
      if (e.event === 'order.retry_requested') outcome = 'queued';
      else if (e.event === 'order.transition' && (e.to === 'sent' || e.to === 'failed' || e.to === 'deferred')) outcome = e.to;
    });
    return outcome;
  }

  var following = false;
  function followRetried() {
    var open = ui.retried.filter(function (r) { return r.outcome === 'queued' || r.outcome === 'deferred'; });
    if (following || open.length === 0) return;
    following = true;
    Promise.all(open.map(function (r) {
      return fetch(orderUrl(r.id) + LANG_QUERY, { credentials: 'same-origin' })
        .then(readJson)
        .then(function (answer) {
          if (answer.ok && answer.body) r.outcome = outcomeOf(answer.body);
        }, function () {});
    })).then(function () {
      following = false;
      draw();
      if (ui.retried.some(function (r) { return r.outcome === 'queued'; })) setTimeout(followRetried, 2000);
    });
  }

  var source = null;
  var refused = false;
  function connected(yes) {
    if (yes) refused = false;
    var conn = document.getElementById('conn');
    conn.textContent = yes ? T.live : T.reconnecting;
    conn.className = 'conn ' + (yes ? 'live' : 'lost');
    var lost = document.getElementById('lost');
    lost.textContent = refused ? T.unauthorized : T.reconnecting;
    lost.hidden = yes;
    document.body.classList.toggle('stale', !yes);
  }

  function connect() {
    source = new EventSource('/api/events' + LANG_QUERY);
    source.addEventListener('state', function (event) {
      connected(true);
      try { apply(JSON.parse(event.data)); } catch (e) { /* a broken message waits for the next one */ }
    });
    source.addEventListener('open', function () { connected(true); });
    source.addEventListener('error', function () {
      connected(false);
      // EventSource retries by itself unless the server refused the stream (closed):
      // then ask again every few seconds, saying so when the refusal is the token's.
      if (source.readyState === EventSource.CLOSED) {
        source.close();
        fetch('/api/page-state' + LANG_QUERY, { credentials: 'same-origin' }).then(function (r) {
          if (r.status === 401) {
            refused = true;
            connected(false);
          }
        }, function () {});
        setTimeout(connect, 3000);
      }
    });
  }

  function start() {
    fetch('/api/page-state' + LANG_QUERY, { credentials: 'same-origin' })
      .then(readJson)
      .then(function (r) { if (r.ok) apply(r.body); }, function () {});
    connect();
  }

  start();
`;

/** The browser code served as `/app.js`. */
export const PAGE_SCRIPT: string = `(function () {\n  'use strict';\n  var TEXT = ${JSON.stringify(PAGE_TEXT)};\n${BODY}})();\n`;
