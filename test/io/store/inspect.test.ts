import { spawn } from 'node:child_process';
import { mkdir, readFile, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { appendLogEntry, failedTimes, readMailerProcess } from '../../../src/io/store/inspect.js';
import { acquireInstanceLock } from '../../../src/io/host/lock.js';
import { makeTmpDir, removeTmpDirs } from '../../helpers/tmp.js';

afterEach(removeTmpDirs);

/** A pid that certainly belonged to a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((r) => child.on('exit', r));
  return child.pid!;
}

describe('readMailerProcess', () => {
  it('is running while this process holds the lock, not after it is released', async () => {
    const workDir = await makeTmpDir('proscai-inspect-');
    expect(await readMailerProcess(workDir, 'hostA')).toEqual({ running: false });
    const lock = await acquireInstanceLock({ workDir, hostId: 'hostA' });
    expect('running' in lock).toBe(false);
    const seen = await readMailerProcess(workDir, 'hostA');
    expect(seen.running).toBe(true);
    expect(seen.owner?.pid).toBe(process.pid);
    expect((await readMailerProcess(workDir, 'hostB')).running).toBe(false);
    if (!('running' in lock)) await lock.release();
    expect((await readMailerProcess(workDir, 'hostA')).running).toBe(false);
  });

  it('is not running when a crashed mailer left its lock and owner file behind', async () => {
    const workDir = await makeTmpDir('proscai-inspect-');
    await mkdir(path.join(workDir, 'instance-hostA.lock'));
    const owner = { pid: await deadPid(), host: 'hostA', since: new Date().toISOString() };
    await writeFile(path.join(workDir, 'instance-hostA.owner.json'), JSON.stringify(owner));
    expect(await readMailerProcess(workDir, 'hostA')).toEqual({ running: false, owner });
  });
});

describe('failedTimes and appendLogEntry', () => {
  it('dates a failed order by its note, not by the order file the ERP wrote long ago', async () => {
    const dir = await makeTmpDir('proscai-inspect-');
    await mkdir(path.join(dir, 'errores'));
    const order = path.join(dir, 'errores', '_CFD_MAIL_REQ_1.XML');
    await writeFile(order, 'x');
    await writeFile(`${order}.error.txt`, 'why');
    const old = new Date('2020-01-01T00:00:00Z');
    const failed = new Date('2026-01-01T00:00:00Z');
    await utimes(order, old, old);
    await utimes(`${order}.error.txt`, failed, failed);
    expect(await failedTimes(dir, ['_CFD_MAIL_REQ_1.XML', '_CFD_MAIL_REQ_GONE.XML'])).toEqual([{ fileName: '_CFD_MAIL_REQ_1.XML', failedAt: failed }]);
  });

  it('appends one pino-shaped JSON line, creating the folder', async () => {
    const dir = await makeTmpDir('proscai-inspect-');
    const file = path.join(dir, 'logs', 'mailer.log');
    expect(await appendLogEntry(file, { event: 'order.retry_requested', orderId: '7' }, 'again')).toBeUndefined();
    expect(await appendLogEntry(file, { event: 'x' }, 'two')).toBeUndefined();
    const lines = (await readFile(file, 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ level: 30, pid: process.pid, hostname: os.hostname(), event: 'order.retry_requested', orderId: '7', msg: 'again' });
    expect(Number.isNaN(Date.parse(String(lines[0]!.time)))).toBe(false);
  });
});
