/**
 * An order folder that is not there (a typo in `--dir` or MAILER_DIR, a
 * network share not mounted yet when the service starts) or is a file: the
 * real CLI, real folders, a real SMTP server. The mailer never creates the
 * order folder: `once` exits 2 with a sentence naming it and creates nothing;
 * `run` says so at error level, keeps checking, and starts working (lock,
 * watch, log) as soon as the folder appears; `status` names it. A path that
 * is a file ends `once` and `run` with 2 and a sentence, never a stack trace.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { acquireInstanceLock } from '../../src/io/host/lock.js';
import { eventually, expectStopped, runCli, stopMailer } from '../helpers/cli.js';
import { mailerFailure, scopedCli, scopedSink } from '../helpers/scoped.js';
import { makeTmpDir, removeTmpDirs } from '../helpers/tmp.js';
import { simpleOrder } from './folder.js';

afterAll(removeTmpDirs);

/** A stack trace's frame line, as node prints an uncaught error. */
const STACK_FRAME = /^\s+at /m;

describe('a missing order folder', () => {
  it('once exits 2 naming the folder (Spanish, English with --language en, from --dir and MAILER_DIR) and creates nothing', async () => {
    const root = await makeTmpDir('proscai-missing-');
    const typo = path.join(root, 'envoi');

    const es = await runCli(['once', '--dir', typo]);
    expect(es.code).toBe(2);
    expect(es.stderr).toContain(`La carpeta de órdenes ${typo} no existe; no se creó ni se envió nada (estado de salida 2).`);
    expect(es.stdout + es.stderr).not.toContain('Enviadas');

    const en = await runCli(['once', '--dir', typo, '--language', 'en']);
    expect(en.code).toBe(2);
    expect(en.stderr).toContain(`The order folder ${typo} does not exist; nothing was created or sent (exit status 2).`);

    const fromEnv = await runCli(['once'], { MAILER_DIR: typo });
    expect(fromEnv.code).toBe(2);
    expect(fromEnv.stderr).toContain(`La carpeta de órdenes ${typo} no existe`);

    for (const result of [es, en, fromEnv]) expect(result.stderr).not.toMatch(STACK_FRAME);
    expect(existsSync(typo)).toBe(false);
    expect(await readdir(root)).toEqual([]);
  });

  it('a path that is a file ends once and run with 2 and a sentence, not a stack trace, and status names it', async () => {
    const root = await makeTmpDir('proscai-missing-');
    const file = path.join(root, 'envio');
    await writeFile(file, 'not a folder');

    for (const command of ['once', 'run']) {
      const result = await runCli([command, '--dir', file], {}, 30_000);
      expect(result.code, `${command}: ${result.stderr}`).toBe(2);
      expect(result.stderr).toContain(`La ruta de la carpeta de órdenes ${file} es un archivo, no una carpeta; no se envió nada (estado de salida 2).`);
      expect(result.stderr).not.toMatch(STACK_FRAME);
      expect(result.stderr).not.toContain('MailerError');
    }
    const en = await runCli(['once', '--dir', file, '--language', 'en']);
    expect(en.code).toBe(2);
    expect(en.stderr).toContain(`The order folder path ${file} is a file, not a folder; nothing was sent (exit status 2).`);

    const status = await runCli(['status', '--dir', file]);
    expect(status.stdout).toContain(`la ruta de la carpeta de órdenes ${file} es un archivo, no una carpeta`);
    expect(status.code).toBe(1);
    expect(await readFile(file, 'utf8')).toBe('not a folder');
    expect(await readdir(root)).toEqual(['envio']);
  });

  it('run says so at error level, does not create it, shows in status, and sends the orders dropped in it as soon as it appears', async () => {
    const sink = await scopedSink();
    const root = await makeTmpDir('proscai-missing-');
    const dir = path.join(root, 'envio');
    // --poll 1: the folder is looked for every second (every 5 s, or each poll when sooner).
    const cli = scopedCli(['run', '--dir', dir, '--poll', '1']);
    const missing = `La carpeta de órdenes ${dir} no existe: no se envía nada hasta que aparezca (se revisa cada 1 s; proscai-mailer no la crea).`;
    await eventually(() => cli.stderr().includes(missing), 15_000, 'the missing folder said');
    expect(cli.stderr()).toMatch(/ERROR: La carpeta de órdenes/);
    expect(cli.stderr()).not.toMatch(STACK_FRAME);

    // Still running, still not created, after a few checks.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(cli.child.exitCode).toBeNull();
    expect(existsSync(dir)).toBe(false);
    expect(cli.stderr().split(missing).length - 1).toBe(1); // said once, not at every check

    const status = await runCli(['status', '--dir', dir]);
    expect(status.stdout).toContain(`la carpeta de órdenes ${dir} no existe; no se envía nada hasta que exista`);
    expect(status.code).toBe(1);
    expect(existsSync(dir)).toBe(false);

    // The share is mounted: the folder appears with an order already in it.
    const stage = path.join(root, 'stage');
    await mkdir(path.join(stage, 'envio'), { recursive: true });
    await writeFile(path.join(stage, 'envio', '_CFD_MAIL_REQ_M1.XML'), simpleOrder({ port: sink.port, subject: 'Factura M1' }));
    await rename(path.join(stage, 'envio'), dir);
    await eventually(() => cli.stderr().includes(`La carpeta de órdenes ${dir} ya existe`), 15_000, 'the folder noticed');
    await sink.waitForMessages(1, 15_000);
    await eventually(() => existsSync(path.join(dir, 'enviados', '_CFD_MAIL_REQ_M1.XML')), 10_000, 'M1 archived');

    // Then it watches as usual: an order dropped later is sent too.
    await writeFile(path.join(dir, '_CFD_MAIL_REQ_M2.XML.tmp'), simpleOrder({ port: sink.port, subject: 'Factura M2' }));
    await rename(path.join(dir, '_CFD_MAIL_REQ_M2.XML.tmp'), path.join(dir, '_CFD_MAIL_REQ_M2.XML'));
    await sink.waitForMessages(2, 15_000);
    expect(sink.messages).toHaveLength(2);

    // The log file, in the folder, says the mailer waited for it.
    const log = path.join(dir, '.proscai-mailer', 'logs', 'mailer.log');
    await eventually(async () => (await readFile(log, 'utf8').catch(() => '')).includes('"event":"folder.appeared"'), 5_000, 'folder.appeared in the log');

    expectStopped(await stopMailer(cli));
  });

  it('run waiting for the folder stops as a service is stopped, having created nothing', async () => {
    const root = await makeTmpDir('proscai-missing-');
    const dir = path.join(root, 'envio');
    const cli = scopedCli(['run', '--dir', dir, '--language', 'en']);
    await eventually(() => cli.stderr().includes(`The order folder ${dir} does not exist: nothing is sent until it appears (checked every 5 s;`), 15_000, 'the missing folder said');
    expectStopped(await stopMailer(cli));
    expect(await readdir(root)).toEqual([]);
  });

  it('the instance lock makes its work area inside the order folder without making the folder; a work area elsewhere gets its parents', async () => {
    const root = await makeTmpDir('proscai-missing-');
    const dir = path.join(root, 'envio');
    const err = await mailerFailure(acquireInstanceLock({ workDir: path.join(dir, '.proscai-mailer'), orderDir: dir, hostId: 'pc1' }));
    expect(err.code).toBe('FS_ACCESS_FAILED');
    expect(existsSync(dir)).toBe(false);

    const elsewhere = path.join(root, 'var', 'lib', 'proscai');
    const lock = await acquireInstanceLock({ workDir: elsewhere, orderDir: dir, hostId: 'pc1' });
    expect('running' in lock).toBe(false);
    expect(existsSync(path.join(elsewhere, 'instance-pc1.lock'))).toBe(true);
    if (!('running' in lock)) await lock.release();

    await mkdir(dir);
    const inside = await acquireInstanceLock({ workDir: path.join(dir, '.proscai-mailer', 'host'), orderDir: dir, hostId: 'pc1' });
    expect(existsSync(path.join(dir, '.proscai-mailer', 'host', 'instance-pc1.lock'))).toBe(true);
    if (!('running' in inside)) await inside.release();
  });
});
