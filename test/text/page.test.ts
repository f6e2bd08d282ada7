/**
 * The status window's files as text: what the Content-Security-Policy and the
 * "order data is never HTML" rule demand of them, and both languages complete.
 * (test/e2e/ui-browser.test.ts proves the same in a real browser.)
 */
import { Script } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { escapeHtml, pageHtml } from '../../src/text/page/html.js';
import { PAGE_SCRIPT } from '../../src/text/page/script.js';
import { PAGE_STYLE } from '../../src/text/page/style.js';
import { PAGE_TEXT } from '../../src/text/page/strings.js';

describe('the status page shell', () => {
  it.each(['es', 'en'] as const)('in %s: says its language, loads only its own script and stylesheet, nothing inline', (lang) => {
    const html = pageHtml(lang);
    expect(html).toMatch(new RegExp(`<html lang="${lang}">`));
    expect(html).toContain(`<title>${escapeHtml(PAGE_TEXT[lang].title)}</title>`);
    // Every <script> has a src (no inline code) and it is /app.js; the one stylesheet is /app.css.
    expect([...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0])).toEqual(['<script src="/app.js" defer>']);
    expect(html).not.toMatch(/<script[^>]*>[^<]/);
    expect([...html.matchAll(/<link\b[^>]*rel="stylesheet"[^>]*>/g)].map((m) => m[0])).toEqual(['<link rel="stylesheet" href="/app.css">']);
    // No inline style, no inline event handler, no external resource.
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
    expect(html).not.toMatch(/(?:src|href)="(?:https?:)?\/\//i);
    // The elements the script fills in.
    for (const id of ['app', 'conn', 'updated', 'lost', 'lang']) expect(html).toContain(`id="${id}"`);
    expect(html).toContain(`href="?lang=${lang === 'es' ? 'en' : 'es'}"`);
  });

  it('escapes the characters HTML gives meaning to', () => {
    expect(escapeHtml(`<img src=x onerror="a('b')">&`)).toBe('&lt;img src=x onerror=&quot;a(&#39;b&#39;)&quot;&gt;&amp;');
  });
});

describe('the status page script', () => {
  it('is valid plain JavaScript', () => {
    expect(() => new Script(PAGE_SCRIPT)).not.toThrow();
  });

  it('never turns data into HTML or code, and loads nothing from elsewhere', () => {
    // The CSP forbids eval; innerHTML and its kin would let a hostile Asunto run.
    expect(PAGE_SCRIPT).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|setTimeout\(\s*['"`]|setInterval\(\s*['"`]/);
    expect(PAGE_SCRIPT).not.toMatch(/https?:\/\//);
  });

  it('uses the routes the server serves, with the language and URL-encoded order ids', () => {
    expect(PAGE_SCRIPT).toContain("'/api/page-state' + LANG_QUERY");
    expect(PAGE_SCRIPT).toContain("new EventSource('/api/events' + LANG_QUERY)");
    expect(PAGE_SCRIPT).toContain("'/api/orders/' + encodeURIComponent(id)");
    expect(PAGE_SCRIPT).toContain("{ method: 'POST', credentials: 'same-origin' }");
  });

  it('carries both languages', () => {
    expect(PAGE_SCRIPT).toContain(JSON.stringify(PAGE_TEXT));
  });
});

describe('the status page stylesheet', () => {
  it('needs no external resource and adapts to a phone', () => {
    expect(PAGE_STYLE).not.toMatch(/@import|url\(/);
    expect(PAGE_STYLE).toMatch(/@media \(max-width: [0-9.]+rem\)/);
  });
});

describe('the status page words', () => {
  it('has every label in both languages, different and not empty', () => {
    expect(Object.keys(PAGE_TEXT.en).sort()).toEqual(Object.keys(PAGE_TEXT.es).sort());
    for (const key of Object.keys(PAGE_TEXT.es) as (keyof typeof PAGE_TEXT.es)[]) {
      expect(PAGE_TEXT.es[key].trim(), key).not.toBe('');
      expect(PAGE_TEXT.en[key].trim(), key).not.toBe('');
    }
    expect(PAGE_TEXT.es.retry).toBe('Reintentar');
    expect(PAGE_TEXT.en.retry).toBe('Retry');
    expect(PAGE_TEXT.es.allWell).toMatch(/todo en orden/i);
    expect(PAGE_TEXT.en.allWell).toMatch(/all is well/i);
  });
});
