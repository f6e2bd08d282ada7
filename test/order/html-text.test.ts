/**
 * The streamed plain-text rendering of large HTML bodies (order/html-text.ts):
 * the layout rules it promises, and that the body reader uses it only above
 * LARGE_HTML_CHARS (html-to-text, richer and costlier, below).
 */
import { describe, expect, it } from 'vitest';
import { LARGE_HTML_CHARS, htmlToPlainText } from '../../src/order/body.js';
import { streamHtmlToText } from '../../src/order/html-text.js';

describe('streamHtmlToText', () => {
  it('paragraphs apart, links as text [url], entities decoded, white space collapsed', () => {
    expect(streamHtmlToText('<p>Hola   <b>Ana</b>\n</p><p>Vea <a href="https://acme.example/f/1">su factura</a> &amp; más&nbsp;cosas</p>')).toBe(
      'Hola Ana\n\nVea su factura [https://acme.example/f/1] & más\u00a0cosas',
    );
  });

  it('leaves out the head, scripts, styles and images; headings in upper case', () => {
    expect(
      streamHtmlToText('<html><head><title>t</title><style>p{}</style></head><body><h1>Aviso</h1><script>x()</script><p>Texto</p><img src="data:image/png;base64,AAAA"></body></html>'),
    ).toBe('AVISO\n\nTexto');
  });

  it('tables a row a line, cells apart by a tab; lists with bullets; <br> a line break; <pre> as written', () => {
    expect(streamHtmlToText('<table><tr><td>1</td><td>Tornillo</td></tr><tr><th>2</th><td>Tuerca</td></tr></table><ul><li>uno</li><li>dos</li></ul>a<br>b<br><br>c<pre>  x\n   y</pre>')).toBe(
      '1\tTornillo\n2\tTuerca\n\n* uno\n* dos\n\na\nb\n\nc\n\n  x\n   y',
    );
  });

  it('a link whose text is its url is shown once; one without text shows its url', () => {
    expect(streamHtmlToText('<p><a href="https://x.example">https://x.example</a> y <a href="https://y.example"><img src="y.png"></a></p>')).toBe(
      'https://x.example y https://y.example',
    );
  });

  it('keeps going through broken HTML', () => {
    expect(streamHtmlToText('<p>uno<div>dos</p><b>tres')).toBe('uno\n\ndos\n\ntres');
  });
});

describe('htmlToPlainText', () => {
  it('uses html-to-text up to LARGE_HTML_CHARS and the streamed rendering above', () => {
    const link = '<p>Vea <a href="https://acme.example/f">su factura</a></p>';
    expect(htmlToPlainText(link)).toBe('Vea su factura [https://acme.example/f]');
    const padded = link + `<!--${'x'.repeat(LARGE_HTML_CHARS)}-->`;
    expect(htmlToPlainText(padded)).toBe('Vea su factura [https://acme.example/f]');
  });
});
