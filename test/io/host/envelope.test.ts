/**
 * Reading a company's HTML envelope from real files: at send time a missing
 * or unusable file is an error for that order; at start an envelope without
 * its marker is a configuration error, a missing one is not.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { ErrorCodes, MailerError, retryClassOf } from '../../../src/errors.js';
import { loadConfig } from '../../../src/io/host/config-file.js';
import { readEnvelope } from '../../../src/io/host/envelope.js';
import { configReason } from '../../../src/text/config-errors.js';
import { describeError, renderErrorNote } from '../../../src/text/errors.js';
import { makeTmpDir, removeTmpDirs } from '../../helpers/tmp.js';

afterAll(removeTmpDirs);

const KEY = 'companies.ACME.htmlEnvelope';

async function rejection(promise: Promise<unknown>): Promise<MailerError> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(MailerError);
  return err as MailerError;
}

describe('readEnvelope', () => {
  it('reads UTF-8 (byte-order mark dropped) and windows-1252 files', async () => {
    const dir = await makeTmpDir('proscai-sobre-');
    const utf8 = path.join(dir, 'utf8.html');
    await writeFile(utf8, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('<p>Facturación {{CUERPO}}</p>')]));
    expect(await readEnvelope(utf8, KEY)).toBe('<p>Facturación {{CUERPO}}</p>');
    const ansi = path.join(dir, 'ansi.html');
    await writeFile(ansi, Buffer.from('<p>Facturaci\xf3n \x97 {{CUERPO}}</p>', 'latin1'));
    expect(await readEnvelope(ansi, KEY)).toBe('<p>Facturación — {{CUERPO}}</p>');
  });

  it('fails the order with ENVELOPE_MISSING naming the file and the key, in both languages', async () => {
    const dir = await makeTmpDir('proscai-sobre-');
    const file = path.join(dir, 'sobre.html');
    const e = await rejection(readEnvelope(file, KEY));
    expect(e.code).toBe(ErrorCodes.ENVELOPE_MISSING);
    expect(retryClassOf(e.code)).toBe('never');
    expect(e.path).toBe(file);
    expect(describeError(e, 'es')).toBe(`El sobre HTML de la empresa no existe: se buscó en ${file} («${KEY}» en la configuración); no se envió nada.`);
    expect(describeError(e, 'en')).toBe(`The company's HTML envelope does not exist: looked for at ${file} ("${KEY}" in the configuration); nothing was sent.`);
    const note = renderErrorNote({ fileName: '_CFD_MAIL_REQ_1.XML', orderId: '1', errors: [e.toJSON()], at: new Date(), attempts: 1 }, 'es');
    expect(note).toContain(file);
    expect(note).toContain('Ponga el archivo del sobre HTML en la ruta indicada');
  });

  it('fails the order with ENVELOPE_INVALID when the marker is missing or repeated, or the path is a folder', async () => {
    const dir = await makeTmpDir('proscai-sobre-');
    const cases: [string, string | undefined, string][] = [
      ['sin-marca.html', '<p>sin marca</p>', 'no contiene la marca {{CUERPO}}'],
      ['dos.html', '{{CUERPO}}{{ cuerpo }}', 'contiene la marca {{CUERPO}} más de una vez'],
      ['carpeta.html', undefined, 'es una carpeta, no un archivo'],
    ];
    for (const [name, text, es] of cases) {
      const file = path.join(dir, name);
      if (text === undefined) await mkdir(file);
      else await writeFile(file, text);
      const e = await rejection(readEnvelope(file, KEY));
      expect(e.code).toBe(ErrorCodes.ENVELOPE_INVALID);
      expect(describeError(e, 'es')).toContain(`El sobre HTML de la empresa ${file} («${KEY}» en la configuración) ${es}`);
    }
  });
});

describe('loadConfig: htmlEnvelope', () => {
  async function load(envelope?: string) {
    const dir = await makeTmpDir('proscai-sobre-');
    if (envelope !== undefined) await writeFile(path.join(dir, 'sobre.html'), envelope);
    const config = path.join(dir, 'mailer.json');
    await writeFile(config, JSON.stringify({ dir: path.join(dir, 'envio'), companies: { ACME: { smtp: { host: '127.0.0.1' }, htmlEnvelope: 'sobre.html' } } }));
    return { dir, loading: loadConfig({ flags: { config }, env: {}, cwd: dir }) };
  }

  it('refuses an envelope without the marker, naming the company and the file', async () => {
    const { dir, loading } = await load('<html><body>Sin marca</body></html>');
    const e = await rejection(loading);
    expect(e.code).toBe(ErrorCodes.CONFIG_INVALID);
    const file = path.join(dir, 'sobre.html');
    expect(e.message).toBe(`${KEY}: the HTML envelope ${file} has no {{CUERPO}} marker where the body goes`);
    expect(configReason(e.message, 'es')).toBe(`${KEY}: el sobre HTML ${file} no tiene la marca {{CUERPO}} donde va el cuerpo`);
  });

  it('accepts one with the marker, and starts without one that is missing (its orders fail instead)', async () => {
    const ok = await load('<div>{{CUERPO}}</div>');
    expect((await ok.loading).companies.ACME!.htmlEnvelope).toBe(path.join(ok.dir, 'sobre.html'));
    const missing = await load();
    expect((await missing.loading).companies.ACME!.htmlEnvelope).toBe(path.join(missing.dir, 'sobre.html'));
  });
});
