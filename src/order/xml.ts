/**
 * Decoded text → XML events, in one forward pass that also checks that the
 * document is well-formed. Everything security- or meaning-relevant is
 * decided here:
 *
 * - any DTD markup (`<!DOCTYPE`, `<!ENTITY`, …) is refused before the scan,
 *   so no entity is ever defined, expanded or fetched;
 * - entities are never expanded by the scanner: the five XML entities and
 *   numeric references are decoded by `decodeEntities` where a value is
 *   used, and anything else (`&nbsp;`, `&#0;`) is reported by the caller with
 *   the element it was found in; a `&` that does not even form a reference
 *   in text is a well-formedness error;
 * - element and attribute names are only ever compared or used as Map keys,
 *   never as object keys, so `__proto__` or `constructor` are ordinary names.
 *
 * Why an own scanner: the cost of reading an order must stay proportional to
 * its size with a small constant, whatever its shape, because the mailer
 * runs with a capped heap (`--max-old-space-size=192` in the service). A
 * general-purpose parser builds an object per element and text node (9.5 MB
 * of unknown elements took more than that heap) and grows text and attribute
 * strings one character at a time (a 6.5 MB body took more than that heap).
 * This scanner allocates nothing per element: it hands its visitor offsets
 * into the text, and the visitor (tree.ts) keeps only what the order format
 * names.
 *
 * Guarantees: never throws for any input string (a document nested deeper
 * than MAX_DEPTH is an error, not a stack overflow: the scan is iterative);
 * time linear in the length of the text.
 */
import { ErrorCodes, MailerError, type XmlProblem } from '../errors.js';
import { describeXmlProblem } from '../text/errors.js';

/** Receives a well-formed document's events in document order (see `scanXml`). */
export interface XmlVisitor {
  /** An element starts; its name is `source.slice(from, to)`. */
  open(from: number, to: number): void;
  /** One attribute of the element just opened: its name and its raw value (entities not decoded). */
  attribute(name: string, raw: string): void;
  /** Character data of the current element, `source.slice(from, to)`: raw text (entities not decoded), or CDATA content (literal). */
  text(from: number, to: number, cdata: boolean): void;
  /** The current element ends. */
  close(): void;
}

/** How deep elements may nest below the root: deeper documents are refused rather than walked. */
export const MAX_DEPTH = 100;

/** XML names (the start and name characters of XML 1.0, as the previous parser accepted them). */
const NAME_START = ':A-Za-z_\\u00C0-\\u00D6\\u00D8-\\u00F6\\u00F8-\\u02FF\\u0370-\\u037D\\u037F-\\u1FFF\\u200C-\\u200D\\u2070-\\u218F\\u2C00-\\u2FEF\\u3001-\\uD7FF\\uF900-\\uFDCF\\uFDF0-\\uFFFD';
const NAME_CHAR = `${NAME_START}\\-.\\d\\u00B7\\u0300-\\u036F\\u203F-\\u2040`;
const NAME = new RegExp(`^[${NAME_START}][${NAME_CHAR}]*$`);
/** A reference as text may contain it: `&name;` (up to 20 word characters), `&#123;` or `&#x1F;` (checked for meaning later). */
const REFERENCE = /&(?:#x[0-9a-fA-F]*|#[0-9]*|\w{1,20});/y;

const isSpace = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;

/**
 * A well-formedness error at offset `at` of `text`: its line and column and
 * what was wrong travel as data (`xml`), from which text/errors.ts words the operator's
 * sentence; the message, for the log, is that sentence in English.
 */
function malformed(text: string, at: number, problem: Omit<XmlProblem, 'line' | 'column'>): MailerError {
  const { line, col } = lineAndColumn(text, at);
  const xml: XmlProblem = { ...problem, line, column: col };
  return new MailerError(ErrorCodes.ORDER_XML_MALFORMED, `Malformed XML at line ${line}, column ${col}: ${describeXmlProblem(xml, 'en')}`, { xml });
}

function lineAndColumn(text: string, at: number): { line: number; col: number } {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < at; i = text.indexOf('\n', i + 1)) {
    line += 1;
    start = i + 1;
  }
  return { line, col: at - start + 1 };
}

/** A name cut for an error message (names may be megabytes long). */
const shown = (name: string): string => (name.length > 60 ? `${name.slice(0, 60)}…` : name);

/** The tag name written right after the `<` at `lt` (up to white space, `>` or `/`), cut for a message. */
function tagNameAt(text: string, lt: number): string {
  const name = /^[^\s>/]*/.exec(text.slice(lt + 1, lt + 62))?.[0] ?? '';
  return shown(name);
}

/**
 * Scans `text` (DTD markup must have been refused already, see
 * `findDtdMarkup`), calling `visitor` for every element, attribute and piece
 * of text inside the root. Returns the first well-formedness error, or
 * undefined. Events already delivered before an error are meaningless then.
 */
export function scanXml(text: string, visitor: XmlVisitor): MailerError | undefined {
  const n = text.length;
  /** Where the name of each open element starts and ends (for matching its end tag). */
  const openFrom: number[] = [];
  const openTo: number[] = [];
  let rootSeen = false;
  let pos = 0;
  while (pos < n) {
    const lt = text.indexOf('<', pos);
    const end = lt === -1 ? n : lt;
    if (end > pos) {
      const problem = openFrom.length > 0 ? checkText(text, pos, end) : outsideText(text, pos, end, rootSeen);
      if (problem !== undefined) return problem;
      if (openFrom.length > 0) visitor.text(pos, end, false);
    }
    if (lt === -1) break;
    if (text.startsWith('<!--', lt)) {
      const close = text.indexOf('-->', lt + 4);
      if (close === -1) return malformed(text, lt, { kind: 'commentUnclosed' });
      pos = close + 3;
    } else if (text.startsWith('<![CDATA[', lt)) {
      const close = text.indexOf(']]>', lt + 9);
      if (close === -1) return malformed(text, lt, { kind: 'cdataUnclosed' });
      if (openFrom.length === 0) return malformed(text, lt, { kind: 'cdataOutsideRoot' });
      visitor.text(lt + 9, close, true);
      pos = close + 3;
    } else if (text.startsWith('<?', lt)) {
      const close = text.indexOf('?>', lt + 2);
      if (close === -1) return malformed(text, lt, { kind: 'instructionUnclosed' });
      if (lt > 0 && /^<\?xml[\s?]/.test(text.slice(lt, lt + 6))) return malformed(text, lt, { kind: 'declarationNotFirst' });
      pos = close + 2;
    } else if (text.startsWith('<!', lt)) {
      return malformed(text, lt, { kind: 'unexpectedBang' });
    } else if (text.startsWith('</', lt)) {
      const result = endTag(text, lt, openFrom, openTo);
      if (result instanceof MailerError) return result;
      visitor.close();
      pos = result;
    } else {
      if (openFrom.length === 0 && rootSeen) return malformed(text, lt, { kind: 'secondRoot', name: tagNameAt(text, lt) });
      if (openFrom.length > MAX_DEPTH) return malformed(text, lt, { kind: 'tooDeep', count: MAX_DEPTH });
      const result = startTag(text, lt, visitor);
      if (result instanceof MailerError) return result;
      rootSeen = true;
      if (result.selfClosing) visitor.close();
      else {
        openFrom.push(result.nameFrom);
        openTo.push(result.nameTo);
      }
      pos = result.next;
    }
  }
  if (openFrom.length > 0) {
    const last = openFrom.length - 1;
    return malformed(text, openFrom[last]! - 1, { kind: 'elementUnclosed', name: shown(text.slice(openFrom[last], openTo[last])) });
  }
  if (!rootSeen) return malformed(text, 0, { kind: 'noRoot' });
  return undefined;
}

/** Text inside an element: every `&` must start a reference. */
function checkText(text: string, from: number, to: number): MailerError | undefined {
  for (let amp = ampersandIn(text, from, to); amp !== -1; amp = ampersandIn(text, amp + 1, to)) {
    REFERENCE.lastIndex = amp;
    if (!REFERENCE.test(text) || REFERENCE.lastIndex > to) return malformed(text, amp, { kind: 'bareAmpersand' });
  }
  return undefined;
}

/** The first `&` in `source.slice(from, to)`, or -1 (not `indexOf`, which would search on to the end of the text: quadratic over many small pieces). */
function ampersandIn(source: string, from: number, to: number): number {
  for (let i = from; i < to; i++) if (source.charCodeAt(i) === 0x26) return i;
  return -1;
}

/** Only white space may stand outside the root element. */
function outsideText(text: string, from: number, to: number, rootSeen: boolean): MailerError | undefined {
  for (let i = from; i < to; i++) {
    if (!isSpace(text.charCodeAt(i))) return malformed(text, i, rootSeen ? { kind: 'textAfterRoot' } : { kind: 'textBeforeRoot', found: text[i]! });
  }
  return undefined;
}

/** `</name S?>` at `lt`, matching the innermost open element; returns the offset after it. */
function endTag(text: string, lt: number, openFrom: number[], openTo: number[]): number | MailerError {
  const close = text.indexOf('>', lt + 2);
  if (close === -1) return malformed(text, lt, { kind: 'endTagUnterminated', name: tagNameAt(text, lt + 1) });
  let nameEnd = lt + 2;
  while (nameEnd < close && !isSpace(text.charCodeAt(nameEnd))) nameEnd++;
  const name = text.slice(lt + 2, nameEnd);
  for (let i = nameEnd; i < close; i++) {
    if (!isSpace(text.charCodeAt(i))) return malformed(text, lt, { kind: 'endTagJunk', name: shown(name) });
  }
  const top = openFrom.length - 1;
  if (top < 0) return malformed(text, lt, { kind: 'endTagUnopened', name: shown(name) });
  const from = openFrom[top]!;
  const length = openTo[top]! - from;
  if (length !== name.length || !text.startsWith(name, from)) {
    const opened = lineAndColumn(text, from - 1);
    return malformed(text, lt, {
      kind: 'endTagMismatch',
      name: shown(name),
      expected: shown(text.slice(from, from + length)),
      openedLine: opened.line,
      openedColumn: opened.col,
    });
  }
  openFrom.pop();
  openTo.pop();
  return close + 1;
}

/**
 * `<name (S attr="v")* S? /?>` at `lt`: reports the element and its
 * attributes to the visitor. Attribute values may hold `>` inside their quotes.
 */
function startTag(text: string, lt: number, visitor: XmlVisitor): { nameFrom: number; nameTo: number; selfClosing: boolean; next: number } | MailerError {
  const n = text.length;
  const nameFrom = lt + 1;
  let i = nameFrom;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (isSpace(c) || c === 0x3e /* > */ || (c === 0x2f /* / */ && text.charCodeAt(i + 1) === 0x3e)) break;
    i++;
  }
  const nameTo = i;
  const name = text.slice(nameFrom, nameTo);
  if (!NAME.test(name)) return malformed(text, lt, name === '' ? { kind: 'tagNameMissing' } : { kind: 'tagNameInvalid', name: shown(name) });
  visitor.open(nameFrom, nameTo);
  const seen = new Set<string>();
  for (;;) {
    const spaceFrom = i;
    while (i < n && isSpace(text.charCodeAt(i))) i++;
    if (i >= n) return malformed(text, lt, { kind: 'attributeQuoteOpen', name: shown(name) });
    const c = text.charCodeAt(i);
    if (c === 0x3e) return { nameFrom, nameTo, selfClosing: false, next: i + 1 };
    if (c === 0x2f && text.charCodeAt(i + 1) === 0x3e) return { nameFrom, nameTo, selfClosing: true, next: i + 2 };
    const attrFrom = i;
    while (i < n) {
      const d = text.charCodeAt(i);
      if (isSpace(d) || d === 0x3d /* = */ || d === 0x3e || (d === 0x2f && text.charCodeAt(i + 1) === 0x3e)) break;
      i++;
    }
    const attrName = text.slice(attrFrom, i);
    if (spaceFrom === attrFrom) return malformed(text, attrFrom, { kind: 'attributeNoSpace', name: shown(attrName) });
    while (i < n && isSpace(text.charCodeAt(i))) i++;
    if (text.charCodeAt(i) !== 0x3d) return malformed(text, attrFrom, { kind: 'attributeNoValue', name: shown(attrName) });
    i++;
    while (i < n && isSpace(text.charCodeAt(i))) i++;
    const quote = text[i];
    if (quote !== '"' && quote !== "'") return malformed(text, attrFrom, { kind: 'attributeUnquoted', name: shown(attrName) });
    const valueEnd = text.indexOf(quote, i + 1);
    if (valueEnd === -1) return malformed(text, lt, { kind: 'attributeQuoteOpen', name: shown(name) });
    if (!NAME.test(attrName)) return malformed(text, attrFrom, { kind: 'attributeNameInvalid', name: shown(attrName) });
    if (seen.has(attrName)) return malformed(text, attrFrom, { kind: 'attributeRepeated', name: shown(attrName) });
    seen.add(attrName);
    visitor.attribute(attrName, text.slice(i + 1, valueEnd));
    i = valueEnd + 1;
  }
}

/**
 * The first `<!X` that is neither a comment nor CDATA, outside comments and
 * CDATA sections. In well-formed content a literal `<` is always markup, so this
 * finds every DOCTYPE, wherever it hides.
 */
export function findDtdMarkup(text: string): string | undefined {
  let i = 0;
  while ((i = text.indexOf('<!', i)) !== -1) {
    if (text.startsWith('<!--', i)) {
      const end = text.indexOf('-->', i + 4);
      if (end === -1) return undefined; // unterminated: the scan reports it
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

/** The refusal of DTD markup, or undefined when there is none. */
export function refuseDtd(text: string): MailerError | undefined {
  const dtd = findDtdMarkup(text);
  if (dtd === undefined) return undefined;
  return new MailerError(ErrorCodes.ORDER_DOCTYPE, 'The order contains a DOCTYPE or other DTD markup, which is refused', { value: dtd });
}

/**
 * XML's end-of-line handling (XML 1.0 §2.11): CR LF and a lone CR are read
 * as LF everywhere, before anything else. A CR written as `&#13;` stays a CR.
 */
export function normalizeLineEnds(text: string): string {
  return text.includes('\r') ? text.replace(/\r\n?/g, '\n') : text;
}

/** An element with everything in it: what `readXml` builds (tests, small documents). */
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

/**
 * Text → the whole element tree. For small documents only: it keeps every
 * element (orders are read by tree.ts, which keeps only what the format names).
 */
export function readXml(written: string): XmlReadResult {
  const text = normalizeLineEnds(written);
  const dtd = refuseDtd(text);
  if (dtd) return { ok: false, error: dtd };
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  const error = scanXml(text, {
    open(from, to) {
      const element: XmlElement = { name: text.slice(from, to), attributes: [], children: [], text: '' };
      stack[stack.length - 1]?.children.push(element);
      root ??= element;
      stack.push(element);
    },
    attribute(name, raw) {
      const element = stack[stack.length - 1]!;
      const decoded = decodeEntities(raw);
      if ('bad' in decoded) element.badReference ??= decoded.bad;
      element.attributes.push({ name, value: 'text' in decoded ? decoded.text : raw });
    },
    text(from, to, cdata) {
      const element = stack[stack.length - 1]!;
      const raw = text.slice(from, to);
      const decoded = cdata ? { text: raw } : decodeEntities(raw);
      if ('bad' in decoded) element.badReference ??= decoded.bad;
      element.text += 'text' in decoded ? decoded.text : raw;
    },
    close() {
      stack.pop();
    },
  });
  if (error) return { ok: false, error };
  return { ok: true, root: root! };
}

/** XML 1.0 `Char`: what a numeric reference may name. */
function isXmlChar(cp: number): boolean {
  return cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const ANY_REFERENCE = /&([^;&\s<]*);?/g;

/**
 * Decodes the XML entities of raw (non-CDATA) text. Returns the decoded text,
 * or the first reference that XML does not define (e.g. `&nbsp;`, `&#0;`).
 *
 * A loop over the references rather than `replace` with a callback: on a
 * body of escaped HTML (hundreds of thousands of `&lt;`) the callback form
 * peaked at 45 times the text's size in memory.
 */
export function decodeEntities(raw: string): { text: string } | { bad: string } {
  let amp = raw.indexOf('&');
  if (amp === -1) return { text: raw };
  const out = new Pieces();
  let from = 0;
  while (amp !== -1) {
    ANY_REFERENCE.lastIndex = amp;
    const match = ANY_REFERENCE.exec(raw)!;
    const ref = match[0];
    const value = resolveReference(ref, match[1]!);
    if (value === undefined) return { bad: ref };
    out.add(raw.slice(from, amp));
    out.add(value);
    from = amp + ref.length;
    amp = raw.indexOf('&', from);
  }
  out.add(raw.slice(from));
  return { text: out.join() };
}

/** Strings collected in blocks of a few thousand, each block joined once: few objects, each byte copied twice at most. */
export class Pieces {
  private parts: string[] = [];
  private readonly blocks: string[] = [];

  add(part: string): void {
    if (part === '') return;
    this.parts.push(part);
    if (this.parts.length >= 4096) {
      this.blocks.push(this.parts.join(''));
      this.parts = [];
    }
  }

  join(): string {
    this.blocks.push(this.parts.join(''));
    this.parts = [];
    const text = this.blocks.join('');
    this.blocks.length = 0;
    this.blocks.push(text);
    return text;
  }
}

/**
 * The first reference in `source.slice(from, to)` that XML does not define,
 * or undefined: `decodeEntities`' verdict without building the decoded text
 * (for content that is checked but not used).
 */
export function firstBadReference(source: string, from = 0, to = source.length): string | undefined {
  for (let amp = ampersandIn(source, from, to); amp !== -1; amp = ampersandIn(source, amp + 1, to)) {
    ANY_REFERENCE.lastIndex = amp;
    const match = ANY_REFERENCE.exec(source);
    if (match === null || match.index !== amp) continue;
    const ref = match.index + match[0].length > to ? source.slice(amp, to) : match[0];
    const body = ref.endsWith(';') ? ref.slice(1, -1) : ref.slice(1);
    if (resolveReference(ref, body) === undefined) return ref;
  }
  return undefined;
}

function resolveReference(ref: string, body: string): string | undefined {
  if (!ref.endsWith(';')) return undefined;
  if (Object.hasOwn(NAMED, body)) return NAMED[body];
  const numeric = /^#(?:x([0-9a-fA-F]{1,8})|([0-9]{1,10}))$/.exec(body);
  if (!numeric) return undefined;
  const cp = numeric[1] !== undefined ? parseInt(numeric[1], 16) : parseInt(numeric[2]!, 10);
  return isXmlChar(cp) ? String.fromCodePoint(cp) : undefined;
}
