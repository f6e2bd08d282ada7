/**
 * The status window's HTML shell, served at `/`: the frame the browser script
 * (`/app.js`, ./script.ts) fills in, styled by `/app.css` (./style.ts).
 *
 * It carries no inline script or style (the server's Content-Security-Policy
 * forbids both) and no data: every value is drawn by the script from
 * `/api/page-state` and `/api/events`. The only variable parts are the
 * language's fixed labels, so nothing here needs escaping beyond the
 * catalogue's own text, which `escapeHtml` covers anyway.
 */
import type { Language } from '../../config/types.js';
import { PAGE_TEXT } from './strings.js';

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text made safe for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
}

/** The page in `lang` (`<html lang>` tells the script which language to speak). */
export function pageHtml(lang: Language): string {
  const t = PAGE_TEXT[lang];
  const other: Language = lang === 'es' ? 'en' : 'es';
  const e = escapeHtml;
  return `<!doctype html>
<html lang="${lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${e(t.title)}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/app.css">
<script src="/app.js" defer></script>
</head>
<body>
<header class="top">
<h1>${e(t.heading)}</h1>
<p class="meta"><span id="conn" class="conn" role="status"></span> <span id="updated">${e(t.updated)}: ${e(t.never)}</span> <a id="lang" href="?lang=${other}" hreflang="${other}" lang="${other}">${e(t.language)}</a></p>
</header>
<p id="lost" class="lost" role="alert" hidden></p>
<main id="app" aria-busy="true">
<p class="quiet">${e(t.loading)}</p>
<noscript><p>${e(t.noScript)}</p></noscript>
</main>
</body>
</html>
`;
}
