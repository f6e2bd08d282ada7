import { describe, it, expect } from 'vitest';
import { parseBody, trimBody } from '../../src/order/body.js';

describe('parseBody', () => {
  it('keeps a plain-text body as written between its surrounding blank lines', () => {
    const raw = '\n   \n    Estimado cliente:\n\n      - línea con sangría\n\tTab\t  interior  \n\n  ';
    expect(parseBody(raw)).toEqual({ kind: 'text', text: '    Estimado cliente:\n\n      - línea con sangría\n\tTab\t  interior' });
  });

  it('gives an empty text body for empty content', () => {
    expect(parseBody('')).toEqual({ kind: 'text', text: '' });
    expect(parseBody(' \n ')).toEqual({ kind: 'text', text: '' });
  });

  it.each(['HTML', 'html', 'Html', '  \n hTmL'])('treats a body starting with %j as HTML, without the word', (word) => {
    const body = parseBody(`${word} <p>Hola <b>Ana</b></p><p>Vea <a href="https://acme.example/f/1">su factura</a></p>`);
    expect(body.kind).toBe('html');
    if (body.kind !== 'html') return;
    expect(body.html).toBe('<p>Hola <b>Ana</b></p><p>Vea <a href="https://acme.example/f/1">su factura</a></p>');
    expect(body.text).toBe('Hola Ana\n\nVea su factura [https://acme.example/f/1]');
  });

  it('accepts HTML directly after the word, and a full document with DOCTYPE', () => {
    const body = parseBody('HTML<!DOCTYPE html><html><head><title>t</title><style>p{}</style></head><body><h1>Aviso</h1><p>Texto &amp; más</p><img src="data:image/png;base64,AAAA" alt="logo"></body></html>');
    expect(body.kind).toBe('html');
    if (body.kind !== 'html') return;
    expect(body.html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(body.text).toContain('Texto & más');
    expect(body.text).toContain('AVISO');
    expect(body.text).not.toContain('data:image');
    expect(body.text).not.toContain('p{}');
  });

  it('does not take a word that merely starts with "html" for the marker', () => {
    expect(parseBody('HTMLes un formato')).toEqual({ kind: 'text', text: 'HTMLes un formato' });
    expect(parseBody('Le enviamos el HTML')).toEqual({ kind: 'text', text: 'Le enviamos el HTML' });
  });

  it('keeps long lines unwrapped in the text alternative', () => {
    const sentence = 'palabra '.repeat(40).trim();
    const body = parseBody(`HTML <p>${sentence}</p>`);
    expect(body.kind === 'html' && body.text).toBe(sentence);
  });
});

describe('trimBody', () => {
  it('removes leading blank lines and trailing white space only', () => {
    expect(trimBody('\r\n\n  a\n\n  b  \n\n')).toBe('  a\n\n  b');
  });
});
