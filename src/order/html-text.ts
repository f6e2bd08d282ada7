/**
 * A plain-text rendering of HTML whose cost stays proportional to its length
 * with a small constant, for bodies too large for html-to-text (body.ts):
 * html-to-text builds a DOM and a layout tree, which for a 4 MB HTML table
 * took 175 MB of heap and 2.7 s. This one streams the document through
 * htmlparser2's tokenizer (the one html-to-text itself uses), keeps no tree,
 * and joins its output as it goes.
 *
 * Layout, simpler than html-to-text's but of the same kind:
 * - text with its white space collapsed (kept as written inside `<pre>`),
 *   entities decoded;
 * - paragraphs, headings, lists, tables and other blocks on lines of their
 *   own, separated by a blank line (`<div>`, `<tr>`, `<li>` by a line break;
 *   list items start with ` * `; table cells are separated by a tab);
 * - headings in upper case; `<br>` a line break;
 * - a link as `text [url]` (the url alone when it is the text);
 * - images, scripts, styles and the `<head>` left out.
 *
 * Guarantees: never throws; pure.
 */
import { createRequire } from 'node:module';

interface Handler {
  onopentag(name: string, attributes: Record<string, string>): void;
  ontext(text: string): void;
  onclosetag(name: string): void;
}
interface ParserLike {
  write(chunk: string): void;
  end(): void;
}
type ParserClass = new (handler: Partial<Handler>, options: { decodeEntities: boolean; lowerCaseTags: boolean }) => ParserLike;

let parserClass: ParserClass | undefined;

/**
 * htmlparser2's streaming Parser, resolved from html-to-text's own
 * dependencies (it is html-to-text's tokenizer, so it is always there with
 * the version html-to-text was tested with), loaded on first use.
 */
function htmlParser(): ParserClass {
  if (parserClass === undefined) {
    const require = createRequire(import.meta.url);
    const fromHtmlToText = createRequire(require.resolve('html-to-text'));
    parserClass = (fromHtmlToText('htmlparser2') as { Parser: ParserClass }).Parser;
  }
  return parserClass;
}

const SKIPPED = new Set(['head', 'script', 'style', 'template', 'title', 'noscript', 'svg']);
const PARAGRAPHS = new Set([
  'p', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'blockquote', 'pre', 'table', 'ul', 'ol', 'dl', 'form', 'hr',
  'address', 'article', 'aside', 'footer', 'header', 'section', 'nav', 'main', 'figure', 'fieldset',
]);
const LINES = new Set(['div', 'tr', 'li', 'dt', 'dd', 'caption', 'figcaption', 'center', 'body', 'html']);
const HEADINGS = new Set(['h1', 'h2', 'h3', 'h4', 'h5', 'h6']);
const CELLS = new Set(['td', 'th']);
/** Output pieces are joined into one block every so many, so they stay few objects and each byte is copied twice at most. */
const JOIN_EVERY = 4096;

/** The plain-text rendering of `html` described in the module comment. */
export function streamHtmlToText(html: string): string {
  const out = new TextOut();
  /** Depth inside elements whose content is left out, inside `<pre>`, inside headings. */
  let skipping = 0;
  let preformatted = 0;
  let heading = 0;
  /** Open links: their href and (up to the href's length + 1) the text they show. */
  const links: { href: string; text: string }[] = [];
  let cellOpen = false;

  const Parser = htmlParser();
  const parser = new Parser(
    {
      onopentag(name, attributes) {
        if (SKIPPED.has(name)) {
          skipping += 1;
          return;
        }
        if (skipping > 0) return;
        if (name === 'br') out.lineBreak(1, true);
        else if (PARAGRAPHS.has(name)) out.lineBreak(2);
        else if (LINES.has(name)) out.lineBreak(1);
        if (name === 'li') out.text(' * ');
        if (name === 'tr') cellOpen = false;
        if (CELLS.has(name)) {
          if (cellOpen) out.text('\t');
          cellOpen = true;
        }
        if (name === 'pre') preformatted += 1;
        if (HEADINGS.has(name)) heading += 1;
        if (name === 'a') links.push({ href: (attributes.href ?? '').trim(), text: '' });
      },
      ontext(text) {
        if (skipping > 0) return;
        const shown = preformatted > 0 ? text : text.replace(/[ \t\n\r\f]+/g, ' ');
        const cased = heading > 0 ? shown.toUpperCase() : shown;
        for (const link of links) if (link.text.length <= link.href.length) link.text += cased.slice(0, link.href.length + 1 - link.text.length);
        out.text(cased, preformatted > 0);
      },
      onclosetag(name) {
        if (SKIPPED.has(name)) {
          skipping = Math.max(0, skipping - 1);
          return;
        }
        if (skipping > 0) return;
        if (name === 'a') {
          const link = links.pop();
          if (link && link.href !== '' && !link.href.startsWith('#') && link.text.trim() !== link.href) {
            out.text(link.text.trim() === '' ? link.href : ` [${link.href}]`);
          }
        }
        if (name === 'pre') preformatted = Math.max(0, preformatted - 1);
        if (HEADINGS.has(name)) heading = Math.max(0, heading - 1);
        if (PARAGRAPHS.has(name)) out.lineBreak(2);
        else if (LINES.has(name)) out.lineBreak(1);
      },
    },
    { decodeEntities: true, lowerCaseTags: true },
  );
  try {
    parser.write(html);
    parser.end();
  } catch {
    // htmlparser2 is lenient and does not throw on bad HTML; whatever was rendered so far is kept.
  }
  return out.result();
}

/** The text being written: pieces, pending line breaks, collapsed spaces at line starts and ends. */
class TextOut {
  private pieces: string[] = [];
  /** Pieces already joined, JOIN_EVERY at a time. */
  private readonly blocks: string[] = [];
  private pendingBreaks = 0;
  private atLineStart = true;
  private empty = true;

  text(text: string, preformatted = false): void {
    let piece = text;
    if (!preformatted && (this.atLineStart || this.pendingBreaks > 0)) piece = piece.replace(/^ +/, '');
    if (piece === '') return;
    if (this.pendingBreaks > 0) {
      if (!this.empty) {
        this.trimLineEnd();
        this.push('\n'.repeat(this.pendingBreaks));
      }
      this.pendingBreaks = 0;
    }
    this.push(piece);
    this.empty = false;
    this.atLineStart = piece.endsWith('\n');
  }

  /** At least `count` line breaks before the next text; `forced` (a `<br>`) adds one more. None before the first text. */
  lineBreak(count: number, forced = false): void {
    if (this.empty) return;
    this.pendingBreaks = forced ? this.pendingBreaks + 1 : Math.max(this.pendingBreaks, count);
  }

  result(): string {
    this.trimLineEnd();
    return [...this.blocks, this.pieces.join('')].join('').trim();
  }

  private push(piece: string): void {
    this.pieces.push(piece);
    if (this.pieces.length >= JOIN_EVERY) {
      this.blocks.push(this.pieces.join(''));
      this.pieces = [];
    }
  }

  /** Drops the spaces that end the current line (a loop, not a regular expression, whose `/ +$/` is quadratic on long runs). */
  private trimLineEnd(): void {
    const list = this.pieces.length > 0 ? this.pieces : this.blocks;
    const last = list.length - 1;
    if (last < 0) return;
    const piece = list[last]!;
    let end = piece.length;
    while (end > 0 && piece.charCodeAt(end - 1) === 0x20) end--;
    if (end < piece.length) list[last] = piece.slice(0, end);
  }
}
