import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildConfig } from '../../src/config/load.js';
import { foldersOf } from '../../src/config/folders.js';
import { configReason } from '../../src/text/config-errors.js';
import { configErrorOf } from '../helpers/config-error.js';

const cwd = path.resolve('/srv/cwd');
const fileName = path.resolve('/etc/mailer/config.json');
const base = { env: {}, flags: {}, cwd, fileName };
const abs = (p: string): string => path.resolve('/etc/mailer', p);

const acme = { smtp: { host: 'smtp.acme.mx' }, from: 'facturas@acme.mx' };
const beta = { smtp: { host: 'smtp.beta.mx' }, from: 'facturas@beta.mx' };

describe('foldersOf', () => {
  it('a configuration without a folders list serves its one folder', () => {
    const c = buildConfig({ ...base, flags: { dir: '/srv/envio' } });
    expect(foldersOf(c)).toEqual([c]);
    expect(c.folders).toBeUndefined();
  });

  it('each entry is a complete configuration inheriting the top level; companies merge by name, the entry winning', () => {
    const c = buildConfig({
      ...base,
      file: {
        poll: 30,
        errorMail: 'sistemas@hosting.mx',
        hostId: 'srv1',
        pathMap: { 'C:\\A\\': 'a/', 'C:\\B\\': 'b/' },
        companies: { ACME: acme, OTRA: beta },
        folders: [
          { dir: 'acme/envio', companies: { acme: { smtp: { host: 'smtp2.acme.mx' } } }, afterSend: 'reciclar', recycleDir: 'acme/papelera' },
          { dir: '/srv/beta/envio', attachments: '/srv/beta/adjuntos', errorMail: 'ti@beta.mx', pathMap: { 'C:\\B\\': '/srv/beta/' }, language: 'en' },
        ],
      },
    });
    const [a, b] = foldersOf(c);
    expect(foldersOf(c)).toHaveLength(2);
    expect(a!.dir).toBe(abs('acme/envio'));
    expect(a!.attachments).toBe(abs('acme/envio'));
    expect(a!.workDir).toBe(path.join(abs('acme/envio'), '.proscai-mailer'));
    expect(a!.afterSend).toBe('RECICLAR');
    expect(a!.recycleDir).toBe(abs('acme/papelera'));
    expect(a!.poll).toBe(30);
    expect(a!.errorMail).toBe('sistemas@hosting.mx');
    expect(a!.hostId).toBe('srv1');
    expect(Object.keys(a!.companies).sort()).toEqual(['OTRA', 'acme']);
    expect(a!.companies.acme).toEqual({ smtp: { host: 'smtp2.acme.mx' }, maxConnections: 2, perMinute: null });
    expect(a!.folders).toBeUndefined();

    expect(b!.dir).toBe(path.resolve('/srv/beta/envio'));
    expect(b!.attachments).toBe(path.resolve('/srv/beta/adjuntos'));
    expect(b!.errorMail).toBe('ti@beta.mx');
    expect(b!.language).toBe('en');
    expect(b!.companies.ACME?.from).toBe('facturas@acme.mx');
    expect(b!.pathMap).toEqual({ 'C:\\A\\': abs('a') + path.sep, 'C:\\B\\': path.resolve('/srv/beta') + path.sep });
    // The top level: the first folder's place, the top-level settings, the list.
    expect(c.dir).toBe(a!.dir);
    expect(c.language).toBe('es');
    expect(Object.isFrozen(c.folders)).toBe(true);
  });

  it('an inherited logDir gives each folder its own subfolder named after its path, so no two write one mailer.log', () => {
    const c = buildConfig({ ...base, file: { logDir: '/var/log/mailer', folders: [{ dir: '/srv/a/envio' }, { dir: '/srv/b/envio/' }, { dir: 'C:\\Empresas\\ACME' }, { dir: '/srv/c/x', logDir: '/var/log/c' }] } });
    expect(foldersOf(c).map((f) => f.logDir)).toEqual([
      path.join(path.resolve('/var/log/mailer'), 'srv_a_envio'),
      path.join(path.resolve('/var/log/mailer'), 'srv_b_envio'),
      path.join(path.resolve('/var/log/mailer'), 'C_Empresas_ACME'),
      path.resolve('/var/log/c'),
    ]);
  });

  it('MAILER_DIR and MAILER_ATTACHMENT_PATH do not pick a folder when the file lists them; CFD_MAIL_ERR_MAIL still counts', () => {
    const c = buildConfig({
      ...base,
      env: { MAILER_DIR: '/srv/erp', MAILER_ATTACHMENT_PATH: '/srv/adj', CFD_MAIL_ERR_MAIL: 'env@hosting.mx' },
      file: { folders: [{ dir: '/srv/a' }, { dir: '/srv/b', errorMail: 'b@b.mx' }] },
    });
    expect(foldersOf(c).map((f) => [f.dir, f.attachments, f.errorMail])).toEqual([
      [path.resolve('/srv/a'), path.resolve('/srv/a'), 'env@hosting.mx'],
      [path.resolve('/srv/b'), path.resolve('/srv/b'), 'b@b.mx'],
    ]);
  });

  it('--dir narrows to the entry with that folder, or serves a folder not in the list with the top-level settings', () => {
    const file = { afterSend: 'ELIMINAR', folders: [{ dir: '/srv/a' }, { dir: '/srv/b', afterSend: 'CONSERVAR', workDir: '/var/lib/b' }] };
    const b = buildConfig({ ...base, file, flags: { dir: '/srv/b/', poll: '7' } });
    expect(foldersOf(b)).toEqual([b]);
    expect([b.dir, b.afterSend, b.workDir, b.poll]).toEqual([path.resolve('/srv/b'), 'CONSERVAR', path.resolve('/var/lib/b'), 7]);
    const other = buildConfig({ ...base, file, flags: { dir: '/srv/z' } });
    expect(foldersOf(other)).toEqual([other]);
    expect([other.dir, other.afterSend, other.workDir]).toEqual([path.resolve('/srv/z'), 'ELIMINAR', path.join(path.resolve('/srv/z'), '.proscai-mailer')]);
  });

  it.each([
    ['duplicate dirs', [{ dir: '/srv/a' }, { dir: '/srv/b' }, { dir: '/srv/a/' }], 'folders[2].dir: same order folder as folders[0]'],
    ['a dir inside another folder', [{ dir: '/srv/a' }, { dir: '/srv/a/sub' }], 'folders[1].dir: is inside the order folder of folders[0]'],
    ['a dir containing another folder', [{ dir: '/srv/a/sub' }, { dir: '/srv/a' }], 'folders[1].dir: contains the order folder of folders[0]'],
    ['a dir in another folder\'s work area', [{ dir: '/srv/a', workDir: '/var/lib/w' }, { dir: '/var/lib/w/b' }], 'folders[1].dir: is inside the work area of folders[0]'],
    ['a shared work area', [{ dir: '/srv/a', workDir: '/var/lib/w' }, { dir: '/srv/b', workDir: '/var/lib/w' }], 'folders[1].workDir: shares the work area of folders[0]'],
    ['a shared log file', [{ dir: '/srv/a', logDir: '/var/log/m' }, { dir: '/srv/b', logDir: '/var/log/m' }], 'folders[1].logDir: writes the same log file as folders[0]'],
    ['an inherited logDir and folders whose paths read alike', [{ dir: '/srv/a_envio' }, { dir: '/srv/a/envio' }], 'folders[1].logDir: writes the same log file as folders[0]'],
  ])('refuses %s, naming the entry', (_name, folders, message) => {
    const err = configErrorOf(() => buildConfig({ ...base, file: { logDir: '/var/log/top', folders } }));
    expect(err.message).toContain(message);
    expect(err.message).toContain(`(in ${fileName})`);
  });

  it.each([
    [{ folders: [] }, 'folders: must list at least one folder'],
    [{ folders: [{ attachments: '/x' }] }, 'folders[0]: every folder needs "dir"'],
    [{ folders: [{ dir: '/a', hostId: 'x' }] }, 'folders[0].hostId: is set for the whole process, at the top level, not per folder'],
    [{ folders: [{ dir: '/a', polll: 3 }] }, 'folders[0]: unknown key "polll" (did you mean "poll"?)'],
    [{ folders: [{ dir: '/a', afterSend: 'GUARDAR' }] }, 'folders[0].afterSend: must be one of CONSERVAR, RECICLAR, ELIMINAR'],
    [{ dir: '/srv/top', folders: [{ dir: '/a' }] }, 'dir: with a "folders" list, each folder gives its own "dir"'],
    [{ folders: [{ dir: '/a' }, { dir: '/b', companies: { X: { smtp: { host: 'h', passwordEnv: 'NOPE_UNSET' } } } }] }, 'folders[1]: companies.X.smtp.passwordEnv: the environment variable NOPE_UNSET is not set'],
  ])('an invalid list is named: %j', (file, message) => {
    expect(configErrorOf(() => buildConfig({ ...base, file })).message).toContain(message);
  });

  it('the new phrases read in Spanish', () => {
    const err = configErrorOf(() => buildConfig({ ...base, file: { folders: [{ dir: '/srv/a' }, { dir: '/srv/a/sub' }] } }));
    expect(configReason(err.message, 'es')).toContain('folders[1].dir: está dentro de la carpeta de órdenes de folders[0]');
  });
});
