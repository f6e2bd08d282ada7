import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ErrorCodes, MailerError } from '../../src/errors.js';
import { INLINE_ATTACHMENT_MAX, baseName, contentTypeFor, mapWindowsPath, resolveAttachments } from '../../src/io/attachments.js';
import type { OrderAttachment } from '../../src/order/types.js';
import { mailerFailure } from '../helpers/scoped.js';
import { makeOrder } from './send-fixtures.js';

let root: string;
let adj: string;
let orders: string;
let outside: string;
const pathMap = { 'C:\\Trabajo\\proscai\\Envio_Mails\\': '', '\\\\SERVIDOR\\Compartido\\CFD': '' };

beforeAll(async () => {
  root = await realpath(await mkdtemp(path.join(tmpdir(), 'attachments-')));
  adj = path.join(root, 'adjuntos');
  orders = path.join(root, 'ordenes');
  outside = path.join(root, 'fuera');
  for (const dir of [path.join(adj, 'C00001'), orders, outside, path.join(adj, 'carpeta.pdf')]) await mkdir(dir, { recursive: true });
  await writeFile(path.join(adj, 'C00001', 'A-1234.xml'), '\uFEFF<cfdi/>');
  await writeFile(path.join(adj, 'C00001', 'A-1234.PDF'), Buffer.from([0x25, 0x50, 0x44, 0x46, 0, 1, 2]));
  await writeFile(path.join(adj, 'C00001', 'notas.txt'), 'x');
  await writeFile(path.join(orders, 'en-ordenes.xml'), '<x/>');
  await writeFile(path.join(outside, 'secreto.xml'), '<secret/>');
  await symlink(path.join(outside, 'secreto.xml'), path.join(adj, 'enlace.xml'));
  await symlink(outside, path.join(adj, 'C00001', 'dir-enlace'));
  await symlink(path.join(adj, 'no-existe.xml'), path.join(adj, 'roto.xml'));
  await symlink(path.join(adj, 'C00001', 'A-1234.xml'), path.join(adj, 'dentro.xml'));
  execFileSync('mkfifo', [path.join(adj, 'tuberia.xml')]);
  pathMap['C:\\Trabajo\\proscai\\Envio_Mails\\'] = `${adj}/`;
  pathMap['\\\\SERVIDOR\\Compartido\\CFD'] = adj;
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function resolve(...attachments: OrderAttachment[]) {
  return resolveAttachments(makeOrder({ attachments }), { attachmentsDir: adj, orderDir: orders, pathMap });
}

function refusal(...attachments: OrderAttachment[]): Promise<MailerError> {
  return mailerFailure(resolve(...attachments));
}

describe('resolveAttachments', () => {
  it('resolves relative paths against the attachment folder, with either separator', async () => {
    const [a, b] = await resolve({ path: 'C00001\\A-1234.xml' }, { path: 'C00001/A-1234.PDF', filename: 'Factura A-1234.pdf' });
    expect(a).toEqual({
      source: 'C00001\\A-1234.xml',
      path: path.join(adj, 'C00001', 'A-1234.xml'),
      filename: 'A-1234.xml',
      contentType: 'application/xml',
      size: 10,
      content: Buffer.from('\uFEFF<cfdi/>'),
    });
    expect(b).toMatchObject({ path: path.join(adj, 'C00001', 'A-1234.PDF'), filename: 'Factura A-1234.pdf', contentType: 'application/pdf', size: 7 });
  });

  it('reads a small attachment while checking it (bytes unchanged); a large one is left to be streamed from its path', async () => {
    const big = Buffer.alloc(INLINE_ATTACHMENT_MAX + 1, 0x41);
    await writeFile(path.join(adj, 'C00001', 'grande.pdf'), big);
    await writeFile(path.join(adj, 'C00001', 'justo.pdf'), big.subarray(1));
    const [pdf, large, exact] = await resolve({ path: 'C00001/A-1234.PDF' }, { path: 'C00001/grande.pdf' }, { path: 'C00001/justo.pdf' });
    expect(pdf!.content).toEqual(Buffer.from([0x25, 0x50, 0x44, 0x46, 0, 1, 2]));
    expect(large).toMatchObject({ size: INLINE_ATTACHMENT_MAX + 1, path: path.join(adj, 'C00001', 'grande.pdf') });
    expect(large).not.toHaveProperty('content');
    expect(exact!.content?.length).toBe(INLINE_ATTACHMENT_MAX);
  });

  it('accepts absolute POSIX paths inside the attachment or the order folder', async () => {
    const [a, b] = await resolve({ path: path.join(adj, 'C00001', 'notas.txt') }, { path: path.join(orders, 'en-ordenes.xml') });
    expect(a).toMatchObject({ path: path.join(adj, 'C00001', 'notas.txt'), contentType: 'application/octet-stream', filename: 'notas.txt' });
    expect(b).toMatchObject({ path: path.join(orders, 'en-ordenes.xml') });
  });

  it('maps a Windows drive path (case-insensitively, either separator) and a UNC path', async () => {
    const [a, b, c] = await resolve(
      { path: 'C:\\Trabajo\\proscai\\Envio_Mails\\C00001\\A-1234.xml' },
      { path: 'c:/TRABAJO/proscai/envio_mails/C00001/A-1234.PDF' },
      { path: '\\\\servidor\\compartido\\cfd\\C00001\\notas.txt' },
    );
    expect(a).toMatchObject({ path: path.join(adj, 'C00001', 'A-1234.xml'), filename: 'A-1234.xml' });
    expect(b).toMatchObject({ path: path.join(adj, 'C00001', 'A-1234.PDF'), filename: 'A-1234.PDF' });
    expect(c).toMatchObject({ path: path.join(adj, 'C00001', 'notas.txt'), filename: 'notas.txt' });
  });

  it('follows a symlink that stays inside', async () => {
    const [a] = await resolve({ path: 'dentro.xml' });
    expect(a.path).toBe(path.join(adj, 'C00001', 'A-1234.xml'));
    expect(a.filename).toBe('dentro.xml');
  });

  it('works when the attachment folder itself is configured through a symlink', async () => {
    const link = path.join(root, 'adjuntos-enlace');
    await symlink(adj, link);
    const options = { attachmentsDir: link, orderDir: orders, pathMap: {} };
    const [viaLink, viaReal] = await resolveAttachments(
      makeOrder({ attachments: [{ path: 'C00001\\A-1234.xml' }, { path: path.join(adj, 'C00001', 'A-1234.PDF') }] }),
      options,
    );
    expect(viaLink.path).toBe(path.join(adj, 'C00001', 'A-1234.xml'));
    expect(viaReal.path).toBe(path.join(adj, 'C00001', 'A-1234.PDF'));
    await expect(resolveAttachments(makeOrder({ attachments: [{ path: '..\\fuera\\secreto.xml' }] }), options)).rejects.toMatchObject({
      code: ErrorCodes.ATTACHMENT_OUTSIDE,
    });
  });

  it.each([
    ['.. traversal', '..\\fuera\\secreto.xml'],
    ['.. in the middle', 'C00001/../../fuera/secreto.xml'],
    ['an absolute path elsewhere', '/etc/hostname'],
    ['a symlink pointing out', 'enlace.xml'],
    ['a path through a symlinked folder pointing out', 'C00001\\dir-enlace\\secreto.xml'],
    ['a Windows path with no mapping', 'D:\\Otros\\A-1234.xml'],
    ['a UNC path with no mapping', '\\\\OTRO\\share\\A-1234.xml'],
    ['a drive-rooted path with no drive', '\\Trabajo\\A-1234.xml'],
    ['a mapped path that climbs out', 'C:\\Trabajo\\proscai\\Envio_Mails\\..\\fuera\\secreto.xml'],
    ['a prefix that only matches part of a name', 'C:\\Trabajo\\proscai\\Envio_MailsX\\a.xml'],
  ])('refuses %s with ATTACHMENT_OUTSIDE', async (_name, written) => {
    const err = await refusal({ path: written });
    expect(err.code).toBe(ErrorCodes.ATTACHMENT_OUTSIDE);
    expect(err.field).toBe('Adjuntos/Archivo');
    expect(err.value).toBe(written);
  });

  it('refuses a missing file and a dangling symlink with ATTACHMENT_MISSING', async () => {
    expect((await refusal({ path: 'C00001\\no-existe.xml' })).code).toBe(ErrorCodes.ATTACHMENT_MISSING);
    expect((await refusal({ path: 'roto.xml' })).code).toBe(ErrorCodes.ATTACHMENT_MISSING);
    expect((await refusal({ path: 'C00001\\notas.txt\\x.xml' })).code).toBe(ErrorCodes.ATTACHMENT_MISSING);
  });

  // Tests run as root, for whom chmod 000 still reads: a directory and a FIFO
  // named like attachments are what cannot be read as a file for anybody.
  it('refuses what cannot be read as a regular file with ATTACHMENT_UNREADABLE (a directory, a FIFO)', async () => {
    const dir = await refusal({ path: 'carpeta.pdf' });
    expect(dir.code).toBe(ErrorCodes.ATTACHMENT_UNREADABLE);
    expect(dir.value).toBe('carpeta.pdf');
    const fifo = await refusal({ path: 'tuberia.xml' });
    expect(fifo.code).toBe(ErrorCodes.ATTACHMENT_UNREADABLE);
  });

  it('fails the whole order on the first bad attachment and names the others in the message', async () => {
    const err = await refusal({ path: 'C00001\\A-1234.xml' }, { path: 'falta.pdf' }, { path: '..\\fuera\\secreto.xml' });
    expect(err.code).toBe(ErrorCodes.ATTACHMENT_MISSING);
    expect(err.value).toBe('falta.pdf');
    expect(err.message).toContain('ATTACHMENT_OUTSIDE');
  });

  it('resolves an order without attachments to an empty list', async () => {
    expect(await resolve()).toEqual([]);
  });
});

describe('mapWindowsPath', () => {
  const map = { 'C:\\Trabajo\\Envio\\': '/srv/envio/', 'C:\\Trabajo\\': '/srv/trabajo', '/mnt/ERP': '/srv/erp' };

  it('applies the longest matching prefix and converts separators', () => {
    expect(mapWindowsPath('C:\\Trabajo\\Envio\\C1\\a.xml', map)).toBe('/srv/envio/C1/a.xml');
    expect(mapWindowsPath('c:\\trabajo\\otro\\a.xml', map)).toBe('/srv/trabajo/otro/a.xml');
    expect(mapWindowsPath('C:/Trabajo/Envio', map)).toBe('/srv/envio');
  });

  it('matches POSIX prefixes exactly and only at a path boundary', () => {
    expect(mapWindowsPath('/mnt/ERP/a.pdf', map)).toBe('/srv/erp/a.pdf');
    expect(mapWindowsPath('/mnt/erp/a.pdf', map)).toBeUndefined();
    expect(mapWindowsPath('C:\\TrabajoX\\a.pdf', map)).toBeUndefined();
    expect(mapWindowsPath('D:\\Trabajo\\a.pdf', map)).toBeUndefined();
  });
});

describe('helpers', () => {
  it('contentTypeFor follows the extension, any case', () => {
    expect(contentTypeFor('a.XML')).toBe('application/xml');
    expect(contentTypeFor('C1\\a.Pdf')).toBe('application/pdf');
    expect(contentTypeFor('a.zip')).toBe('application/octet-stream');
    expect(contentTypeFor('sin-extension')).toBe('application/octet-stream');
  });

  it('baseName takes the last component with either separator', () => {
    expect(baseName('C00001\\A-1234.xml')).toBe('A-1234.xml');
    expect(baseName('\\\\srv\\share\\x/y.pdf')).toBe('y.pdf');
  });
});
