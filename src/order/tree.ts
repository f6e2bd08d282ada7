/**
 * The root element → the order's known elements by path, plus what is unknown.
 *
 * Names are matched case-insensitively (and in Unicode NFC, so `Contraseña`
 * matches however its ñ was composed). Lookups go through Maps, never object
 * keys, so `<constructor>` or `<__proto__>` are just unknown elements.
 *
 * Rules decided here (each tested):
 * - an element the spec does not name is listed in `unknown` by its path
 *   (`Prioridad`, `SMTP/Foo`) and not looked into; an attribute it does not
 *   name, in `unknownAttributes` (both are summarized for the log by parse.ts);
 * - child elements of a text element (`<Para><x/></Para>`) are unknown elements;
 * - an element that may appear once but appears again is an
 *   ORDER_FIELD_INVALID naming it, and none of its copies is used;
 * - an entity reference XML does not define is an ORDER_XML_MALFORMED naming
 *   the element it is in.
 */
import { ErrorCodes, MailerError } from '../errors.js';
import type { XmlElement } from './xml.js';

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

export interface OrderTree {
  /** Elements that may appear once, by path (`SMTP/Puerto`); repeated ones are absent. */
  single: Map<string, XmlElement>;
  /** Every `Adjuntos/Archivo`, in document order. */
  attachments: XmlElement[];
  /** Paths of elements the spec does not name, in document order. */
  unknown: string[];
  /** Attributes the spec does not name on known elements, as `name on <path>`, in document order. */
  unknownAttributes: string[];
  errors: MailerError[];
  warnings: string[];
}

/** Case- and composition-insensitive name key. */
export function nameKey(name: string): string {
  return name.normalize('NFC').toLowerCase();
}

/** Walks the children of `root` (already known to be `OrdenEnvio`). */
export function collectTree(root: XmlElement): OrderTree {
  const tree: OrderTree = { single: new Map(), attachments: [], unknown: [], unknownAttributes: [], errors: [], warnings: [] };
  const repeated = new Set<string>();
  checkReferences(root, root.name, tree);
  checkAttributes(root, root.name, [], tree);
  walkContainer(root, ROOT, '', tree, repeated);
  for (const path of repeated) {
    for (const key of [...tree.single.keys()]) if (key === path || key.startsWith(`${path}/`)) tree.single.delete(key);
    if (path === 'Adjuntos') tree.attachments = [];
  }
  return tree;
}

function walkContainer(element: XmlElement, defs: Map<string, FieldDef>, prefix: string, tree: OrderTree, repeated: Set<string>): void {
  if (element.text.trim() !== '' && prefix !== '') {
    tree.warnings.push(`text inside <${element.name}> ignored: it only holds elements`);
  }
  for (const child of element.children) {
    const def = defs.get(nameKey(child.name));
    if (def === undefined) {
      const path = prefix + child.name;
      tree.unknown.push(path);
      visitAll(child, path, tree);
      continue;
    }
    checkReferences(child, def.path, tree);
    checkAttributes(child, def.path, def.attributes ?? [], tree);
    if (def.repeatable) {
      tree.attachments.push(child);
    } else if (tree.single.has(def.path)) {
      if (!repeated.has(def.path)) tree.errors.push(repeatedError(def.path));
      repeated.add(def.path);
      continue; // a repeated block's contents are not read (the first copy's are dropped in collectTree)
    } else {
      tree.single.set(def.path, child);
    }
    if (def.children) {
      walkContainer(child, def.children, `${def.path}/`, tree, repeated);
    } else {
      for (const grandChild of child.children) {
        const path = `${def.path}/${grandChild.name}`;
        tree.unknown.push(path);
        visitAll(grandChild, path, tree);
      }
    }
  }
}

function repeatedError(path: string): MailerError {
  return new MailerError(ErrorCodes.ORDER_FIELD_INVALID, `<${path}> appears more than once (repeated)`, { field: path, value: 'repetido' });
}

/** Unknown elements are not interpreted, but must still be well-formed XML. */
function visitAll(element: XmlElement, path: string, tree: OrderTree): void {
  checkReferences(element, path, tree);
  for (const child of element.children) visitAll(child, `${path}/${child.name}`, tree);
}

function checkReferences(element: XmlElement, path: string, tree: OrderTree): void {
  if (element.badReference === undefined) return;
  tree.errors.push(
    new MailerError(ErrorCodes.ORDER_XML_MALFORMED, `<${path}> uses ${element.badReference}, which XML does not define`, {
      field: path,
      value: element.badReference,
    }),
  );
}

function checkAttributes(element: XmlElement, path: string, allowed: string[], tree: OrderTree): void {
  for (const attribute of element.attributes) {
    const key = nameKey(attribute.name);
    if (key.startsWith('xmlns') || key.startsWith('xml:')) continue; // namespace and xml:space/lang noise
    if (!allowed.includes(key)) tree.unknownAttributes.push(`${attribute.name} on <${path}>`);
  }
}

/** The value of an attribute, matched case-insensitively. */
export function attributeOf(element: XmlElement, name: string): string | undefined {
  return element.attributes.find((a) => nameKey(a.name) === name)?.value;
}
