/**
 * The lane key of an order read straight from its bytes, without the full
 * parse, for the intake: it only needs to know which company's queue an
 * order waits in, and the order is parsed (once) after it is claimed.
 *
 * Why: with thousands of orders waiting, parsing each one at intake and again
 * after the claim doubled the parsing and kept the main thread from feeding
 * the SMTP worker while the backlog was being read.
 *
 * Guarantee: it returns what `laneOfParsed` (order/resolve.ts: the full parse
 * and resolution) would return, or undefined whenever it cannot be sure, and
 * the caller then parses. It answers only for the plain case: an
 * ASCII-compatible encoding (UTF-8, windows-1252, ISO-8859-1, ASCII; never
 * UTF-16), a file that starts with
 * `<OrdenEnvio>` and ends with `</OrdenEnvio>`, exactly one `<Empresa>`
 * element, a direct child of the root, with nothing but tags and text before
 * it (no comment, CDATA, DOCTYPE or processing instruction other than the XML
 * declaration), and a non-empty value of printable ASCII without `&`; a file
 * that claims UTF-8 must be valid UTF-8 throughout. Pure.
 */

import { isUtf8 } from 'node:buffer';

import { laneKey } from './lane.js';

/** How far into the file the element is looked for (it is near the top in every ERP order). */
const SCAN_BYTES = 16 * 1024;
const ASCII_COMPATIBLE = new Set(['utf-8', 'utf8', 'windows-1252', 'cp1252', 'iso-8859-1', 'latin1', 'us-ascii', 'ascii']);

export function scanCompany(bytes: Buffer): string | undefined {
  let start = 0;
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) start = 3;
  // latin1 maps every byte to one character: ASCII stays ASCII whatever the real encoding.
  const head = bytes.subarray(start, start + SCAN_BYTES).toString('latin1');
  if (head.includes('\u0000')) return undefined; // UTF-16 (with or without BOM) or binary

  let rest = head;
  let claimsUtf8 = start === 3;
  const decl = /^\s*<\?xml\s[^?]*\?>/i.exec(rest);
  if (decl) {
    const encoding = /\bencoding\s*=\s*["']([^"']*)["']/i.exec(decl[0])?.[1]?.trim().toLowerCase();
    if (encoding !== undefined && !ASCII_COMPATIBLE.has(encoding)) return undefined;
    if (encoding === 'utf-8' || encoding === 'utf8') claimsUtf8 = true;
    rest = rest.slice(decl[0].length);
  }

  const opens = [...rest.matchAll(/<empresa(?=[\s/>])/gi)];
  if (opens.length !== 1) return undefined;
  const at = opens[0]!.index!;
  const prefix = rest.slice(0, at);
  if (prefix.includes('<!') || prefix.includes('<?')) return undefined;
  if (depthAfter(prefix) !== 1 || !/^\s*<ordenenvio[\s>]/i.test(prefix)) return undefined;
  // Cut short (the intake reads complete files, but a file may still be broken): the parse decides.
  const tail = bytes.subarray(Math.max(start, bytes.length - 64)).toString('latin1');
  if (!/<\/ordenenvio\s*>\s*$/i.test(tail)) return undefined;
  // A file that claims UTF-8 and is not is refused by the parse (decode.ts, ORDER_ENCODING).
  if (claimsUtf8 && !isUtf8(bytes.subarray(start))) return undefined;

  const element = /^<empresa\s*>([^<]*)<\/empresa\s*>/i.exec(rest.slice(at));
  if (!element) return undefined;
  const value = element[1]!;
  if (!/^[\x20-\x7e]*$/.test(value) || value.includes('&')) return undefined;
  // A blank <Empresa> leaves the key to the SMTP user or the sender: only the resolver knows them.
  const key = laneKey(value);
  return key === '' ? undefined : key;
}

/** Element nesting depth after `text` (tags only; undefined when something is not a plain tag). */
function depthAfter(text: string): number | undefined {
  let depth = 0;
  const tags = /<(\/?)([^\s/>]+)[^>]*?(\/?)>/g;
  let consumed = 0;
  for (const tag of text.matchAll(tags)) {
    if (text.slice(consumed, tag.index).includes('<')) return undefined;
    consumed = tag.index! + tag[0].length;
    if (tag[1] === '/') depth -= 1;
    else if (tag[3] !== '/') depth += 1;
    if (depth < 0) return undefined;
  }
  return text.slice(consumed).includes('<') ? undefined : depth;
}
