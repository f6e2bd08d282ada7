/**
 * `companies.<Empresa>.dkim` and `htmlEnvelope` as the pure configuration
 * builder sees them: validation, paths from the file's folder, the key from
 * an environment variable, masking, and the key files handed back by io
 * (`withDkimKeys`). Reading and checking the keys: test/io/host/dkim-keys.test.ts.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';

import { dkimEntriesOf, withDkimKeys } from '../../src/config/dkim.js';
import { foldersOf } from '../../src/config/folders.js';
import { buildConfig, maskConfig } from '../../src/config/load.js';
import { configReason } from '../../src/text/config-errors.js';
import { configErrorOf } from '../helpers/config-error.js';

const cwd = path.resolve('/srv/cwd');
const fileName = path.resolve('/etc/proscai/mailer.json');
const smtp = { host: 'smtp.acme.mx' };

function build(file: unknown, env: Record<string, string> = {}) {
  return buildConfig({ file, fileName, env, flags: { dir: '/srv/envio' }, cwd });
}

describe('companies.<Empresa>.dkim', () => {
  it('takes a key file relative to the configuration file, lower-cases domain and selector', () => {
    const c = build({ companies: { ACME: { smtp, dkim: { domain: 'Acme.MX', selector: 'Proscai2026', privateKeyFile: 'claves/acme.pem' } } } });
    expect(c.companies.ACME!.dkim).toEqual({ domain: 'acme.mx', selector: 'proscai2026', privateKeyFile: path.resolve('/etc/proscai/claves/acme.pem') });
  });

  it('takes the key from privateKeyEnv, restoring line breaks written as \\n', () => {
    const pem = '-----BEGIN PRIVATE KEY-----\\nMIIB\\n-----END PRIVATE KEY-----';
    const c = build({ companies: { ACME: { smtp, dkim: { domain: 'acme.mx', selector: 's1', privateKeyEnv: 'ACME_DKIM' } } } }, { ACME_DKIM: pem });
    expect(c.companies.ACME!.dkim!.privateKey).toBe('-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----');
  });

  it('refuses an unset privateKeyEnv, naming the company and the variable', () => {
    const e = configErrorOf(() => build({ companies: { ACME: { smtp, dkim: { domain: 'acme.mx', selector: 's1', privateKeyEnv: 'ACME_DKIM' } } } }));
    expect(e.message).toBe(`companies.ACME.dkim.privateKeyEnv: the environment variable ACME_DKIM is not set (in ${fileName})`);
  });

  it('needs exactly one of privateKeyFile and privateKeyEnv', () => {
    const none = configErrorOf(() => build({ companies: { ACME: { smtp, dkim: { domain: 'acme.mx', selector: 's1' } } } }));
    expect(none.message).toContain('companies.ACME.dkim: needs "privateKeyFile" or "privateKeyEnv"');
    expect(configReason(none.message, 'es')).toContain('companies.ACME.dkim: necesita "privateKeyFile" o "privateKeyEnv"');
    const both = configErrorOf(() => build({ companies: { ACME: { smtp, dkim: { domain: 'acme.mx', selector: 's1', privateKeyFile: 'a.pem', privateKeyEnv: 'X' } } } }));
    expect(both.message).toContain('companies.ACME.dkim: give either "privateKeyFile" or "privateKeyEnv", not both');
  });

  it('needs a domain and a selector that DNS can carry', () => {
    expect(configErrorOf(() => build({ companies: { ACME: { smtp, dkim: { selector: 's1', privateKeyFile: 'a.pem' } } } })).message).toContain('companies.ACME.dkim: a profile needs "domain"');
    const bad = configErrorOf(() => build({ companies: { ACME: { smtp, dkim: { domain: 'acme mx', selector: 's1', privateKeyFile: 'a.pem' } } } }));
    expect(bad.message).toContain('companies.ACME.dkim.domain: must be a domain of letters');
    expect(configReason(bad.message, 'es')).toContain('companies.ACME.dkim.domain: debe ser un dominio de letras');
    expect(configErrorOf(() => build({ companies: { ACME: { smtp, dkim: { domain: 'acme.mx', selector: 's_1', privateKeyFile: 'a.pem' } } } })).message).toContain(
      'companies.ACME.dkim.selector: must be a selector',
    );
    expect(configErrorOf(() => build({ companies: { ACME: { smtp, dkim: { domain: 'acme.mx', selector: 's1', privateKeyFile: 'a.pem', key: 'x' } } } })).message).toContain(
      'unknown key "key"',
    );
  });

  it('masks the key in `config` output, keeps d=, s= and the file', () => {
    const pem = '-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----';
    const c = build({ companies: { ACME: { smtp, dkim: { domain: 'acme.mx', selector: 's1', privateKeyEnv: 'ACME_DKIM' } } } }, { ACME_DKIM: pem });
    const masked = JSON.stringify(maskConfig(c));
    expect(masked).not.toContain('MIIB');
    expect(masked).toContain('"privateKey":"********"');
    expect(masked).toContain('"domain":"acme.mx"');
    expect(masked).toContain('"selector":"s1"');
  });

  it('withDkimKeys puts each file\'s key into every folder\'s companies, and stays frozen', () => {
    const c = buildConfig({
      file: {
        companies: { ACME: { smtp, dkim: { domain: 'acme.mx', selector: 's1', privateKeyFile: 'acme.pem' } } },
        folders: [{ dir: '/srv/a' }, { dir: '/srv/b', companies: { OTRA: { smtp, dkim: { domain: 'otra.mx', selector: 's2', privateKeyFile: 'otra.pem' } } } }],
      },
      fileName,
      env: {},
      flags: {},
      cwd,
    });
    // Every folder's companies are listed (the top level's and each folder's own), so every key gets read and checked.
    expect(new Set(dkimEntriesOf(c).map((e) => `${e.key} ${e.dkim.privateKeyFile}`))).toEqual(
      new Set([`companies.ACME.dkim ${path.resolve('/etc/proscai/acme.pem')}`, `companies.OTRA.dkim ${path.resolve('/etc/proscai/otra.pem')}`]),
    );
    const keys = new Map([
      [path.resolve('/etc/proscai/acme.pem'), 'ACME-KEY'],
      [path.resolve('/etc/proscai/otra.pem'), 'OTRA-KEY'],
    ]);
    const loaded = withDkimKeys(c, keys);
    const folders = foldersOf(loaded);
    expect(folders.map((f) => f.companies.ACME!.dkim!.privateKey)).toEqual(['ACME-KEY', 'ACME-KEY']);
    expect(folders[1]!.companies.OTRA!.dkim!.privateKey).toBe('OTRA-KEY');
    expect(loaded.companies.ACME!.dkim!.privateKey).toBe('ACME-KEY');
    expect(Object.isFrozen(loaded) && Object.isFrozen(loaded.companies.ACME!.dkim) && Object.isFrozen(folders[1]!.companies)).toBe(true);
    expect(c.companies.ACME!.dkim!.privateKey).toBeUndefined();
  });
});

describe('companies.<Empresa>.htmlEnvelope', () => {
  it('is a path taken from the configuration file\'s folder', () => {
    const c = build({ companies: { ACME: { smtp, htmlEnvelope: 'sobres/acme.html' } } });
    expect(c.companies.ACME!.htmlEnvelope).toBe(path.resolve('/etc/proscai/sobres/acme.html'));
  });

  it('refuses an empty one', () => {
    expect(configErrorOf(() => build({ companies: { ACME: { smtp, htmlEnvelope: ' ' } } })).message).toContain('companies.ACME.htmlEnvelope: must be a non-empty text');
  });
});
