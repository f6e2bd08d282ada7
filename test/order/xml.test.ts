import { describe, it, expect } from 'vitest';
import { MailerError, XML_PROBLEM_KINDS, type SerializedError } from '../../src/errors.js';
import { describeError, describeXmlProblem } from '../../src/text/errors.js';
import { MAX_DEPTH, decodeEntities, findDtdMarkup, firstBadReference, readXml } from '../../src/order/xml.js';

describe('decodeEntities', () => {
  it('decodes the five XML entities and numeric references', () => {
    expect(decodeEntities('&amp;&lt;&gt;&quot;&apos;&#241;&#xF1;&#x1f600;&#9;')).toEqual({ text: '&<>"\'ññ😀\t' });
  });

  it.each(['&nbsp;', '&#0;', '&#xD800;', '&#x110000;', '&#1;', '&amp', '&;', '&#;', '&#x;', '&AMP;', '&#XF1;'])('reports %s as undefined', (ref) => {
    const result = decodeEntities(`a${ref}b`);
    expect(result).toHaveProperty('bad');
  });
});

describe('findDtdMarkup', () => {
  it('finds DTD markup outside comments and CDATA only', () => {
    expect(findDtdMarkup('<a><!-- <!DOCTYPE --><![CDATA[<!ENTITY]]></a>')).toBeUndefined();
    expect(findDtdMarkup('<!-- x --><!DOCTYPE a><a/>')).toBe('<!DOCTYPE a><a/>');
    expect(findDtdMarkup('<a><![CDATA[x]]><!ELEMENT a ANY></a>')).toMatch(/^<!ELEMENT/);
  });
});

describe('readXml', () => {
  it('keeps text and CDATA in document order and records the first undefined reference', () => {
    const result = readXml('<r a="&amp;x"> t1 <![CDATA[&amp;]]> t2 &amp; <c/> t3 &bogus; </r>');
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.root.attributes).toEqual([{ name: 'a', value: '&x' }]);
    expect(result.root.text).toBe(' t1 &amp; t2 &  t3 &bogus; ');
    expect(result.root.badReference).toBe('&bogus;');
    expect(result.root.children.map((c) => c.name)).toEqual(['c']);
  });
});

describe('scanXml: well-formedness, in one pass', () => {
  const malformed = (text: string) => {
    const result = readXml(text);
    return result.ok ? undefined : result.error;
  };

  // Each problem travels as data (kind, line, column, names); the operator's sentence is built from it, in either language.
  it.each([
    ['a closing tag that does not match', '<r>\n  <a>x</b>\n</r>', { kind: 'endTagMismatch', line: 2, column: 7, expected: 'a', name: 'b', openedLine: 2, openedColumn: 3 }, 'se esperaba </a> (abierto en la línea 2, columna 3) y se encontró </b>', 'expected </a> (opened at line 2, column 3) and found </b>'],
    ['an element left open', '<r><a>x</a>', { kind: 'elementUnclosed', line: 1, column: 1, name: 'r' }, 'el elemento <r> se abre aquí y nunca se cierra: falta </r>', 'the element <r> opens here and is never closed'],
    ['a raw &', '<r>\n\nfish & chips</r>', { kind: 'bareAmpersand', line: 3, column: 6 }, 'se encontró un «&» suelto; dentro del texto se escribe «&amp;»', 'found a bare "&"'],
    ['an attribute without a value', '<r a></r>', { kind: 'attributeNoValue', line: 1, column: 4, name: 'a' }, 'el atributo «a» no tiene valor (se esperaba a="…")', 'the attribute "a" has no value'],
    ['an attribute without quotes', '<r a=1></r>', { kind: 'attributeUnquoted', line: 1, name: 'a' }, 'el valor del atributo «a» no está entre comillas', 'is not in quotes'],
    ['a repeated attribute', '<r a="1" a="2"></r>', { kind: 'attributeRepeated', line: 1, column: 10, name: 'a' }, 'el atributo «a» aparece dos veces', 'appears twice'],
    ['attributes without space between them', '<r a="1"b="2"></r>', { kind: 'attributeNoSpace', line: 1, name: 'b' }, 'falta un espacio antes del atributo «b»', 'a space is missing before the attribute "b"'],
    ['text after the root', '<r/>\nx', { kind: 'textAfterRoot', line: 2, column: 1 }, 'hay texto después del cierre del elemento raíz', 'text after the root element'],
    ['text before the root', 'x<r/>', { kind: 'textBeforeRoot', line: 1, found: 'x' }, 'se esperaba «<» y se encontró «x» antes del elemento raíz', 'expected "<" and found "x"'],
    ['a second root', '<r/><s/>', { kind: 'secondRoot', line: 1, column: 5, name: 's' }, 'después del elemento raíz se encontró otro elemento <s>', 'another element <s>'],
    ['a declaration not at the start', '<r/>\n<?xml version="1.0"?>', { kind: 'declarationNotFirst', line: 2 }, 'la declaración «<?xml …?>» solo puede ir al principio del archivo', 'may only stand at the start'],
    ['an unclosed comment', '<r><!-- x</r>', { kind: 'commentUnclosed', line: 1, column: 4 }, 'un comentario «<!--» no se cierra con «-->»', 'is never closed with "-->"'],
    ['an unclosed CDATA section', '<r><![CDATA[x</r>', { kind: 'cdataUnclosed', line: 1 }, 'una sección «<![CDATA[» no se cierra con «]]>»', 'is never closed with "]]>"'],
    ['no element at all', '<!-- nothing -->', { kind: 'noRoot', line: 1 }, 'se esperaba un elemento (<OrdenEnvio>) y no hay ninguno', 'an element (<OrdenEnvio>) was expected'],
    ['an invalid tag name', '<1r/>', { kind: 'tagNameInvalid', line: 1, name: '1r' }, '«1r» no es un nombre de elemento válido', '"1r" is not a valid element name'],
    ['a < in text', '<r>a < b</r>', { kind: 'tagNameMissing', line: 1, column: 6 }, 'después de «<» se esperaba el nombre de un elemento; un «<» dentro del texto se escribe «&lt;»', 'a "<" inside text is written "&lt;"'],
    ['a closing tag without its >', '<r>\n<a>x</a\n</r>', { kind: 'endTagJunk', line: 2, column: 5, name: 'a' }, 'se esperaba «>» después de </a y se encontró otra cosa', 'expected ">" after </a'],
    ['a closing tag with nothing open', '<r/></r>', { kind: 'endTagUnopened', line: 1, name: 'r' }, 'se encontró </r> sin ningún elemento abierto', 'found </r> with no element open'],
  ] as const)('refuses %s, with its line and column, as data worded in either language', (_label, text, xml, es, en) => {
    const error = malformed(text)!;
    expect(error.code).toBe('ORDER_XML_MALFORMED');
    expect(error.xml).toMatchObject(xml);
    expect(error.value).toBeUndefined(); // nothing English to quote
    const where = `en la línea ${xml.line}, columna ${error.xml!.column}`;
    expect(describeError(error, 'es')).toBe(`El XML de la orden está mal formado ${where}: ${describeXmlProblem(error.xml!, 'es')}.`);
    expect(describeError(error, 'es')).toContain(es);
    expect(describeError(error, 'en')).toContain(`The order's XML is malformed at line ${xml.line}, column ${error.xml!.column}: `);
    expect(describeError(error, 'en')).toContain(en);
    // The log's message is the English sentence, with the place.
    expect(error.message).toBe(`Malformed XML at line ${xml.line}, column ${error.xml!.column}: ${describeXmlProblem(error.xml!, 'en')}`);
    // Through a worker thread or a saved state, the data comes back whole.
    expect(MailerError.fromJSON(JSON.parse(JSON.stringify(error.toJSON())) as SerializedError).xml).toEqual(error.xml);
  });

  it('refuses elements nested more than MAX_DEPTH below the root, and takes MAX_DEPTH', () => {
    const nest = (n: number) => `<r>${'<x>'.repeat(n)}${'</x>'.repeat(n)}</r>`;
    expect(readXml(nest(MAX_DEPTH)).ok).toBe(true);
    const error = malformed(nest(MAX_DEPTH + 1))!;
    expect(error.xml).toMatchObject({ kind: 'tooDeep', count: MAX_DEPTH });
    expect(describeError(error, 'es')).toContain(`los elementos están anidados a más de ${MAX_DEPTH} niveles`);
  });

  it('has a phrase in both languages for every kind of problem', () => {
    for (const kind of XML_PROBLEM_KINDS) {
      for (const lang of ['es', 'en'] as const) expect(describeXmlProblem({ kind }, lang), `${kind} ${lang}`).not.toBe(kind);
    }
  });

  it('reads CR LF and a lone CR as LF (XML end-of-line handling), keeps a CR written as &#13;, and takes > inside attribute values', () => {
    const result = readXml('<r a="x > y">uno\r\ndos\rtres&#13;</r>');
    expect(result.ok && result.root.text).toBe('uno\ndos\ntres\r');
    expect(result.ok && result.root.attributes).toEqual([{ name: 'a', value: 'x > y' }]);
  });

  it('firstBadReference agrees with decodeEntities', () => {
    for (const text of ['a &amp; b', 'x&nbsp;', '&#0;', '&#x1F600; &lt;', 'plain', '&amp', '&AMP;']) {
      const decoded = decodeEntities(text);
      expect(firstBadReference(text), text).toBe('bad' in decoded ? decoded.bad : undefined);
    }
  });

  it('decodes hundreds of thousands of references in one body (escaped HTML), in blocks', () => {
    const raw = '&lt;p&gt;Hola &amp; adiós&lt;/p&gt;\n'.repeat(200_000);
    const result = decodeEntities(raw);
    expect('text' in result && result.text).toBe('<p>Hola & adiós</p>\n'.repeat(200_000));
  });
});
