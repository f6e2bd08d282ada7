import { describe, it, expect } from 'vitest';
import { decodeEntities, findDtdMarkup, readXml } from '../../src/order/xml.js';

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
