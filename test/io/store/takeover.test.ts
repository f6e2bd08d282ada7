import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { MailerError } from '../../../src/errors.js';
import { createOrderStore } from '../../../src/io/store/store.js';
import type { PersistedOrderState } from '../../../src/ports.js';
import { makeTmpDir, removeTmpDirs } from '../../helpers/tmp.js';

afterEach(removeTmpDirs);

const A = '_CFD_MAIL_REQ_A.XML';
const B = '_CFD_MAIL_REQ_B.XML';
const STATE: PersistedOrderState = { attempts: 3, firstSeenAt: 1_700_000_000_000, nextTryAt: 1_700_000_600_000 };

/** Two machines on one order folder; `dead` claimed A and B, saved A's state, and beat once. */
async function setup() {
  const dir = await makeTmpDir();
  const workDir = path.join(dir, '.proscai-mailer');
  const warnings: MailerError[] = [];
  const alive = createOrderStore({ dir, workDir, hostId: 'alive', recycleDir: null, onWarning: (e) => warnings.push(e) });
  const dead = createOrderStore({ dir, workDir, hostId: 'dead', recycleDir: null });
  for (const name of [A, B]) {
    await fs.writeFile(path.join(dir, name), name);
    expect(await dead.claim(name)).toBe(true);
  }
  await dead.saveState(A, STATE);
  await dead.heartbeat();
  const heartbeatFile = path.join(workDir, 'claims', 'dead', '.heartbeat');
  const age = async (ms: number) => {
    const t = new Date(Date.now() - ms);
    await fs.utimes(heartbeatFile, t, t);
  };
  return { dir, workDir, alive, dead, warnings, age };
}

describe('takeOverStaleClaims', () => {
  it('leaves alone the claims of a machine whose heartbeat is fresh', async () => {
    const { alive, dead } = await setup();
    expect(await alive.takeOverStaleClaims(60_000)).toEqual([]);
    expect(await dead.listClaimed()).toEqual([A, B]);
  });

  it('gives the orders of a silent machine back to the order folder, with their retry state', async () => {
    const { alive, dead, age } = await setup();
    await age(120_000);
    expect((await alive.takeOverStaleClaims(60_000)).sort()).toEqual([A, B]);
    expect(await alive.listInbox()).toEqual([A, B]);
    expect(await dead.listClaimed()).toEqual([]);
    expect(await alive.claim(A)).toBe(true);
    expect(await alive.loadState(A)).toEqual(STATE);
    expect(await alive.claim(B)).toBe(true);
    expect(await alive.loadState(B)).toBeUndefined();
    // The machine that was presumed dead finds out when it tries to archive.
    expect(await dead.archiveSent(A, 'CONSERVAR').catch((e: MailerError) => e.code)).toBe('CLAIM_LOST');
  });

  it('never overwrites a new order of the same name waiting in the order folder (it stays put, reported)', async () => {
    const { dir, alive, dead, warnings, age } = await setup();
    await fs.writeFile(path.join(dir, A), 'new order, same name');
    await age(120_000);
    expect(await alive.takeOverStaleClaims(60_000)).toEqual([B]);
    expect(await fs.readFile(path.join(dir, A), 'utf8')).toBe('new order, same name');
    expect(await dead.listClaimed()).toEqual([A]);
    expect(warnings.map((w) => w.code)).toEqual(['FS_MOVE_FAILED']);
  });

  it('uses the claims folder\'s time for a machine that never wrote a heartbeat, and never takes its own claims', async () => {
    const { dir, workDir, alive } = await setup();
    const ghost = createOrderStore({ dir, workDir, hostId: 'ghost', recycleDir: null });
    await fs.writeFile(path.join(dir, '_CFD_MAIL_REQ_G.XML'), 'g');
    await ghost.claim('_CFD_MAIL_REQ_G.XML');
    await fs.writeFile(path.join(dir, '_CFD_MAIL_REQ_OWN.XML'), 'own');
    await alive.claim('_CFD_MAIL_REQ_OWN.XML');
    const old = new Date(Date.now() - 120_000);
    await fs.utimes(path.join(workDir, 'claims', 'ghost'), old, old);
    await fs.utimes(path.join(workDir, 'claims', 'alive'), old, old);
    expect(await alive.takeOverStaleClaims(60_000)).toEqual(['_CFD_MAIL_REQ_G.XML']);
    expect(await alive.listClaimed()).toEqual(['_CFD_MAIL_REQ_OWN.XML']);
  });

  it('does nothing when no machine has claimed anything yet', async () => {
    const dir = await makeTmpDir();
    const store = createOrderStore({ dir, workDir: path.join(dir, 'w'), hostId: 'solo', recycleDir: null });
    expect(await store.takeOverStaleClaims(1)).toEqual([]);
  });
});
