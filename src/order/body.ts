/**
 * `Cuerpo` → the message body. A body that starts with the word `HTML` (any
 * case, after leading white space) is an HTML document; anything else is plain
 * text.
 *
 * White space: the spec keeps Cuerpo's *inner* white space. Leading blank lines
 * and trailing white space (the indentation the XML writer put around the
 * element's content) are removed; everything between, including the first
 * line's own indentation, line breaks and blank lines, is kept exactly.
 *
 * Guarantees: never throws; an HTML body always comes with a plain-text
 * alternative derived from it; time and memory stay proportional to the
 * body's length (a body of megabytes is legal: an order may be 10 MB).
 */
import { createRequire } from 'node:module';

import type { HtmlToTextOptions } from 'html-to-text';
import type { OrderBody } from './types.js';
import { streamHtmlToText } from './html-text.js';

/** The word `HTML` as a whole word (so a text body starting with "HTMLes…" is not mistaken for HTML). */
const HTML_PREFIX = /^\s*HTML(?![\p{L}\p{N}_])/iu;

type Convert = (html: string, options: HtmlToTextOptions) => string;
let convert: Convert | undefined;

/**
 * html-to-text's `convert`, loaded (synchronously, its CommonJS build) the
 * first time an HTML body is met: most orders are plain text, and loading it
 * costs the mailer's start-up ~70 ms. Still a pure function of its input.
 */
function htmlToText(): Convert {
  convert ??= (createRequire(import.meta.url)('html-to-text') as { convert: Convert }).convert;
  return convert;
}

const TEXT_OPTIONS: HtmlToTextOptions = {
  // Unwrapped: mail clients wrap for display, and wrapping would break long URLs.
  wordwrap: false,
  selectors: [
    { selector: 'a', options: { hideLinkHrefIfSameAsText: true, ignoreHref: false } },
    // Inline images (often data: URIs) say nothing in a text alternative.
    { selector: 'img', format: 'skip' },
  ],
};

/**
 * HTML bodies longer than this (in characters) get their text alternative
 * from `streamHtmlToText` rather than html-to-text, whose DOM and layout
 * tree cost about 40 times the HTML's size in memory (a 4 MB table: 175 MB
 * of heap, 2.7 s), more than the service's heap cap allows.
 */
export const LARGE_HTML_CHARS = 256 * 1024;

/**
 * Removes leading blank lines and trailing white space, keeping everything in
 * between as written. `trimEnd` removes exactly what `/\s+$/` matches, in
 * linear time (that expression is quadratic on a long run of spaces that does
 * not reach the end: minutes for a body of a few MB).
 */
export function trimBody(raw: string): string {
  return raw.replace(/^(?:[ \t\r\f\v]*\n)+/, '').trimEnd();
}

/** Raw Cuerpo content (entities and CDATA already decoded) → text or HTML body. */
export function parseBody(raw: string): OrderBody {
  const match = HTML_PREFIX.exec(raw);
  if (!match) return { kind: 'text', text: trimBody(raw) };
  const html = raw.slice(match[0].length).trim();
  return { kind: 'html', html, text: htmlToPlainText(html) };
}

/** The plain-text alternative of an HTML body: links shown as `text [url]`, images left out. */
export function htmlToPlainText(html: string): string {
  if (html.length > LARGE_HTML_CHARS) return streamHtmlToText(html);
  try {
    return htmlToText()(html, TEXT_OPTIONS).trim();
  } catch {
    // html-to-text is lenient; should it ever fail, the streamed rendering is still better than none.
    return streamHtmlToText(html);
  }
}
