/**
 * The health file (io/host/health.ts) that `status` reads: written on change only,
 * one write at a time, bounded, kept across restarts for SMTP errors, written
 * beside the log when the work area refuses it, and `status`'s own probes.
 */
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MAX_COMPANIES, createHealthRecorder, healthPaths, probeAsStatus, readHealth, type Health } from '../../../src/io/host/health.js';
import { makeTmpDir, removeTmpDirs } from '../../helpers/tmp.js';

afterAll(removeTmpDirs);

const auth = { code: 'SMTP_AUTH', message: 'login refused', smtp: { responseCode: 535, response: '535 5.7.8 Authentication credentials invalid' } };

async function read(file: string): Promise<Health> {
  return JSON.parse(await readFile(file, 'utf8')) as Health;
}

describe('health file', () => {
  it('records each company\'s last SMTP failure until its next success; other failures (the order\'s own data) are not recorded', async () => {
    const workDir = await makeTmpDir('proscai-health-');
    const [file] = healthPaths({ workDir, hostId: 'pc1' });
    expect(file).toBe(path.join(workDir, 'health-pc1.json'));
    const health = createHealthRecorder({ paths: [file!], host: 'pc1' });
    health.smtpFailed('ALFA', auth, '0042');
    health.smtpFailed('BETA', { code: 'ATTACHMENT_MISSING', message: 'no file' });
    await health.flush();
    expect((await read(file!)).smtp).toEqual({
      ALFA: expect.objectContaining({ code: 'SMTP_AUTH', smtpCode: 535, smtpResponse: '535 5.7.8 Authentication credentials invalid', orderId: '0042' }),
    });
    health.smtpWorks('ALFA');
    await health.flush();
    expect((await read(file!)).smtp).toEqual({});
  });

  it('is written on change only: the same error again does not rewrite it within a minute', async () => {
    const workDir = await makeTmpDir('proscai-health-');
    const file = path.join(workDir, 'health.json');
    let now = new Date('2026-12-03T09:00:00Z');
    const health = createHealthRecorder({ paths: [file], host: 'pc1', now: () => now });
    health.smtpFailed('ALFA', auth);
    await health.flush();
    const first = await read(file);
    now = new Date('2026-12-03T09:00:30Z');
    for (let i = 0; i < 50; i++) health.smtpFailed('ALFA', auth);
    await health.flush();
    expect(await read(file)).toEqual(first);
    now = new Date('2026-12-03T09:01:30Z');
    health.smtpFailed('ALFA', auth);
    await health.flush();
    const later = await read(file);
    expect(later.smtp.ALFA).toMatchObject({ since: '2026-12-03T09:00:00.000Z', at: '2026-12-03T09:01:30.000Z' });
  });

  it('keeps at most MAX_COMPANIES companies and counts the others', async () => {
    const file = path.join(await makeTmpDir('proscai-health-'), 'health.json');
    const health = createHealthRecorder({ paths: [file], host: 'pc1' });
    for (let i = 0; i <= MAX_COMPANIES; i++) health.smtpFailed(`C${i}`, auth);
    await health.flush();
    const written = await read(file);
    expect(Object.keys(written.smtp)).toHaveLength(MAX_COMPANIES);
    expect(written.smtpOmitted).toBe(1);
  });

  it('a new process keeps the SMTP errors of the last one and drops its log problem (it opens the log anew)', async () => {
    const file = path.join(await makeTmpDir('proscai-health-'), 'health.json');
    const old = createHealthRecorder({ paths: [file], host: 'pc1' });
    old.smtpFailed('ALFA', auth);
    old.logFailing('/var/log/mailer.log', new Error('ENOSPC: no space left on device'));
    await old.flush();
    expect((await read(file)).log).toBeDefined();
    const next = createHealthRecorder({ paths: [file], host: 'pc1' });
    await next.flush();
    const written = await read(file);
    expect(written.log).toBeUndefined();
    expect(Object.keys(written.smtp)).toEqual(['ALFA']);
  });

  it('goes beside the log when the work area refuses it, is told once, and `readHealth` takes the newest', async () => {
    const root = await makeTmpDir('proscai-health-');
    const workDir = path.join(root, 'work');
    await writeFile(workDir, 'a file where the work area should be');
    const logDir = path.join(root, 'logs');
    await mkdir(logDir);
    const paths = healthPaths({ workDir, logDir, hostId: 'pc1' });
    expect(paths).toEqual([path.join(workDir, 'health-pc1.json'), path.join(logDir, 'health-pc1.json')]);
    const told: Error[] = [];
    const health = createHealthRecorder({ paths, host: 'pc1', onWriteError: (e) => told.push(e) });
    health.claimsFailing(workDir, new Error('ENOTDIR: it is a file, not a folder'));
    await health.flush();
    expect(told).toEqual([]);
    expect((await readHealth(paths))?.claims).toMatchObject({ dir: workDir });

    const nowhere = createHealthRecorder({ paths: [path.join(workDir, 'h.json')], host: 'pc1', onWriteError: (e) => told.push(e) });
    nowhere.smtpFailed('A', auth);
    await nowhere.flush();
    nowhere.smtpFailed('B', auth);
    await nowhere.flush();
    expect(told).toHaveLength(1);
  });

  it('a log inside the work area (the default) has no second place', () => {
    expect(healthPaths({ workDir: '/srv/orders/.proscai-mailer', logDir: '/srv/orders/.proscai-mailer/logs', hostId: 'pc1' })).toHaveLength(1);
  });
});

describe('status probes', () => {
  it('a folder where the log file should be is found whoever asks', async () => {
    const workDir = await makeTmpDir('proscai-health-');
    const logFile = path.join(workDir, 'logs', 'mailer.log');
    await mkdir(logFile, { recursive: true });
    const found = await probeAsStatus({ logFile, claimsDir: path.join(workDir, 'claims', 'pc1'), workDir });
    expect(found.log).toBe(`${logFile} is not a file (a folder)`);
    expect(found.claims).toBeUndefined();
    expect((await stat(workDir)).isDirectory()).toBe(true);
  });
});
