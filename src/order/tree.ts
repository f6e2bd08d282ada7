/**
 * The order's text → its known elements by path, plus a summary of what is
 * unknown, in one scan (xml.ts) that keeps only the elements the order format
 * names: an unknown element costs a counter and, for the first few, its
 * path, never an object. So the memory an order needs is its text plus the
 * values of its known fields, however many elements it holds.
 *
 * Names are matched case-insensitively (and in Unicode NFC, so `Contraseña`
 * matches however its ñ was composed). Lookups go through Maps, never object
 * keys, so `<constructor>` or `<__proto__>` are just unknown elements.
 *
 * Rules decided here (each tested):
 * - an element the spec does not name is counted in `unknown` by its path
 *   (`Prioridad`, `SMTP/Foo`) and not looked into; an attribute it does not
 *   name, in `unknownAttributes` (parse.ts turns both into one bounded
 *   warning each);
 * - child elements of a text element (`<Para><x/></Para>`) are unknown elements;
 * - an element that may appear once but appears again is an
 *   ORDER_FIELD_INVALID naming it, and none of its copies is used;
 * - an entity reference XML does not define is an ORDER_XML_MALFORMED naming
 *   the element it is in (also inside unknown elements, which must still be
 *   well-formed XML); at most MAX_TREE_ERRORS such errors are listed, the
 *   rest counted in one more.
 */
import { ErrorCodes, MailerError } from '../errors.js';
import { clip } from './fields.js';
import { decodeEntities, firstBadReference, normalizeLineEnds, refuseDtd, scanXml, type XmlVisitor } from './xml.js';

interface FieldDef {
  /** The element path as the ERP writes it, used in errors. */
  path: string;
  children?: Map<string, FieldDef>;
  repeatable?: boolean;
  /** Attribute names (lower case) this element may carry. */
  attributes?: string[];
}

const leaf = (path: string, extra: Partial<FieldDef> = {}): FieldDef => ({ path, ...extra });

const SMTP = new Map<string, FieldDef>([
  ['servidor', leaf('SMTP/Servidor')],
  ['puerto', leaf('SMTP/Puerto')],
  ['seguridad', leaf('SMTP/Seguridad')],
  ['usuario', leaf('SMTP/Usuario')],
  ['contrasena', leaf('SMTP/Contrasena')],
  ['contraseña', leaf('SMTP/Contrasena')],
  ['tiempoespera', leaf('SMTP/TiempoEspera')],
]);

const ADJUNTOS = new Map<string, FieldDef>([['archivo', leaf('Adjuntos/Archivo', { repeatable: true, attributes: ['nombre'] })]]);

const ROOT = new Map<string, FieldDef>([
  ['empresa', leaf('Empresa')],
  ['smtp', leaf('SMTP', { children: SMTP })],
  ['remitente', leaf('Remitente')],
  ['para', leaf('Para')],
  ['cc', leaf('CC')],
  ['cco', leaf('CCO')],
  ['respondera', leaf('ResponderA')],
  ['asunto', leaf('Asunto')],
  ['cuerpo', leaf('Cuerpo')],
  ['adjuntos', leaf('Adjuntos', { children: ADJUNTOS })],
  ['despuesdeenviar', leaf('DespuesDeEnviar')],
  ['registrarenvios', leaf('RegistrarEnvios')],
  ['correoerrores', leaf('CorreoErrores')],
]);

/** A known element as the order's fields need it. */
export interface KnownElement {
  /** The name exactly as written in the file. */
  name: string;
  /** The attributes the format names for it, values entity-decoded. */
  attributes: { name: string; value: string }[];
  /** Its own text and CDATA, in document order, decoded, not trimmed. */
  text: string;
}

/**
 * Names met in an order, bounded whatever their number: the count, the first
 * MAX_KEPT_NAMES in document order, and how many are distinct (exact up to
 * MAX_DISTINCT_COUNTED).
 */
export class NameTally {
  count = 0;
  readonly first: string[] = [];
  private readonly distinctNames = new Set<string>();
  /** True once more distinct names were met than are counted. */
  distinctOverflow = false;

  add(name: string): void {
    this.count += 1;
    if (this.first.length < MAX_KEPT_NAMES) this.first.push(name.length > MAX_NAME_CHARS ? name.slice(0, MAX_NAME_CHARS) : name);
    if (this.distinctNames.has(name)) return;
    if (this.distinctNames.size < MAX_DISTINCT_COUNTED) this.distinctNames.add(name);
    else this.distinctOverflow = true;
  }

  /** Distinct names counted (a lower bound when `distinctOverflow`). */
  get distinct(): number {
    return this.distinctNames.size;
  }

  /** The first `max` distinct names, in order of first appearance. */
  firstDistinct(max: number): string[] {
    const out: string[] = [];
    for (const name of this.distinctNames) {
      if (out.length >= max) break;
      out.push(name);
    }
    return out;
  }
}

/** Names kept in order (the Order's `unknownElements`). */
export const MAX_KEPT_NAMES = 1000;
/** Distinct names counted exactly; beyond, the warning says "more than". */
export const MAX_DISTINCT_COUNTED = 100_000;
/** Undefined-reference errors listed; the rest are counted in one more error. */
export const MAX_TREE_ERRORS = 100;
/**
 * Attachments an order may list. Each file is checked, and the small ones
 * read, before the message is composed: an order naming thousands of files
 * is not an invoice's, and would cost memory and file-system calls for
 * nothing. The tree keeps one more than this, so that the excess is known.
 */
export const MAX_ATTACHMENTS = 200;
/** Longest name kept in a tally (names may be megabytes long; the log shows 100 characters). */
const MAX_NAME_CHARS = 200;

export interface OrderTree {
  /** The root element's name as written. */
  rootName: string;
  /** Elements that may appear once, by path (`SMTP/Puerto`); repeated ones are absent. */
  single: Map<string, KnownElement>;
  /** Every `Adjuntos/Archivo`, in document order (at most MAX_ATTACHMENTS + 1 are kept). */
  attachments: KnownElement[];
  /** Paths of elements the spec does not name, in document order. */
  unknown: NameTally;
  /** Attributes the spec does not name on known elements, as `name on <path>`, in document order. */
  unknownAttributes: NameTally;
  errors: MailerError[];
  warnings: string[];
}

export type TreeResult = { ok: true; tree: OrderTree } | { ok: false; error: MailerError };

/** Case- and composition-insensitive name key. */
export function nameKey(name: string): string {
  return name.normalize('NFC').toLowerCase();
}

/**
 * What the scan is inside of:
 * - `container`: the root, SMTP or Adjuntos (known children by name);
 * - `leaf`: a known text element (its text is kept);
 * - `unknown`: an element the format does not name, or anything inside one
 *   (only checked for undefined references);
 * - `repeated`: a second copy of a known element (its own references are
 *   checked, its contents are not read).
 */
interface Frame {
  kind: 'container' | 'leaf' | 'unknown' | 'repeated';
  /** Document order of the element (errors and warnings are sorted by it). */
  ordinal: number;
  /** Path for errors: the def's path for known elements, the element path for unknown ones (built lazily). */
  path: () => string;
  def?: FieldDef;
  element?: KnownElement;
  /** Own text of a leaf, in pieces. */
  parts?: string[];
  /** A container (other than the root) held text that is not white space. */
  strayText?: boolean;
  badReference?: string;
  /** Prefix for children's paths (containers). */
  prefix?: string;
}

/** Reads the order's text into its tree (see the module comment), or the file-level reason it cannot be read. */
export function collectTree(written: string): TreeResult {
  const text = normalizeLineEnds(written);
  const dtd = refuseDtd(text);
  if (dtd) return { ok: false, error: dtd };
  const tree: OrderTree = {
    rootName: '',
    single: new Map(),
    attachments: [],
    unknown: new NameTally(),
    unknownAttributes: new NameTally(),
    errors: [],
    warnings: [],
  };
  const ordered: { ordinal: number; sub: number; error?: MailerError; warning?: string }[] = [];
  let listedErrors = 0;
  let moreErrors = 0;
  /** Records an error (built only while fewer than MAX_TREE_ERRORS were: an order may hold a million) or a warning. */
  const report = (ordinal: number, sub: number, item: { error?: () => MailerError; warning?: string }) => {
    if (item.error && listedErrors >= MAX_TREE_ERRORS) {
      moreErrors += 1;
      return;
    }
    if (item.error) listedErrors += 1;
    ordered.push({ ordinal, sub, ...(item.error && { error: item.error() }), ...(item.warning !== undefined && { warning: item.warning }) });
  };
  const repeated = new Set<string>();
  const stack: Frame[] = [];
  let ordinal = 0;

  const visitor: XmlVisitor = {
    open(from, to) {
      const parent = stack[stack.length - 1];
      const own = ordinal++;
      if (parent === undefined) {
        tree.rootName = text.slice(from, to);
        stack.push({ kind: 'container', ordinal: own, path: () => tree.rootName, def: { path: '', children: ROOT }, prefix: '' });
        return;
      }
      if (parent.kind === 'unknown' || parent.kind === 'repeated') {
        // Inside an unknown element: only its path is needed, and only if it holds an undefined reference.
        const parentPath = parent.path;
        stack.push({ kind: parent.kind === 'repeated' ? 'repeated' : 'unknown', ordinal: parent.kind === 'repeated' ? -1 : own, path: () => `${parentPath()}/${text.slice(from, to)}` });
        return;
      }
      const name = text.slice(from, to);
      const def = parent.kind === 'container' ? parent.def!.children!.get(nameKey(name)) : undefined;
      if (def === undefined) {
        const path = parent.kind === 'container' ? parent.prefix! + name : `${parent.def!.path}/${name}`;
        tree.unknown.add(path);
        stack.push({ kind: 'unknown', ordinal: own, path: () => path });
        return;
      }
      const element: KnownElement = { name, attributes: [], text: '' };
      if (def.repeatable) {
        if (tree.attachments.length <= MAX_ATTACHMENTS) tree.attachments.push(element);
      } else if (tree.single.has(def.path) || repeated.has(def.path)) {
        if (!repeated.has(def.path)) report(own, 1, { error: () => repeatedError(def.path) });
        repeated.add(def.path);
        stack.push({ kind: 'repeated', ordinal: own, path: () => def.path, def, element });
        return;
      } else {
        tree.single.set(def.path, element);
      }
      stack.push({
        kind: def.children ? 'container' : 'leaf',
        ordinal: own,
        path: () => def.path,
        def,
        element,
        ...(def.children ? { prefix: `${def.path}/` } : { parts: [] }),
      });
    },
    attribute(name, raw) {
      const frame = stack[stack.length - 1]!;
      if (frame.kind === 'unknown' || (frame.kind === 'repeated' && frame.ordinal === -1)) {
        frame.badReference ??= firstBadReference(raw);
        return;
      }
      const key = nameKey(name);
      const decoded = decodeEntities(raw);
      if ('bad' in decoded) frame.badReference ??= decoded.bad;
      const allowed = frame.def?.attributes ?? [];
      if (allowed.includes(key)) frame.element?.attributes.push({ name, value: 'text' in decoded ? decoded.text : raw });
      else if (!key.startsWith('xmlns') && !key.startsWith('xml:')) tree.unknownAttributes.add(`${name} on <${frame.path()}>`);
    },
    text(from, to, cdata) {
      const frame = stack[stack.length - 1]!;
      if (frame.kind === 'unknown' || frame.kind === 'repeated') {
        if (!cdata && frame.ordinal !== -1) frame.badReference ??= firstBadReference(text, from, to);
        return;
      }
      if (frame.kind === 'container') {
        // Only whether it holds more than white space matters (the root's text is ignored silently).
        if (!cdata) frame.badReference ??= firstBadReference(text, from, to);
        if (frame.prefix !== '' && !frame.strayText && hasNonSpace(text, from, to)) {
          const raw = text.slice(from, to);
          const decoded = cdata ? { text: raw } : decodeEntities(raw);
          frame.strayText = 'text' in decoded ? decoded.text.trim() !== '' : true;
        }
        return;
      }
      const raw = text.slice(from, to);
      if (cdata) {
        frame.parts!.push(raw);
        return;
      }
      const decoded = decodeEntities(raw);
      if ('bad' in decoded) frame.badReference ??= decoded.bad;
      frame.parts!.push('text' in decoded ? decoded.text : raw);
    },
    close() {
      const frame = stack.pop()!;
      if (frame.badReference !== undefined && frame.ordinal !== -1) {
        const path = listedErrors < MAX_TREE_ERRORS ? frame.path() : '';
        const reference = frame.badReference;
        report(frame.ordinal, 0, {
          error: () =>
            new MailerError(ErrorCodes.ORDER_XML_MALFORMED, `<${clip(path)}> uses ${reference}, which XML does not define`, {
              field: path,
              value: reference,
              xml: { kind: 'referenceUndefined', name: reference },
            }),
        });
      }
      if (frame.kind === 'leaf') frame.element!.text = frame.parts!.length === 1 ? frame.parts![0]! : frame.parts!.join('');
      if (frame.strayText) {
        report(frame.ordinal, 2, { warning: `text inside <${frame.element!.name}> ignored: it only holds elements` });
      }
    },
  };

  const error = scanXml(text, visitor);
  if (error) return { ok: false, error };
  for (const path of repeated) {
    for (const key of [...tree.single.keys()]) if (key === path || key.startsWith(`${path}/`)) tree.single.delete(key);
    if (path === 'Adjuntos') tree.attachments = [];
  }
  ordered.sort((a, b) => a.ordinal - b.ordinal || a.sub - b.sub);
  for (const item of ordered) {
    if (item.error) tree.errors.push(item.error);
    if (item.warning) tree.warnings.push(item.warning);
  }
  if (moreErrors > 0) {
    tree.errors.push(
      new MailerError(ErrorCodes.ORDER_XML_MALFORMED, `… and ${moreErrors} more elements with references XML does not define`, {
        value: String(moreErrors),
        xml: { kind: 'moreReferencesUndefined', count: moreErrors },
      }),
    );
  }
  return { ok: true, tree };
}

/** Whether `source.slice(from, to)` holds anything but white space (without copying it). */
function hasNonSpace(source: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = source.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return true;
  }
  return false;
}

function repeatedError(path: string): MailerError {
  return new MailerError(ErrorCodes.ORDER_FIELD_INVALID, `<${path}> appears more than once (repeated)`, { field: path, value: 'repetido' });
}

/** The value of an attribute, matched case-insensitively. */
export function attributeOf(element: KnownElement, name: string): string | undefined {
  return element.attributes.find((a) => nameKey(a.name) === name)?.value;
}
