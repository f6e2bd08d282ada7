import { constants } from 'node:fs';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { asyncFileCalls, createFileCalls, isNetworkFolder } from '../../../src/io/store/file-calls.js';
import { createOrderStore, type FileCallsNote } from '../../../src/io/store/store.js';
import { makeTmpDir } from '../../helpers/tmp.js';

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

describe('createFileCalls', () => {
  it('is asynchronous unless configured, and follows the mode asked for', async () => {
    expect(asyncFileCalls.mode()).toBe('async');
    const dir = await makeTmpDir();
    expect(createOrderStore({ dir, workDir: path.join(dir, 'w'), hostId: 'h', recycleDir: null }).calls.mode()).toBe('async');
    expect(createFileCalls({ mode: 'sync' }).mode()).toBe('sync');
    expect(createFileCalls({ mode: 'async' }).mode()).toBe('async');
    expect(createFileCalls({ mode: 'auto', folders: [os.tmpdir()] }).mode()).toBe('sync');
  });

  it('each order store has its own calls, and says how they are made through onFileCalls', async () => {
    const dir = await makeTmpDir();
    const notes: FileCallsNote[] = [];
    const store = (fsMode: 'auto' | 'sync', fsFolders: string[] = []) =>
      createOrderStore({ dir, workDir: path.join(dir, 'w'), hostId: 'h', recycleDir: null, fsMode, fsFolders, onFileCalls: (n) => notes.push(n) });
    const share = store('auto', ['\\\\servidor\\adjuntos']);
    const local = store('sync');
    expect([share.calls.mode(), local.calls.mode()]).toEqual(['async', 'sync']);
    expect(notes).toEqual([
      { kind: 'async', op: 'statfs', target: '\\\\servidor\\adjuntos', ms: 0, reason: 'network' },
      { kind: 'mode', mode: 'auto', calls: 'async' },
      { kind: 'mode', mode: 'sync', calls: 'sync' },
    ]);
  });

  it('auto: asynchronous from the start when a folder is on a network share, said once', () => {
    const told: unknown[] = [];
    expect(createFileCalls({ mode: 'auto', folders: [os.tmpdir(), '\\\\servidor\\proscai'], onSlow: (i) => told.push(i) }).mode()).toBe('async');
    expect(told).toEqual([{ op: 'statfs', target: '\\\\servidor\\proscai', ms: 0, reason: 'network' }]);
  });

  it('auto: one synchronous call slower than slowMs turns every later call asynchronous, said once', async () => {
    const dir = await makeTmpDir();
    const file = path.join(dir, 'a.txt');
    writeFileSync(file, 'hola');
    const told: { op: string; reason: string }[] = [];
    const fastFs = createFileCalls({ mode: 'auto', folders: [dir], slowMs: -1, onSlow: (i) => told.push(i) });
    expect(fastFs.mode()).toBe('sync');
    await fastFs.stat(file);
    expect(fastFs.mode()).toBe('async');
    await fastFs.stat(file);
    expect(told).toEqual([expect.objectContaining({ op: 'stat', reason: 'slow' })]);
  });

  it('sync never gives up synchronous calls, however slow', async () => {
    const dir = await makeTmpDir();
    const fastFs = createFileCalls({ mode: 'sync', slowMs: -1, onSlow: () => expect.fail('sync mode must not switch') });
    await fastFs.stat(dir);
    expect(fastFs.mode()).toBe('sync');
  });
});

describe.each(['sync', 'async'] as const)('file calls in %s mode', (mode) => {
  it('does what fs/promises does, on real files', async () => {
    const fastFs = createFileCalls({ mode });
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
    expect(fastFs.mode()).toBe(mode);
  });

  it('rejects (never throws synchronously) with the same code, syscall and path as fs/promises', async () => {
    const fastFs = createFileCalls({ mode });
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
