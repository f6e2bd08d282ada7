import { constants } from 'node:fs';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { configureFs, fastFs, fsCallMode, isNetworkFolder } from '../../../src/io/store/file-calls.js';
import { makeTmpDir } from '../../helpers/tmp.js';

afterEach(() => {
  configureFs({ mode: 'async' });
});

/** What a rejection says, in the fields callers look at. */
async function failure(p: Promise<unknown>) {
  const err = (await p.then(
    () => undefined,
    (e: unknown) => e,
  )) as NodeJS.ErrnoException | undefined;
  expect(err).toBeInstanceOf(Error);
  return { code: err!.code, syscall: err!.syscall, path: err!.path };
}

describe('isNetworkFolder', () => {
  it('recognises UNC paths on every platform', () => {
    expect(isNetworkFolder('\\\\servidor\\proscai\\Envio_Mails', 'win32')).toBe(true);
    expect(isNetworkFolder('//servidor/proscai', 'linux')).toBe(true);
  });

  it('takes a local temp folder, a drive-letter path and a missing folder for local', () => {
    expect(isNetworkFolder(os.tmpdir())).toBe(false);
    expect(isNetworkFolder('C:\\Trabajo\\proscai', 'win32')).toBe(false);
    expect(isNetworkFolder(path.join(os.tmpdir(), 'no-such-folder-here', 'x'))).toBe(false);
  });
});

describe('configureFs', () => {
  it('is asynchronous until configured, and follows the mode asked for', () => {
    expect(fsCallMode()).toBe('async');
    expect(configureFs({ mode: 'sync' })).toBe('sync');
    expect(configureFs({ mode: 'async' })).toBe('async');
    expect(configureFs({ mode: 'auto', folders: [os.tmpdir()] })).toBe('sync');
  });

  it('auto: asynchronous from the start when a folder is on a network share, said once', () => {
    const told: unknown[] = [];
    expect(configureFs({ mode: 'auto', folders: [os.tmpdir(), '\\\\servidor\\proscai'], onSlow: (i) => told.push(i) })).toBe('async');
    expect(told).toEqual([{ op: 'statfs', target: '\\\\servidor\\proscai', ms: 0, reason: 'network' }]);
  });

  it('auto: one synchronous call slower than slowMs turns every later call asynchronous, said once', async () => {
    const dir = await makeTmpDir();
    const file = path.join(dir, 'a.txt');
    writeFileSync(file, 'hola');
    const told: { op: string; reason: string }[] = [];
    configureFs({ mode: 'auto', folders: [dir], slowMs: -1, onSlow: (i) => told.push(i) });
    expect(fsCallMode()).toBe('sync');
    await fastFs.stat(file);
    expect(fsCallMode()).toBe('async');
    await fastFs.stat(file);
    expect(told).toEqual([expect.objectContaining({ op: 'stat', reason: 'slow' })]);
  });

  it('sync never gives up synchronous calls, however slow', async () => {
    const dir = await makeTmpDir();
    configureFs({ mode: 'sync', slowMs: -1, onSlow: () => expect.fail('sync mode must not switch') });
    await fastFs.stat(dir);
    expect(fsCallMode()).toBe('sync');
  });
});

describe.each(['sync', 'async'] as const)('fastFs in %s mode', (mode) => {
  it('does what fs/promises does, on real files', async () => {
    configureFs({ mode });
    const dir = await makeTmpDir();
    const a = path.join(dir, 'a.XML');
    const b = path.join(dir, 'sub', 'deep', 'b.XML');
    writeFileSync(a, '<OrdenEnvio/>');
    await fastFs.mkdirp(path.dirname(b));
    await fastFs.mkdirp(path.dirname(b)); // again: no error
    await fastFs.rename(a, b);
    expect((await fastFs.readFile(b)).toString()).toBe('<OrdenEnvio/>');
    expect(await fastFs.readText(b)).toBe('<OrdenEnvio/>');
    expect((await fastFs.stat(b)).size).toBe(13);
    expect((await fastFs.lstat(b)).isFile()).toBe(true);
    await fastFs.access(b, constants.R_OK);
    expect(await fastFs.realpath(path.join(dir, 'sub', '..', 'sub', 'deep', 'b.XML'))).toBe(await (await import('node:fs/promises')).realpath(b));
    await fastFs.unlink(b);
    expect(fsCallMode()).toBe(mode);
  });

  it('rejects (never throws synchronously) with the same code, syscall and path as fs/promises', async () => {
    configureFs({ mode });
    const dir = await makeTmpDir();
    const missing = path.join(dir, 'no.XML');
    let call: Promise<unknown> | undefined;
    expect(() => {
      call = fastFs.stat(missing);
    }).not.toThrow();
    expect(await failure(call!)).toEqual({ code: 'ENOENT', syscall: 'stat', path: missing });
    expect(await failure(fastFs.readFile(missing))).toMatchObject({ code: 'ENOENT', syscall: 'open' });
    expect(await failure(fastFs.rename(missing, path.join(dir, 'b')))).toMatchObject({ code: 'ENOENT', syscall: 'rename' });
    expect(await failure(fastFs.unlink(missing))).toEqual({ code: 'ENOENT', syscall: 'unlink', path: missing });
    mkdirSync(path.join(dir, 'carpeta'));
    expect(await failure(fastFs.readFile(path.join(dir, 'carpeta')))).toMatchObject({ code: 'EISDIR' });
  });
});
