/**
 * Decoded text → a small, safe element tree. fast-xml-parser does the
 * tokenising; everything security- or meaning-relevant is decided here:
 *
 * - any DTD markup (`<!DOCTYPE`, `<!ENTITY`, …) is refused before the parser
 *   sees the text, so no entity is ever defined, expanded or fetched;
 * - the parser's own entity handling is off: the five XML entities and numeric
 *   references are decoded here, and anything else (`&nbsp;`, `&#0;`) is a
 *   well-formedness error, reported with the element it was found in;
 * - names that are dangerous as object keys (`__proto__`, `constructor`…) are
 *   escaped on the way in and restored here, so they are ordinary unknown
 *   elements; the tree itself uses arrays and Maps, never name-keyed objects.
 *
 * Guarantees: never throws.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { ErrorCodes, MailerError } from '../errors.js';

export interface XmlElement {
  /** The name exactly as written in the file. */
  name: string;
  /** Attributes by original name, values entity-decoded. */
  attributes: { name: string; value: string }[];
  children: XmlElement[];
  /** Text and CDATA content of this element itself, in document order, decoded, not trimmed. */
  text: string;
  /** The first entity reference XML does not define, found in this element's text or attributes. */
  badReference?: string;
}

export type XmlReadResult = { ok: true; root: XmlElement } | { ok: false; error: MailerError };

/** The name prefix that keeps `__proto__` & co. from ever being an object key inside the parser. */
const ESCAPE = '#';
const CRITICAL = new Set(['__proto__', 'constructor', 'prototype']);
const escapeName = (name: string): string => (CRITICAL.has(name) ? ESCAPE + name : name);
const unescapeName = (key: string): string => (key.startsWith(ESCAPE) ? key.slice(ESCAPE.length) : key);

const TEXT = '#text';
const CDATA = '#cdata';
const ATTRS = ':@';

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  processEntities: false,
  htmlEntities: false,
  cdataPropName: CDATA,
  commentPropName: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  transformTagName: escapeName,
  transformAttributeName: escapeName,
  onDangerousProperty: (name) => ESCAPE + name,
});

/** Text → root element, or the single file-level reason it cannot be read. */
export function readXml(text: string): XmlReadResult {
  const dtd = findDtdMarkup(text);
  if (dtd !== undefined) {
    return fail(ErrorCodes.ORDER_DOCTYPE, 'The order contains a DOCTYPE or other DTD markup, which is refused', dtd);
  }
  const valid = XMLValidator.validate(text);
  if (valid !== true) {
    const { msg, line, col } = valid.err;
    return fail(ErrorCodes.ORDER_XML_MALFORMED, `Malformed XML at line ${line}, column ${col}: ${msg}`, `line ${line}, col ${col}: ${msg}`);
  }
  let raw: unknown;
  try {
    raw = parser.parse(text);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return fail(ErrorCodes.ORDER_XML_MALFORMED, `Malformed XML: ${message}`, message);
  }
  const roots = toElements(raw);
  if (roots.length !== 1) {
    return fail(ErrorCodes.ORDER_XML_MALFORMED, `An XML document has exactly one root element, found ${roots.length}`, String(roots.length));
  }
  return { ok: true, root: roots[0] };
}

function fail(code: MailerError['code'], message: string, value: string): XmlReadResult {
  return { ok: false, error: new MailerError(code, message, { value }) };
}

/**
 * The first `<!X` that is neither a comment nor CDATA, outside comments and
 * CDATA sections. In well-formed content a literal `<` is always markup, so this
 * finds every DOCTYPE, wherever it hides (the validator accepts one inside an
 * element).
 */
export function findDtdMarkup(text: string): string | undefined {
  let i = 0;
  while ((i = text.indexOf('<!', i)) !== -1) {
    if (text.startsWith('<!--', i)) {
      const end = text.indexOf('-->', i + 4);
      if (end === -1) return undefined; // unterminated: the validator reports it
      i = end + 3;
    } else if (text.startsWith('<![CDATA[', i)) {
      const end = text.indexOf(']]>', i + 9);
      if (end === -1) return undefined;
      i = end + 3;
    } else {
      return text.slice(i, i + 40);
    }
  }
  return undefined;
}

/** fast-xml-parser's ordered output → elements, dropping the text nodes found between top-level elements. */
function toElements(nodes: unknown): XmlElement[] {
  if (!Array.isArray(nodes)) return [];
  const out: XmlElement[] = [];
  for (const node of nodes) {
    const key = elementKey(node);
    if (key !== undefined) out.push(toElement(key, node as Record<string, unknown>));
  }
  return out;
}

function elementKey(node: unknown): string | undefined {
  if (node === null || typeof node !== 'object') return undefined;
  return Object.keys(node).find((k) => k !== ATTRS && k !== TEXT && k !== CDATA);
}

function toElement(key: string, node: Record<string, unknown>): XmlElement {
  const content = Array.isArray(node[key]) ? (node[key] as unknown[]) : [];
  const element: XmlElement = { name: unescapeName(key), attributes: [], children: [], text: '' };
  const decode = (raw: string): string => {
    const result = decodeEntities(raw);
    if ('text' in result) return result.text;
    element.badReference ??= result.bad;
    return raw;
  };
  element.attributes = readAttributes(node[ATTRS]).map((a) => ({ name: a.name, value: decode(a.value) }));
  for (const item of content) {
    if (item === null || typeof item !== 'object') continue;
    const record = item as Record<string, unknown>;
    if (Object.hasOwn(record, TEXT)) element.text += decode(String(record[TEXT]));
    else if (Object.hasOwn(record, CDATA)) element.text += cdataText(record[CDATA]);
    else {
      const childKey = elementKey(record);
      if (childKey !== undefined) element.children.push(toElement(childKey, record));
    }
  }
  return element;
}

/** CDATA arrives as `[{ '#text': … }]`; its content is literal, never entity-decoded. */
function cdataText(value: unknown): string {
  if (!Array.isArray(value)) return '';
  return value.map((part) => (part && typeof part === 'object' && TEXT in part ? String((part as Record<string, unknown>)[TEXT]) : '')).join('');
}

function readAttributes(value: unknown): { name: string; value: string }[] {
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value as Record<string, unknown>).map(([name, v]) => ({ name: unescapeName(name), value: String(v) }));
}

/** XML 1.0 `Char`: what a numeric reference may name. */
function isXmlChar(cp: number): boolean {
  return cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/**
 * Decodes the XML entities of raw (non-CDATA) text. Returns the decoded text,
 * or the first reference that XML does not define (e.g. `&nbsp;`, `&#0;`).
 */
export function decodeEntities(raw: string): { text: string } | { bad: string } {
  let bad: string | undefined;
  const text = raw.replace(/&([^;&\s<]*);?/g, (ref: string, body: string) => {
    const value = resolveReference(ref, body);
    if (value === undefined && bad === undefined) bad = ref;
    return value ?? ref;
  });
  return bad === undefined ? { text } : { bad };
}

function resolveReference(ref: string, body: string): string | undefined {
  if (!ref.endsWith(';')) return undefined;
  if (Object.hasOwn(NAMED, body)) return NAMED[body];
  const numeric = /^#(?:x([0-9a-fA-F]{1,8})|([0-9]{1,10}))$/.exec(body);
  if (!numeric) return undefined;
  const cp = numeric[1] !== undefined ? parseInt(numeric[1], 16) : parseInt(numeric[2], 10);
  return isXmlChar(cp) ? String.fromCodePoint(cp) : undefined;
}
