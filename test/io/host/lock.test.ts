import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { MailerError } from '../../../src/errors.js';
import { acquireInstanceLock, isProcessAlive, readMailerProcess, untilFolderExists, type AcquireResult, type InstanceLock } from '../../../src/io/host/lock.js';
import { expectStopped, stopsCleanly } from '../../helpers/cli.js';
import { makeTmpDir, removeTmpDirs } from '../../helpers/tmp.js';

const CHILD = fileURLToPath(new URL('../../helpers/lock-child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const children: ChildProcess[] = [];
const locks: InstanceLock[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const lock of locks.splice(0)) await lock.release().catch(() => undefined);
  await removeTmpDirs();
});

interface ChildLine {
  locked?: number;
  running?: { pid: number; host: string; since: string };
}

/** Starts a mailer-like process that takes the lock; resolves with its first output line. */
function startChild(workDir: string, hostId: string, ...more: string[]): { child: ChildProcess; line: Promise<ChildLine> } {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, workDir, hostId, ...more], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const line = new Promise<ChildLine>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)) as ChildLine);
    });
    child.on('exit', (code) => reject(new Error(`child exited ${code} before reporting: ${err}`)));
  });
  return { child, line };
}

function killed(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

function held(result: AcquireResult): InstanceLock {
  if ('running' in result) throw new Error(`expected the lock, got running ${JSON.stringify(result.running)}`);
  locks.push(result);
  return result;
}

describe('acquireInstanceLock', () => {
  it('takes the lock, records its owner, tells a second taker at once who runs, and releases', async () => {
    const workDir = await makeTmpDir();
    const lock = held(await acquireInstanceLock({ workDir, hostId: 'pc1' }));
    const owner = JSON.parse(await fs.readFile(path.join(workDir, 'instance-pc1.owner.json'), 'utf8'));
    expect(owner).toMatchObject({ pid: process.pid, host: 'pc1' });
    expect(Date.parse(owner.since)).toBeGreaterThan(Date.now() - 10_000);

    const second = await acquireInstanceLock({ workDir, hostId: 'pc1' });
    expect(second).toEqual({ running: owner });

    await lock.release();
    await lock.release(); // idempotent
    expect(await fs.readdir(workDir)).toEqual([]);
    held(await acquireInstanceLock({ workDir, hostId: 'pc1' }));
  });

  it('is per machine: another host id on the same work area gets its own lock', async () => {
    const workDir = await makeTmpDir();
    held(await acquireInstanceLock({ workDir, hostId: 'pc1' }));
    held(await acquireInstanceLock({ workDir, hostId: 'pc2' }));
  });

  it('reports a live process holding the lock, without waiting', async () => {
    const workDir = await makeTmpDir();
    const { child, line } = startChild(workDir, 'pc1');
    expect(await line).toEqual({ locked: child.pid });
    const started = performance.now();
    const result = await acquireInstanceLock({ workDir, hostId: 'pc1' });
    expect(performance.now() - started).toBeLessThan(1000);
    expect(result).toMatchObject({ running: { pid: child.pid, host: 'pc1' } });
  });

  it('takes over at once the lock of a process killed with SIGKILL (well before the stale time)', async () => {
    const workDir = await makeTmpDir();
    const { child, line } = startChild(workDir, 'pc1');
    expect(await line).toEqual({ locked: child.pid });
    await killed(child);
    expect(await fs.readdir(workDir)).toContain('instance-pc1.lock'); // left behind: SIGKILL runs no exit handler
    expect(isProcessAlive(child.pid!)).toBe(false);

    const started = performance.now();
    const lock = held(await acquireInstanceLock({ workDir, hostId: 'pc1' }));
    expect(performance.now() - started).toBeLessThan(1000);
    const owner = JSON.parse(await fs.readFile(path.join(workDir, 'instance-pc1.owner.json'), 'utf8'));
    expect(owner.pid).toBe(process.pid);
    await lock.release();
  });

  it('lets exactly one of two mailers started together after a crash take the lock', async () => {
    const workDir = await makeTmpDir();
    const first = startChild(workDir, 'pc1');
    await first.line;
    await killed(first.child);
    const a = startChild(workDir, 'pc1');
    const b = startChild(workDir, 'pc1');
    const lines = await Promise.all([a.line, b.line]);
    const winners = lines.filter((l) => l.locked !== undefined);
    const losers = lines.filter((l) => l.running !== undefined);
    expect(winners).toHaveLength(1);
    expect(losers).toHaveLength(1);
    expect(losers[0].running!.pid).toBe(winners[0].locked);
  });

  it('a holder stopped as a service is stopped: on POSIX (SIGTERM) it leaves nothing behind; on Windows (terminated) the next start takes its lock at once', async () => {
    const workDir = await makeTmpDir();
    const { child, line } = startChild(workDir, 'pc1');
    await line;
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    child.kill('SIGTERM');
    expectStopped(await exited);
    if (stopsCleanly) {
      expect(await fs.readdir(workDir)).toEqual([]);
    } else {
      // Task Scheduler's End runs no handler: the lock stays, with the dead holder as its owner.
      expect(await fs.readdir(workDir)).toContain('instance-pc1.lock');
      expect(isProcessAlive(child.pid!)).toBe(false);
    }
    const started = performance.now();
    const lock = held(await acquireInstanceLock({ workDir, hostId: 'pc1' }));
    expect(performance.now() - started).toBeLessThan(1000);
    await lock.release();
    expect(await fs.readdir(workDir)).toEqual([]);
  });

  it('treats a fresh lock without owner file as running (owner unknown), never stealing it', async () => {
    const workDir = await makeTmpDir();
    await fs.mkdir(path.join(workDir, 'instance-pc1.lock'));
    const result = await acquireInstanceLock({ workDir, hostId: 'pc1' });
    expect(result).toMatchObject({ running: { pid: 0, host: 'pc1' } });
  });

  it('reports a lost lock through onCompromised instead of crashing, even if the callback throws', async () => {
    const workDir = await makeTmpDir();
    const seen: MailerError[] = [];
    held(
      await acquireInstanceLock({
        workDir,
        hostId: 'pc1',
        staleMs: 2000,
        updateMs: 1000,
        onCompromised: (err) => {
          seen.push(err);
          throw new Error('callback bug');
        },
      }),
    );
    await fs.rm(path.join(workDir, 'instance-pc1.lock'), { recursive: true });
    const deadline = Date.now() + 5000;
    while (seen.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(seen).toHaveLength(1);
    expect(seen[0]).toBeInstanceOf(MailerError);
    expect(seen[0].code).toBe('INSTANCE_LOCK_LOST');
    expect(seen[0].message).toContain('instance lock lost');
  });

  it('notices within about a second that its folder was removed (onLost, once), and then removes nothing: the next holder keeps its lock', async () => {
    const root = await makeTmpDir();
    const workDir = path.join(root, 'envio', '.proscai-mailer');
    const first = held(await acquireInstanceLock({ workDir, hostId: 'pc1' }));
    const lost: MailerError[] = [];
    first.onLost((err) => lost.push(err));
    const removedAt = Date.now();
    await fs.rm(path.join(root, 'envio'), { recursive: true });
    while (lost.length === 0 && Date.now() - removedAt < 5000) await new Promise((r) => setTimeout(r, 50));
    const noticedMs = Date.now() - removedAt;
    expect(lost).toHaveLength(1);
    expect(noticedMs).toBeLessThan(2500);
    expect(lost[0].code).toBe('INSTANCE_LOCK_LOST');
    expect(lost[0].message).toContain('its folder is gone');
    // A listener added after the loss hears of it at once; none hears twice.
    const late: MailerError[] = [];
    first.onLost((err) => late.push(err));
    expect(late).toEqual(lost);

    const next = held(await acquireInstanceLock({ workDir, hostId: 'pc1' }));
    const nextOwner = await fs.readFile(path.join(workDir, 'instance-pc1.owner.json'), 'utf8');
    await first.release();
    expect(await fs.readdir(workDir)).toEqual(expect.arrayContaining(['instance-pc1.lock', 'instance-pc1.owner.json']));
    expect(await fs.readFile(path.join(workDir, 'instance-pc1.owner.json'), 'utf8')).toBe(nextOwner);
    await next.release();
    expect(await fs.readdir(workDir)).toEqual([]);
  });

  it('takes back the lock it lost when its folder was moved away and back with the lock inside; while it holds one, its own process is running', async () => {
    const root = await makeTmpDir();
    const [dir, moved] = [path.join(root, 'envio'), path.join(root, 'envio-movida')];
    const workDir = path.join(dir, '.proscai-mailer');
    const first = held(await acquireInstanceLock({ workDir, hostId: 'pc1' }));
    const lost: MailerError[] = [];
    first.onLost((err) => lost.push(err));
    await fs.rename(dir, moved);
    const deadline = Date.now() + 5000;
    while (lost.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(lost).toHaveLength(1);
    await fs.rename(moved, dir);
    // The owner file still names this live process: without knowing it lost that lock, it would read as a second mailer.
    expect(JSON.parse(await fs.readFile(path.join(workDir, 'instance-pc1.owner.json'), 'utf8')).pid).toBe(process.pid);
    const again = held(await acquireInstanceLock({ workDir, hostId: 'pc1' }));
    expect(await acquireInstanceLock({ workDir, hostId: 'pc1' })).toEqual({ running: expect.objectContaining({ pid: process.pid }) });
    await first.release();
    expect(await acquireInstanceLock({ workDir, hostId: 'pc1' })).toEqual({ running: expect.objectContaining({ pid: process.pid }) });
    await again.release();
    expect(await fs.readdir(workDir)).toEqual([]);
  });

  it('tells a lock replaced by another holder (a restored folder, another mailer) from a removed one', async () => {
    const workDir = await makeTmpDir();
    const lock = held(await acquireInstanceLock({ workDir, hostId: 'pc1' }));
    const lost: MailerError[] = [];
    lock.onLost((err) => lost.push(err));
    const old = new Date(Date.now() - 3_600_000);
    await fs.utimes(path.join(workDir, 'instance-pc1.lock'), old, old);
    const deadline = Date.now() + 5000;
    while (lost.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(lost.map((e) => e.message)).toEqual([expect.stringContaining('it was replaced')]);
  });

  it('tells its lock from another holder\'s taken in the same second (same folder time): it reports the loss and never touches the other\'s lock', async () => {
    const workDir = await makeTmpDir();
    const lock = held(await acquireInstanceLock({ workDir, hostId: 'pc1' }));
    const lost: MailerError[] = [];
    lock.onLost((err) => lost.push(err));
    const lockDir = path.join(workDir, 'instance-pc1.lock');
    // Another mailer's lock, as proper-lockfile makes it within the same second: the same folder time as ours.
    const mtime = (await fs.stat(lockDir)).mtime;
    await fs.rm(lockDir, { recursive: true });
    await fs.mkdir(lockDir);
    await fs.utimes(lockDir, mtime, mtime);
    const other = JSON.stringify({ pid: 999_999, host: 'pc1', since: new Date().toISOString() });
    await fs.writeFile(path.join(workDir, 'instance-pc1.owner.json'), other);
    const deadline = Date.now() + 5000;
    while (lost.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(lost.map((e) => e.message)).toEqual([expect.stringMatching(/it was replaced \(its owner file names pid 999999 on pc1/)]);
    expect((await fs.stat(lockDir)).mtime.getTime()).toBe(mtime.getTime());
    await lock.release();
    expect(await fs.readFile(path.join(workDir, 'instance-pc1.owner.json'), 'utf8')).toBe(other);
    expect(await fs.readdir(workDir)).toContain('instance-pc1.lock');
  });

  it('a holder whose lock was taken over before it noticed leaves the new holder\'s lock alone when it releases', async () => {
    const workDir = await makeTmpDir();
    // Refreshed every 10 s: the takeover below stays unnoticed while it releases.
    const first = held(await acquireInstanceLock({ workDir, hostId: 'pc1', staleMs: 20_000, updateMs: 10_000 }));
    await fs.rm(workDir, { recursive: true });
    const next = startChild(workDir, 'pc1');
    expect(await next.line).toEqual({ locked: next.child.pid });
    await first.release();
    expect(JSON.parse(await fs.readFile(path.join(workDir, 'instance-pc1.owner.json'), 'utf8'))).toMatchObject({ pid: next.child.pid });
    expect(await fs.readdir(workDir)).toContain('instance-pc1.lock');
    expect(await acquireInstanceLock({ workDir, hostId: 'pc1' })).toMatchObject({ running: { pid: next.child.pid } });
  });

  it('… nor when it exits without releasing (POSIX: a signal runs the lock library\'s exit handler; Windows terminates the process, which runs nothing)', async () => {
    const workDir = await makeTmpDir();
    const { child, line } = startChild(workDir, 'pc1', '10000');
    expect(await line).toEqual({ locked: child.pid });
    // The folder is removed and another mailer (this test) takes the lock before the child's next check.
    await fs.rm(workDir, { recursive: true });
    const next = held(await acquireInstanceLock({ workDir, hostId: 'pc1' }));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGINT'); // not handled by the child: on POSIX its lock library's exit handler runs
    await exited;
    expect(await fs.readdir(workDir)).toEqual(expect.arrayContaining(['instance-pc1.lock', 'instance-pc1.owner.json']));
    expect(JSON.parse(await fs.readFile(path.join(workDir, 'instance-pc1.owner.json'), 'utf8'))).toMatchObject({ pid: process.pid });
    await next.release();
  });

  it('fails with FS_ACCESS_FAILED when the work area cannot be created', async () => {
    const dir = await makeTmpDir();
    await fs.writeFile(path.join(dir, 'file'), '');
    const err = await acquireInstanceLock({ workDir: path.join(dir, 'file', 'work'), hostId: 'pc1' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MailerError);
    expect((err as MailerError).code).toBe('FS_ACCESS_FAILED');
  });
});

describe('untilFolderExists', () => {
  it('resolves at once for a folder, when a missing one appears, and false when stopped first; it never creates the folder', async () => {
    const root = await makeTmpDir();
    const never = new Promise<void>(() => undefined);
    expect(await untilFolderExists(root, { stopped: never })).toBe(true);
    const dir = path.join(root, 'envio');
    let waited = 0;
    const back = untilFolderExists(dir, { stopped: never, everyMs: 50, onWait: () => (waited += 1) });
    await new Promise((r) => setTimeout(r, 300));
    expect(await fs.readdir(root)).toEqual([]);
    await fs.mkdir(dir);
    expect(await back).toBe(true);
    expect(waited).toBe(1);
    let stop!: () => void;
    const stopped = new Promise<void>((resolve) => (stop = resolve));
    const gone = untilFolderExists(path.join(root, 'otra'), { stopped, everyMs: 50 });
    stop();
    expect(await gone).toBe(false);
    expect(await fs.readdir(root)).toEqual(['envio']);
  });
});

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
    await fs.mkdir(path.join(workDir, 'instance-hostA.lock'));
    const owner = { pid: await deadPid(), host: 'hostA', since: new Date().toISOString() };
    await fs.writeFile(path.join(workDir, 'instance-hostA.owner.json'), JSON.stringify(owner));
    expect(await readMailerProcess(workDir, 'hostA')).toEqual({ running: false, owner });
  });
});
