import fs from 'node:fs/promises';
import { statSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MailerError } from '../../../src/errors.js';
import { createOrderStore, type FsOrderStore, type OrderStoreOptions } from '../../../src/io/store/store.js';
import { encodeNote } from '../../../src/io/store/archive.js';
import type { PersistedOrderState } from '../../../src/ports.js';
import { mailerFailure as failure } from '../../helpers/scoped.js';
import { systemRecycleBin } from '../../helpers/recycle-bin.js';
import { holdFile, makeTmpDir, removeTmpDirs, underWine } from '../../helpers/tmp.js';

afterEach(removeTmpDirs);

const ORDER = '_CFD_MAIL_REQ_0042_20261127093015.XML';
const XML = '<?xml version="1.0"?><OrdenEnvio><Para>a@b.mx</Para></OrdenEnvio>\n';

async function setup(overrides: Partial<OrderStoreOptions> = {}) {
  const dir = await makeTmpDir();
  const workDir = path.join(dir, '.proscai-mailer');
  const warnings: MailerError[] = [];
  const store = createOrderStore({ dir, workDir, hostId: 'host-a', recycleDir: null, onWarning: (e) => warnings.push(e), ...overrides });
  return { dir, workDir, store, warnings };
}

async function put(dir: string, name: string, content = XML): Promise<string> {
  const file = path.join(dir, name);
  await fs.writeFile(file, content);
  return file;
}

const present = (p: string) => fs.access(p).then(() => true, () => false);

/** The errno a file held by `holdFile` gives a rename or delete: EBUSY on Windows (open without sharing), EPERM/EACCES on POSIX. */
const HELD_ERRNO = process.platform === 'win32' ? /\(EBUSY\)/ : /\((EPERM|EACCES)\)/;


const STATE: PersistedOrderState = { attempts: 2, nextTryAt: 1_800_000_000_000, firstSeenAt: 1_700_000_000_000, company: 'ACME', lastError: { code: 'SMTP_TEMPORARY', message: '451 try later' } };

async function claimed(store: FsOrderStore, dir: string, name = ORDER, content = XML) {
  await put(dir, name, content);
  expect(await store.claim(name)).toBe(true);
}

describe('listInbox', () => {
  it('lists only order files, case-insensitively, sorted by name', async () => {
    const { dir, store } = await setup();
    for (const name of ['_CFD_MAIL_REQ_2.XML', '_cfd_mail_req_77.xml', '_CFD_MAIL_REQ_1.XML', 'notes.txt', '_CFD_MAIL_REQ_1.XML.tmp', '~_CFD_MAIL_REQ_1.XML', '_CFD_MAIL_REQ_ a.XML']) {
      await put(dir, name);
    }
    await fs.mkdir(path.join(dir, 'enviados'));
    await fs.mkdir(path.join(dir, '_CFD_MAIL_REQ_9.XML')); // a folder with an order's name is not an order
    await fs.symlink(path.join(dir, '_CFD_MAIL_REQ_1.XML'), path.join(dir, '_CFD_MAIL_REQ_5.XML'));
    expect(await store.listInbox()).toEqual(['_CFD_MAIL_REQ_1.XML', '_CFD_MAIL_REQ_2.XML', '_cfd_mail_req_77.xml']);
  });

  it('lists a folder of 20 000 entries quickly (one readdir, no stat per file)', async () => {
    const { dir, store } = await setup();
    // Under Wine (the Windows lane) creating 20 000 files alone takes most of a
    // minute: its file system emulation is slow. 4 000 entries still show a
    // listing that does not stat each file within the same bound.
    const orders = underWine ? 2_000 : 10_000;
    const names = Array.from({ length: orders }, (_, i) => `_CFD_MAIL_REQ_${String(i).padStart(5, '0')}.XML`);
    for (let i = 0; i < names.length; i += 500) {
      await Promise.all(names.slice(i, i + 500).flatMap((n) => [put(dir, n, 'x'), put(dir, `${n}.tmp`, 'x')]));
    }
    const started = performance.now();
    const listed = await store.listInbox();
    const elapsed = performance.now() - started;
    expect(listed).toEqual(names);
    expect(elapsed).toBeLessThan(1000);
  });

  it('fails with FS_ACCESS_FAILED naming the folder when it is missing', async () => {
    const { dir } = await setup();
    const store = createOrderStore({ dir: path.join(dir, 'nope'), workDir: path.join(dir, 'w'), hostId: 'h', recycleDir: null });
    const err = await failure(store.listInbox());
    expect(err.code).toBe('FS_ACCESS_FAILED');
    expect(err.message).toContain('ENOENT');
    expect(err.message).toContain(path.join(dir, 'nope'));
  });
});

describe('claim', () => {
  it('moves the order into this host\'s claims folder, where listClaimed and read find it', async () => {
    const { dir, workDir, store } = await setup();
    await claimed(store, dir);
    expect(await present(path.join(dir, ORDER))).toBe(false);
    expect(store.claimPath(ORDER)).toBe(path.join(workDir, 'claims', 'host-a', ORDER));
    expect(await store.listClaimed()).toEqual([ORDER]);
    expect((await store.read(ORDER, 'claimed')).toString()).toBe(XML);
    expect(await store.listInbox()).toEqual([]);
  });

  it('returns false when the order is gone, and exactly one of two machines gets a contested order', async () => {
    const { dir, workDir, store } = await setup();
    expect(await store.claim(ORDER)).toBe(false);
    const other = createOrderStore({ dir, workDir, hostId: 'host-b', recycleDir: null });
    await put(dir, ORDER);
    const results = await Promise.all([store.claim(ORDER), other.claim(ORDER)]);
    expect(results.filter(Boolean)).toHaveLength(1);
    expect([...(await store.listClaimed()), ...(await other.listClaimed())]).toEqual([ORDER]);
  });

  it('throws FS_HELD, naming the errno, and leaves the order in place when the file is held', async () => {
    const { dir, store } = await setup();
    const file = await put(dir, ORDER);
    const release = holdFile(file);
    const err = await failure(store.claim(ORDER));
    expect(err.code).toBe('FS_HELD');
    expect(err.message).toMatch(/^held open by another program/);
    expect(err.message).toMatch(HELD_ERRNO);
    expect(err.message).toContain(file);
    expect(await present(file)).toBe(true);
    expect(await store.listClaimed()).toEqual([]);
    release();
    expect(await store.claim(ORDER)).toBe(true);
  });

  it('never replaces an order of the same name that is still claimed', async () => {
    const { dir, store } = await setup();
    await claimed(store, dir, ORDER, 'first');
    await put(dir, ORDER, 'second');
    const err = await failure(store.claim(ORDER));
    expect(err.code).toBe('FS_MOVE_FAILED');
    expect((await store.read(ORDER, 'claimed')).toString()).toBe('first');
    expect((await store.read(ORDER, 'inbox')).toString()).toBe('second');
  });

  it('refuses a work area on another volume (a claim must be one atomic rename)', async () => {
    const { dir } = await setup();
    const workDir = await fs.mkdtemp('/dev/shm/proscai-w-');
    try {
      expect(statSync(workDir).dev).not.toBe(statSync(dir).dev);
      const store = createOrderStore({ dir, workDir, hostId: 'h', recycleDir: null });
      await put(dir, ORDER);
      const err = await failure(store.claim(ORDER));
      expect(err.code).toBe('FS_MOVE_FAILED');
      expect(err.message).toContain('EXDEV');
      expect(await present(path.join(dir, ORDER))).toBe(true);
    } finally {
      await fs.rm(workDir, { recursive: true, force: true });
    }
  });

  it('rejects names that are not orders (no path tricks)', async () => {
    const { store } = await setup();
    expect((await failure(store.claim('../_CFD_MAIL_REQ_1.XML'))).code).toBe('INTERNAL');
  });
});

describe('read', () => {
  it('reports a vanished claimed order as CLAIM_LOST', async () => {
    const { store } = await setup();
    expect((await failure(store.read(ORDER, 'claimed'))).code).toBe('CLAIM_LOST');
  });
});

describe('retry state', () => {
  it('round-trips through an atomically written sidecar and leaves no temporary file', async () => {
    const { dir, store } = await setup();
    await claimed(store, dir);
    expect(await store.loadState(ORDER)).toBeUndefined();
    await store.saveState(ORDER, STATE);
    await store.saveState(ORDER, { ...STATE, attempts: 3 });
    expect(await store.loadState(ORDER)).toEqual({ ...STATE, attempts: 3 });
    expect((await fs.readdir(path.dirname(store.claimPath(ORDER)))).sort()).toEqual([ORDER, `${ORDER}.state.json`]);
    expect(await store.listClaimed()).toEqual([ORDER]);
  });

  it('ignores (and reports) a corrupt state file instead of blocking the order', async () => {
    const { dir, workDir, store } = await setup();
    await claimed(store, dir);
    // Found by the next mailer process (a crash while writing it, a disk error).
    await fs.writeFile(`${store.claimPath(ORDER)}.state.json`, '{"attempts": 2, "firstSe');
    const warnings: MailerError[] = [];
    const restarted = createOrderStore({ dir, workDir, hostId: 'host-a', recycleDir: null, onWarning: (e) => warnings.push(e) });
    expect(await restarted.loadState(ORDER)).toBeUndefined();
    expect(warnings.map((w) => w.code)).toEqual(['FS_ACCESS_FAILED']);
  });
});

describe('archive folders', () => {
  it('creates enviados/ and errores/ again when they were removed after a first archive', async () => {
    const { dir, store } = await setup();
    await claimed(store, dir);
    await store.archiveSent(ORDER, 'CONSERVAR');
    await claimed(store, dir, '_CFD_MAIL_REQ_2.XML');
    await store.archiveFailed('_CFD_MAIL_REQ_2.XML', 'motivo');
    await fs.rm(path.join(dir, 'enviados'), { recursive: true });
    await fs.rm(path.join(dir, 'errores'), { recursive: true });
    await claimed(store, dir);
    await store.archiveSent(ORDER, 'CONSERVAR');
    await claimed(store, dir, '_CFD_MAIL_REQ_2.XML');
    await store.archiveFailed('_CFD_MAIL_REQ_2.XML', 'motivo');
    expect(await fs.readdir(path.join(dir, 'enviados'))).toEqual([ORDER]);
    expect((await fs.readdir(path.join(dir, 'errores'))).sort()).toEqual(['_CFD_MAIL_REQ_2.XML', '_CFD_MAIL_REQ_2.XML.error.txt']);
  });
});

describe('archiveSent', () => {
  it('CONSERVAR moves to enviados/ without overwriting an earlier order of the same name, and drops the state', async () => {
    const { dir, store } = await setup();
    for (const content of ['one', 'two', 'three']) {
      await claimed(store, dir, ORDER, content);
      await store.saveState(ORDER, STATE);
      await store.archiveSent(ORDER, 'CONSERVAR');
    }
    const sent = path.join(dir, 'enviados');
    expect((await fs.readdir(sent)).sort()).toEqual(['_CFD_MAIL_REQ_0042_20261127093015 (1).XML', '_CFD_MAIL_REQ_0042_20261127093015 (2).XML', ORDER]);
    expect(await fs.readFile(path.join(sent, ORDER), 'utf8')).toBe('one');
    expect(await fs.readFile(path.join(sent, '_CFD_MAIL_REQ_0042_20261127093015 (2).XML'), 'utf8')).toBe('three');
    expect(await fs.readdir(path.dirname(store.claimPath(ORDER)))).toEqual([]);
  });

  it('RECICLAR with a recycle folder on the same volume moves it there', async () => {
    const { dir } = await setup();
    const recycleDir = path.join(dir, 'papelera');
    const { store } = await setup({ dir, workDir: path.join(dir, '.w'), recycleDir });
    await claimed(store, dir);
    await store.archiveSent(ORDER, 'RECICLAR');
    expect(await fs.readFile(path.join(recycleDir, ORDER), 'utf8')).toBe(XML);
    expect(await store.listClaimed()).toEqual([]);
  });

  it('RECICLAR with a recycle folder on another volume copies, syncs and removes (EXDEV fallback)', async () => {
    const recycleDir = await fs.mkdtemp('/dev/shm/proscai-r-');
    try {
      const { dir, store } = await setup({ recycleDir });
      expect(statSync(recycleDir).dev).not.toBe(statSync(dir).dev);
      await claimed(store, dir);
      await store.archiveSent(ORDER, 'RECICLAR');
      expect(await fs.readFile(path.join(recycleDir, ORDER), 'utf8')).toBe(XML);
      expect(await present(store.claimPath(ORDER))).toBe(false);
    } finally {
      await fs.rm(recycleDir, { recursive: true, force: true });
    }
  });

  it('RECICLAR without a recycle folder hands the claimed file to the trash function', async () => {
    const trashed: string[] = [];
    const { dir, store } = await setup({
      trash: async (paths) => {
        for (const p of paths) {
          trashed.push(p);
          await fs.unlink(p);
        }
      },
    });
    await claimed(store, dir);
    await store.archiveSent(ORDER, 'RECICLAR');
    // From enviados/: a file restored from the bin returns there, not to the claims folder (where it would be resumed and sent again).
    expect(trashed).toEqual([path.join(dir, 'enviados', ORDER)]);
    expect(await present(store.claimPath(ORDER))).toBe(false);
    expect(await fs.readdir(path.join(dir, 'enviados'))).toEqual([]);
  });

  it('RECICLAR fails with FS_MOVE_FAILED when the file is still there after the trash call, and the order is claimed again', async () => {
    const { dir, store } = await setup({ trash: async () => undefined });
    await claimed(store, dir);
    await store.saveState(ORDER, STATE);
    const err = await failure(store.archiveSent(ORDER, 'RECICLAR'));
    expect(err.code).toBe('FS_MOVE_FAILED');
    expect(await store.loadState(ORDER)).toEqual(STATE);
    expect(await fs.readFile(store.claimPath(ORDER), 'utf8')).toBe(XML);
    expect(await fs.readdir(path.join(dir, 'enviados'))).toEqual([]);
  });

  it('RECICLAR with a recycle bin that throws: FS_MOVE_FAILED naming the cause, the order back in the claims folder', async () => {
    const { dir, store } = await setup({
      trash: async () => {
        throw new Error('no trash can on this volume');
      },
    });
    await claimed(store, dir);
    const err = await failure(store.archiveSent(ORDER, 'RECICLAR'));
    expect(err.code).toBe('FS_MOVE_FAILED');
    expect(err.message).toContain('no trash can on this volume');
    expect(await fs.readFile(store.claimPath(ORDER), 'utf8')).toBe(XML);
    expect(await fs.readdir(path.join(dir, 'enviados'))).toEqual([]);
  });

  it('RECICLAR uses the real system recycle bin by default (Linux: the XDG trash; Windows: the recycle bin, which Wine lacks)', async () => {
    const dataHome = await makeTmpDir();
    process.env.XDG_DATA_HOME = dataHome;
    const { dir, store } = await setup();
    await claimed(store, dir);
    await store.saveState(ORDER, { ...STATE, sentAt: 1_700_000_100_000 });
    if (systemRecycleBin === 'none') {
      // The bin's helper cannot run: the order is back in the claims folder, its state (sent) kept, and the error says what to do.
      const err = await failure(store.archiveSent(ORDER, 'RECICLAR'));
      expect(err.code).toBe('FS_MOVE_FAILED');
      expect(err.message).toContain('windows-trash.exe');
      expect(err.message).toMatch(/\(exit status 0x[0-9A-F]{8}\)/);
      expect(err.message).toContain('set recycleDir');
      expect(await fs.readFile(store.claimPath(ORDER), 'utf8')).toBe(XML);
      expect((await store.loadState(ORDER))?.sentAt).toBe(1_700_000_100_000);
      expect(await fs.readdir(path.join(dir, 'enviados'))).toEqual([]);
      return;
    }
    await store.archiveSent(ORDER, 'RECICLAR');
    expect(await present(store.claimPath(ORDER))).toBe(false);
    expect(await fs.readdir(path.dirname(store.claimPath(ORDER)))).toEqual([]); // its state went with it
    expect(await fs.readdir(path.join(dir, 'enviados'))).toEqual([]);
    if (systemRecycleBin === 'xdg') {
      const files = await fs.readdir(path.join(dataHome, 'Trash', 'files'));
      expect(files).toHaveLength(1);
      expect(await fs.readFile(path.join(dataHome, 'Trash', 'files', files[0]), 'utf8')).toBe(XML);
      const [info] = await fs.readdir(path.join(dataHome, 'Trash', 'info'));
      const recorded = decodeURIComponent(await fs.readFile(path.join(dataHome, 'Trash', 'info', info!), 'utf8'));
      expect(recorded).toContain(`Path=${path.join(dir, 'enviados', ORDER)}`);
    }
  });

  it('ELIMINAR deletes the order and its state', async () => {
    const { dir, store } = await setup();
    await claimed(store, dir);
    await store.saveState(ORDER, STATE);
    await store.archiveSent(ORDER, 'ELIMINAR');
    expect(await fs.readdir(path.dirname(store.claimPath(ORDER)))).toEqual([]);
  });

  it('reports an order that left the claims folder meanwhile as CLAIM_LOST, for every outcome', async () => {
    const { store } = await setup({ trash: async () => undefined });
    for (const how of ['CONSERVAR', 'RECICLAR', 'ELIMINAR'] as const) {
      expect((await failure(store.archiveSent(ORDER, how))).code).toBe('CLAIM_LOST');
    }
  });

  it('keeps the order and its state in the claims folder when it cannot be moved or deleted', async () => {
    const { dir, store } = await setup();
    await claimed(store, dir);
    await store.saveState(ORDER, STATE);
    const release = holdFile(store.claimPath(ORDER));
    for (const how of ['CONSERVAR', 'ELIMINAR'] as const) {
      const err = await failure(store.archiveSent(ORDER, how));
      expect(err.code).toBe('FS_MOVE_FAILED');
      expect(err.message).toMatch(HELD_ERRNO);
    }
    release();
    expect(await store.listClaimed()).toEqual([ORDER]);
    expect(await store.loadState(ORDER)).toEqual(STATE);
    expect(await fs.readdir(path.join(dir, 'enviados'))).toEqual([]);
  });

  it('fails with FS_MOVE_FAILED when enviados/ cannot be created (a file is in the way)', async () => {
    const { dir, store } = await setup();
    await fs.writeFile(path.join(dir, 'enviados'), 'not a folder');
    await claimed(store, dir);
    const err = await failure(store.archiveSent(ORDER, 'CONSERVAR'));
    expect(err.code).toBe('FS_MOVE_FAILED');
    expect(err.message).toContain('EEXIST');
    expect(await store.listClaimed()).toEqual([ORDER]);
  });
});

describe('archiveFailed', () => {
  it('writes the note (UTF-8 with BOM, CRLF) and moves the order to errores/, numbering repeats', async () => {
    const { dir, store } = await setup();
    const note = 'La orden no tiene destinatario.\nCampo «Para»: vacío (sin destinatario).\n';
    for (const content of ['one', 'two']) {
      await claimed(store, dir, ORDER, content);
      await store.saveState(ORDER, STATE);
      await store.archiveFailed(ORDER, note);
    }
    const failed = path.join(dir, 'errores');
    const second = '_CFD_MAIL_REQ_0042_20261127093015 (1).XML';
    expect((await fs.readdir(failed)).sort()).toEqual([second, `${second}.error.txt`, ORDER, `${ORDER}.error.txt`]);
    const bytes = await fs.readFile(path.join(failed, `${ORDER}.error.txt`));
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(bytes.subarray(3).toString('utf8')).toBe('La orden no tiene destinatario.\r\nCampo «Para»: vacío (sin destinatario).\r\n');
    expect(await fs.readFile(path.join(failed, second), 'utf8')).toBe('two');
    expect(await store.listClaimed()).toEqual([]);
    expect(await fs.readdir(path.dirname(store.claimPath(ORDER)))).toEqual([]);
  });

  it('leaves order and state in the claims folder, and no note, when the move fails', async () => {
    const { dir, store } = await setup();
    await claimed(store, dir);
    await store.saveState(ORDER, STATE);
    holdFile(store.claimPath(ORDER));
    const err = await failure(store.archiveFailed(ORDER, 'x'));
    expect(err.code).toBe('FS_MOVE_FAILED');
    expect(await fs.readdir(path.join(dir, 'errores'))).toEqual([]);
    expect(await store.listClaimed()).toEqual([ORDER]);
    expect(await store.loadState(ORDER)).toEqual(STATE);
  });

  it('encodes CRLF notes unchanged', () => {
    expect(encodeNote('a\r\nb\nc').toString('utf8')).toBe('\uFEFFa\r\nb\r\nc');
  });
});

describe('releaseClaim, listFailed, requeueFailed', () => {
  it('gives a claimed order back with its state, which the next claim adopts', async () => {
    const { dir, workDir, store } = await setup();
    await claimed(store, dir);
    await store.saveState(ORDER, STATE);
    await store.releaseClaim(ORDER);
    expect(await store.listInbox()).toEqual([ORDER]);
    expect(await store.listClaimed()).toEqual([]);
    const other = createOrderStore({ dir, workDir, hostId: 'host-b', recycleDir: null });
    expect(await other.claim(ORDER)).toBe(true);
    expect(await other.loadState(ORDER)).toEqual(STATE);
  });

  it('can drop the state (a fresh start for `retry`), and a later claim finds none', async () => {
    const { dir, store } = await setup();
    await claimed(store, dir);
    await store.saveState(ORDER, STATE);
    await store.releaseClaim(ORDER, { keepState: false });
    expect(await store.claim(ORDER)).toBe(true);
    expect(await store.loadState(ORDER)).toBeUndefined();
  });

  it('clears a leftover state of an older order of the same name on claim', async () => {
    const { dir, store } = await setup();
    await claimed(store, dir);
    await store.archiveSent(ORDER, 'CONSERVAR');
    await fs.writeFile(`${store.claimPath(ORDER)}.state.json`, JSON.stringify(STATE)); // as if its removal had failed
    await claimed(store, dir);
    expect(await store.loadState(ORDER)).toBeUndefined();
  });

  it('never replaces an order of the same name waiting in the order folder', async () => {
    const { dir, store } = await setup();
    await claimed(store, dir, ORDER, 'claimed');
    await put(dir, ORDER, 'new');
    expect((await failure(store.releaseClaim(ORDER))).code).toBe('FS_MOVE_FAILED');
    expect((await store.read(ORDER, 'claimed')).toString()).toBe('claimed');
    expect((await store.read(ORDER, 'inbox')).toString()).toBe('new');
  });

  it('lists failed orders and requeues one under its original name, deleting its note', async () => {
    const { dir, store } = await setup();
    expect(await store.listFailed()).toEqual([]);
    for (const content of ['one', 'two']) {
      await claimed(store, dir, ORDER, content);
      await store.archiveFailed(ORDER, 'why');
    }
    const second = '_CFD_MAIL_REQ_0042_20261127093015 (1).XML';
    expect(await store.listFailed()).toEqual([second, ORDER]);
    expect(await store.requeueFailed(second)).toBe(ORDER);
    expect((await store.read(ORDER, 'inbox')).toString()).toBe('two');
    expect((await fs.readdir(path.join(dir, 'errores'))).sort()).toEqual([ORDER, `${ORDER}.error.txt`]);
    expect((await failure(store.requeueFailed(ORDER))).code).toBe('FS_MOVE_FAILED'); // its name is taken in the order folder
    expect(await store.listFailed()).toEqual([ORDER]);
  });
});

describe('host id', () => {
  it('is sanitised into a safe folder name', async () => {
    const { store } = await setup({ hostId: 'PC de Ventas:1\\..' });
    expect(store.hostId).toBe('PC_de_Ventas_1_..');
  });
});
