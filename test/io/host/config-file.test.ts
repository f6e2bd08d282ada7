import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCodes, MailerError } from '../../../src/errors.js';
import { firstJsonError, loadConfig, readConfigFile } from '../../../src/io/host/config-file.js';

let tmp: string;
beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'mailer-config-'));
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function rejection(p: Promise<unknown>): Promise<MailerError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MailerError);
  expect((err as MailerError).code).toBe(ErrorCodes.CONFIG_INVALID);
  return err as MailerError;
}

describe('readConfigFile', () => {
  it('parses JSON, with or without a BOM', async () => {
    const file = path.join(tmp, 'c.json');
    await writeFile(file, '\uFEFF{"poll": 60}');
    expect(await readConfigFile(file)).toEqual({ poll: 60 });
  });

  it('names the file and the line and column of a syntax error', async () => {
    const file = path.join(tmp, 'bad.json');
    await writeFile(file, '{\n  "poll": 60,\n  "retry": [60, 120,]\n}\n');
    const err = await rejection(readConfigFile(file));
    expect(err.message).toContain(file);
    expect(err.message).toContain('line 3, column 21');
  });

  it('locates an unexpected end', async () => {
    const file = path.join(tmp, 'cut.json');
    await writeFile(file, '{\n  "poll": 60');
    expect((await rejection(readConfigFile(file))).message).toContain('line 2, column 13');
  });

  it('says clearly that the file is missing', async () => {
    const file = path.join(tmp, 'none.json');
    const err = await rejection(readConfigFile(file));
    expect(err.message).toBe(`configuration file ${file} does not exist`);
  });

  it('says when the path is a folder', async () => {
    expect((await rejection(readConfigFile(tmp))).message).toContain('is a folder');
  });
});

describe('firstJsonError', () => {
  it('finds the offset where JSON breaks', () => {
    expect(firstJsonError('{"a": 1,}')).toBe(8);
    expect(firstJsonError('{"a" 1}')).toBe(5);
    expect(firstJsonError('[1, 2')).toBe(5);
    expect(firstJsonError('{"a": tru}')).toBe(6);
    expect(firstJsonError('{"a": "x\\q"}')).toBe(9);
    expect(firstJsonError('{} x')).toBe(3);
  });
});

describe('loadConfig', () => {
  it('reads --config and resolves the file\'s relative paths from its folder', async () => {
    await mkdir(path.join(tmp, 'etc'));
    const file = path.join(tmp, 'etc', 'mailer.json');
    await writeFile(
      file,
      JSON.stringify({ dir: '../envio', companies: { ACME: { smtp: { host: 'smtp.acme.mx', passwordEnv: 'ACME_PW' } } } }),
    );
    const config = await loadConfig({ flags: { config: 'etc/mailer.json' }, env: { ACME_PW: 'pw-from-env' }, cwd: tmp });
    expect(config.dir).toBe(path.join(tmp, 'envio'));
    expect(config.companies.ACME.smtp?.password).toBe('pw-from-env');
  });

  it('an invalid file stops with the key and the file named', async () => {
    const file = path.join(tmp, 'mailer.json');
    await writeFile(file, JSON.stringify({ dir: '/x', polll: 3 }));
    const err = await rejection(loadConfig({ flags: { config: file }, env: {} }));
    expect(err.message).toBe(`unknown key "polll" (did you mean "poll"?) (in ${file})`);
  });

  it('works without a file', async () => {
    const config = await loadConfig({ flags: {}, env: { MAILER_DIR: tmp } });
    expect(config.dir).toBe(tmp);
  });
});
