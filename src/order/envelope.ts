/**
 * The company's HTML envelope (`companies.<Empresa>.htmlEnvelope`): an HTML
 * file with the company's frame (logo, colours, legal footer) and one marker,
 * `{{CUERPO}}`, where each order's HTML body goes. Pure: the file is read by
 * io/host/envelope.ts.
 *
 * Why `{{CUERPO}}`: an office types it in any editor (Notepad, an HTML
 * editor's text view, Word's "save as web page") and sees it in a preview,
 * where an HTML comment would be invisible and is dropped by some editors;
 * braces are never escaped by HTML editors, so it survives saving; it cannot
 * occur in ordinary HTML or text by accident; and it is named after the
 * order's own element, `Cuerpo`. Case and spaces inside the braces do not
 * matter (`{{ cuerpo }}`).
 *
 * Guarantees: plain-text bodies are never enveloped; the text alternative
 * stays the one derived from the order's own HTML (the frame's boilerplate
 * does not clutter it); the body is inserted as it is, whatever `$` or
 * marker-like text it holds; an order whose HTML is a whole document
 * (`<html><head><style>…</style></head><body>…</body></html>`) contributes
 * its `<style>` elements and its body's content, so the result is one
 * document, the envelope's.
 */
import type { ResolvedOrder } from '../ports.js';

/** The marker as documented (docs/operations.md, "Sobre HTML"). */
export const ENVELOPE_MARKER = '{{CUERPO}}';

const MARKER = /\{\{\s*cuerpo\s*\}\}/gi;

/** How many markers an envelope holds: exactly one is usable. */
export function markerCount(envelope: string): number {
  return envelope.match(MARKER)?.length ?? 0;
}

const BODY = /<body\b[^>]*>([\s\S]*?)(?:<\/body\s*>|$)/i;
const STYLE = /<style\b[^>]*>[\s\S]*?<\/style\s*>/gi;

/** What of an order's HTML goes inside the envelope: all of it, or, for a whole document, its styles and its body's content. */
export function envelopeContent(html: string): string {
  const body = BODY.exec(html);
  if (body === null) return html;
  const head = html.slice(0, body.index);
  const styles = head.match(STYLE) ?? [];
  return [...styles, body[1]!].join('\n');
}

/** The envelope with the order's HTML at its one marker (the caller checked there is exactly one: `markerCount`). */
export function placeInEnvelope(envelope: string, html: string): string {
  const content = envelopeContent(html);
  return envelope.replace(MARKER, () => content);
}

/** The resolved order with its HTML body placed in `envelope`; plain-text orders and their text alternative unchanged. */
export function withEnvelope(resolved: ResolvedOrder, envelope: string): ResolvedOrder {
  const { body } = resolved.order;
  if (body.kind !== 'html') return resolved;
  return { ...resolved, order: { ...resolved.order, body: { ...body, html: placeInEnvelope(envelope, body.html) } } };
}
