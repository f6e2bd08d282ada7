import { execFileSync } from 'node:child_process';
import { constants as fsConstants, openSync, closeSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ErrorCodes, MailerError } from '../../../src/errors.js';
import { INLINE_ATTACHMENT_MAX, baseName, contentTypeFor, mapWindowsPath, resolveAttachments } from '../../../src/io/store/attachments.js';
import type { OrderAttachment } from '../../../src/order/types.js';
import { mailerFailure } from '../../helpers/scoped.js';
import { makeOrder } from '../smtp/send-fixtures.js';

const windows = process.platform === 'win32';

/**
 * Which links the tests can make here. POSIX: file and folder symlinks, always
 * (anything else fails the file). Windows: a junction (a folder link) needs no
 * privilege, a file symlink needs SeCreateSymbolicLinkPrivilege or Developer
 * Mode; Wine 8, which runs the Windows lane, makes neither (symlink() reports
 * success and creates nothing; a junction fails with ENOTSUP). A case that
 * needs a link runs wherever that link can be made, and its name says which.
 */
async function linkSupport(): Promise<{ file: boolean; folder: boolean }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'links-'));
  const made = async (target: string, link: string, type: 'file' | 'junction') => {
    try {
      await symlink(target, link, type);
      return (await lstat(link)).isSymbolicLink();
    } catch {
      return false;
    }
  };
  try {
    await writeFile(path.join(dir, 'f'), '');
    await mkdir(path.join(dir, 'd'));
    const support = { file: await made(path.join(dir, 'f'), path.join(dir, 'fl'), 'file'), folder: await made(path.join(dir, 'd'), path.join(dir, 'dl'), 'junction') };
    if (!windows && !(support.file && support.folder)) throw new Error(`symlinks cannot be made in ${tmpdir()}`);
    return support;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
const links = await linkSupport();

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
  if (links.file) {
    await symlink(path.join(outside, 'secreto.xml'), path.join(adj, 'enlace.xml'), 'file');
    await symlink(path.join(adj, 'no-existe.xml'), path.join(adj, 'roto.xml'), 'file');
    await symlink(path.join(adj, 'C00001', 'A-1234.xml'), path.join(adj, 'dentro.xml'), 'file');
  }
  if (links.folder) {
    // 'junction' is what a Windows user makes without privileges; elsewhere Node makes a plain symlink.
    await symlink(outside, path.join(adj, 'C00001', 'dir-enlace'), 'junction');
    await symlink(path.join(adj, 'C00001'), path.join(adj, 'C00001-enlace'), 'junction');
    await mkdir(path.join(root, 'borrada'));
    await symlink(path.join(root, 'borrada'), path.join(adj, 'dir-roto'), 'junction');
    await rm(path.join(root, 'borrada'), { recursive: true });
  }
  if (!windows) execFileSync('mkfifo', [path.join(adj, 'tuberia.xml')]);
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

/** The same path with the case of every letter swapped (Windows compares names ignoring case). */
function otherCase(p: string): string {
  return p.replace(/[a-z]/gi, (c) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()));
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

  it('accepts absolute paths inside the attachment or the order folder (Windows: drive paths, resolved natively)', async () => {
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

  it('with no pathMap entry, a drive path is resolved natively on Windows (any case, either separator) and refused on Linux', async () => {
    const elsewhere = 'C:\\envio\\C00001\\F-1.xml';
    if (windows) {
      const written = `${otherCase(adj).replace(/\\/g, '/')}/c00001\\a-1234.XML`;
      const [a, b] = await resolveAttachments(makeOrder({ attachments: [{ path: written }, { path: otherCase(path.join(orders, 'en-ordenes.xml')) }] }), {
        attachmentsDir: adj,
        orderDir: orders,
        pathMap: {},
      });
      expect(a).toMatchObject({ source: written, path: path.join(adj, 'C00001', 'A-1234.xml'), filename: 'a-1234.XML', contentType: 'application/xml' });
      expect(b!.path).toBe(path.join(orders, 'en-ordenes.xml'));
      // Another folder of the same drive: the containment check refuses it.
      const err = await refusal({ path: elsewhere });
      expect(err.code).toBe(ErrorCodes.ATTACHMENT_OUTSIDE);
      expect(err.message).toContain('outside');
    } else {
      const err = await refusal({ path: elsewhere });
      expect(err.code).toBe(ErrorCodes.ATTACHMENT_OUTSIDE);
      expect(err.message).toContain('pathMap');
    }
  });

  it('refuses an absolute path that climbs out with .., and one to a file elsewhere, with ATTACHMENT_OUTSIDE', async () => {
    const climbing = [adj, '..', 'fuera', 'secreto.xml'].join(path.sep);
    const written = [climbing, path.join(outside, 'secreto.xml'), ...(windows ? [climbing.replace(/\\/g, '/'), otherCase(path.join(outside, 'secreto.xml'))] : [])];
    for (const p of written) {
      const err = await refusal({ path: p });
      expect(err.code).toBe(ErrorCodes.ATTACHMENT_OUTSIDE);
      expect(err.value).toBe(p);
    }
  });

  it.runIf(links.file)('follows a symlink that stays inside (needs file symlinks: on Windows a privilege)', async () => {
    const [a] = await resolve({ path: 'dentro.xml' });
    expect(a.path).toBe(path.join(adj, 'C00001', 'A-1234.xml'));
    expect(a.filename).toBe('dentro.xml');
  });

  it.runIf(links.folder)('follows a folder link that stays inside (needs folder links: junctions on Windows)', async () => {
    const [a] = await resolve({ path: 'C00001-enlace\\A-1234.xml' });
    expect(a.path).toBe(path.join(adj, 'C00001', 'A-1234.xml'));
  });

  it.runIf(links.folder)('works when the attachment folder itself is configured through a link (needs folder links: junctions on Windows)', async () => {
    const link = path.join(root, 'adjuntos-enlace');
    await symlink(adj, link, 'junction');
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
    ['a path rooted on no drive (Windows) or elsewhere (POSIX)', '/etc/hostname'],
    ['a drive path elsewhere (Linux: with no mapping)', 'D:\\Otros\\A-1234.xml'],
    ['a UNC path elsewhere (Linux: with no mapping)', '\\\\OTRO\\share\\A-1234.xml'],
    ['a drive-rooted path with no drive', '\\Trabajo\\A-1234.xml'],
    ['a path relative to a drive\'s current folder', 'C:A-1234.xml'],
    ['a mapped path that climbs out', 'C:\\Trabajo\\proscai\\Envio_Mails\\..\\fuera\\secreto.xml'],
    ['a prefix that only matches part of a name', 'C:\\Trabajo\\proscai\\Envio_MailsX\\a.xml'],
  ])('refuses %s with ATTACHMENT_OUTSIDE', async (_name, written) => {
    const err = await refusal({ path: written });
    expect(err.code).toBe(ErrorCodes.ATTACHMENT_OUTSIDE);
    expect(err.field).toBe('Adjuntos/Archivo');
    expect(err.value).toBe(written);
  });

  it.runIf(links.folder)('refuses a missing file behind a folder link pointing out with ATTACHMENT_OUTSIDE, not MISSING (no probing which files exist elsewhere; needs folder links: junctions on Windows)', async () => {
    expect((await refusal({ path: 'C00001\\dir-enlace\\secreto.xml' })).code).toBe(ErrorCodes.ATTACHMENT_OUTSIDE);
    expect((await refusal({ path: 'C00001\\dir-enlace\\no-existe.xml' })).code).toBe(ErrorCodes.ATTACHMENT_OUTSIDE);
    expect((await refusal({ path: 'C00001\\dir-enlace\\no\\existe.xml' })).code).toBe(ErrorCodes.ATTACHMENT_OUTSIDE);
    expect((await refusal({ path: 'C00001\\no-existe\\tampoco.xml' })).code).toBe(ErrorCodes.ATTACHMENT_MISSING);
  });

  it.runIf(links.file)('refuses a symlink pointing out with ATTACHMENT_OUTSIDE (needs file symlinks: on Windows a privilege)', async () => {
    expect((await refusal({ path: 'enlace.xml' })).code).toBe(ErrorCodes.ATTACHMENT_OUTSIDE);
  });

  it.runIf(links.folder)('refuses a path through a folder link pointing out with ATTACHMENT_OUTSIDE (needs folder links: junctions on Windows)', async () => {
    const err = await refusal({ path: 'C00001\\dir-enlace\\secreto.xml' });
    expect(err.code).toBe(ErrorCodes.ATTACHMENT_OUTSIDE);
    expect(err.value).toBe('C00001\\dir-enlace\\secreto.xml');
  });

  it('refuses a missing file with ATTACHMENT_MISSING', async () => {
    expect((await refusal({ path: 'C00001\\no-existe.xml' })).code).toBe(ErrorCodes.ATTACHMENT_MISSING);
    expect((await refusal({ path: 'C00001\\notas.txt\\x.xml' })).code).toBe(ErrorCodes.ATTACHMENT_MISSING);
  });

  it('names the absolute path it looked at, after the attachment folder and pathMap, in the error and its message', async () => {
    const relative = await refusal({ path: 'C00001\\no-existe.xml' });
    expect(relative).toMatchObject({ code: ErrorCodes.ATTACHMENT_MISSING, value: 'C00001\\no-existe.xml', path: path.join(adj, 'C00001', 'no-existe.xml') });
    expect(relative.message).toContain(path.join(adj, 'C00001', 'no-existe.xml'));
    const mapped = await refusal({ path: '\\\\SERVIDOR\\Compartido\\CFD\\C00001\\F-9.pdf' });
    expect(mapped).toMatchObject({ code: ErrorCodes.ATTACHMENT_MISSING, path: path.join(adj, 'C00001', 'F-9.pdf') });
    const folder = await refusal({ path: 'carpeta.pdf' });
    expect(folder).toMatchObject({ code: ErrorCodes.ATTACHMENT_UNREADABLE, path: path.join(adj, 'carpeta.pdf') });
    const climbing = await refusal({ path: '..\\fuera\\secreto.xml' });
    expect(climbing).toMatchObject({ code: ErrorCodes.ATTACHMENT_OUTSIDE, path: path.join(outside, 'secreto.xml') });
    // The first of several bad attachments keeps its path; the message names the others' paths.
    const several = await refusal({ path: 'falta.pdf' }, { path: 'C00001\\no-existe.xml' });
    expect(several.path).toBe(path.join(adj, 'falta.pdf'));
    expect(several.message).toContain(path.join(adj, 'C00001', 'no-existe.xml'));
  });

  it.runIf(links.file)('refuses a dangling symlink with ATTACHMENT_MISSING (needs file symlinks: on Windows a privilege)', async () => {
    expect((await refusal({ path: 'roto.xml' })).code).toBe(ErrorCodes.ATTACHMENT_MISSING);
  });

  it.runIf(links.folder)('refuses a path through a dangling folder link with ATTACHMENT_MISSING (needs folder links: junctions on Windows)', async () => {
    expect((await refusal({ path: 'dir-roto\\x.xml' })).code).toBe(ErrorCodes.ATTACHMENT_MISSING);
  });

  // Tests run as root, for whom chmod 000 still reads: a directory named like
  // an attachment is what cannot be read as a file for anybody.
  it('refuses a directory named like an attachment with ATTACHMENT_UNREADABLE', async () => {
    const dir = await refusal({ path: 'carpeta.pdf' });
    expect(dir.code).toBe(ErrorCodes.ATTACHMENT_UNREADABLE);
    expect(dir.value).toBe('carpeta.pdf');
  });

  it.runIf(!windows)('refuses a FIFO named like an attachment with ATTACHMENT_UNREADABLE (POSIX: FIFOs exist only there)', async () => {
    const fifo = await refusal({ path: 'tuberia.xml' });
    expect(fifo.code).toBe(ErrorCodes.ATTACHMENT_UNREADABLE);
  });

  it.runIf(windows)('refuses a file another program holds open exclusively with ATTACHMENT_UNREADABLE (Windows: share modes exist only there)', async () => {
    const held = path.join(adj, 'C00001', 'abierto.pdf');
    await writeFile(held, 'x');
    // UV_FS_O_EXLOCK: libuv opens with share mode 0, as a program locking the file does.
    const fd = openSync(held, fsConstants.O_RDWR | 0x10000000);
    try {
      const err = await refusal({ path: 'C00001\\abierto.pdf' });
      expect(err.code).toBe(ErrorCodes.ATTACHMENT_UNREADABLE);
      expect(err.message).toContain('EBUSY');
    } finally {
      closeSync(fd);
    }
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
