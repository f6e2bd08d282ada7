import { describe, it, expect } from 'vitest';
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

  it.each([
    ['a closing tag that does not match', '<r>\n  <a>x</b>\n</r>', 2, "Expected closing tag 'a'"],
    ['an element left open', '<r><a>x</a>', 1, "Unclosed tag 'r'"],
    ['a raw &', '<r>\n\nfish & chips</r>', 3, "char '&' is not expected"],
    ['an attribute without a value', '<r a></r>', 1, "boolean attribute 'a' is not allowed"],
    ['an attribute without quotes', '<r a=1></r>', 1, "Attribute 'a' is without value"],
    ['a repeated attribute', '<r a="1" a="2"></r>', 1, "Attribute 'a' is repeated"],
    ['attributes without space between them', '<r a="1"b="2"></r>', 1, "Attribute 'b' has no space in starting"],
    ['text after the root', '<r/>\nx', 2, 'Extra text at the end'],
    ['text before the root', 'x<r/>', 1, "char 'x' is not expected"],
    ['a second root', '<r/><s/>', 1, 'Multiple possible root nodes found'],
    ['a declaration not at the start', '<r/>\n<?xml version="1.0"?>', 2, 'XML declaration allowed only at the start'],
    ['an unclosed comment', '<r><!-- x</r>', 1, 'comment not closed'],
    ['an unclosed CDATA section', '<r><![CDATA[x</r>', 1, 'CDATA section not closed'],
    ['no element at all', '<!-- nothing -->', 1, 'Start tag expected'],
    ['an invalid tag name', '<1r/>', 1, "Tag '1r' is an invalid name"],
  ])('refuses %s, with its line', (_label, text, line, what) => {
    const error = malformed(text);
    expect(error?.code).toBe('ORDER_XML_MALFORMED');
    expect(error?.message).toContain(`line ${line}, column`);
    expect(error?.message).toContain(what);
  });

  it('refuses elements nested more than MAX_DEPTH below the root, and takes MAX_DEPTH', () => {
    const nest = (n: number) => `<r>${'<x>'.repeat(n)}${'</x>'.repeat(n)}</r>`;
    expect(readXml(nest(MAX_DEPTH)).ok).toBe(true);
    expect(malformed(nest(MAX_DEPTH + 1))?.message).toContain(`nested more than ${MAX_DEPTH} deep`);
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
