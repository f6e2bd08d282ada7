/**
 * `proscai-mailer retry`: the real CLI puts failed orders back in the queue
 * (and brings a deferred one forward) so that the next real `once` sends them.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StatusReport } from '../../src/cli/status.js';
import { eventually, expectStopped, runCli, startCli, stopMailer } from '../helpers/cli.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import { makeTmpDir, removeTmpDirs } from '../helpers/tmp.js';
import { simpleOrder } from '../e2e/folder.js';

let sink: SmtpSink;
let refuse = true;
beforeEach(async () => {
  refuse = true;
  sink = await startSmtpSink({ rcptError: (a) => (refuse && a === 'later@example.com' ? { code: 451, message: '4.7.1 try again later' } : undefined) });
});
afterEach(async () => {
  await sink.close();
});
afterAll(removeTmpDirs);

const name = (id: string) => `_CFD_MAIL_REQ_${id}.XML`;

/** Orders whose attachment `docs/<id>.pdf` is missing: `once` fails them into errores/. */
async function failedOrders(ids: string[]): Promise<string> {
  const dir = await makeTmpDir('proscai-retry-');
  for (const id of ids) await writeFile(path.join(dir, name(id)), simpleOrder({ port: sink.port, attachments: [`docs\\${id}.pdf`] }));
  expect((await runCli(['once', '--dir', dir])).code).toBe(1);
  expect((await readdir(path.join(dir, 'errores'))).sort()).toEqual(ids.flatMap((id) => [name(id), `${name(id)}.error.txt`]).sort());
  await mkdir(path.join(dir, 'docs'), { recursive: true });
  for (const id of ids) await writeFile(path.join(dir, 'docs', `${id}.pdf`), `pdf ${id}`); // the cause is fixed
  return dir;
}

async function claimedState(dir: string, fileName: string): Promise<{ nextTryAt?: number; attempts: number }> {
  const claims = path.join(dir, '.proscai-mailer', 'claims');
  const [host] = await readdir(claims);
  return JSON.parse(await readFile(path.join(claims, host!, `${fileName}.state.json`), 'utf8'));
}

describe('retry', { timeout: 120_000 }, () => {
  it('puts a failed order back in the queue; the next once sends it; trace shows the retry', async () => {
    const dir = await failedOrders(['R1']);
    const result = await runCli(['retry', 'r1', '--dir', dir]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`Devuelta a la cola: errores/${name('R1')} → ${name('R1')}`);
    expect(await readdir(path.join(dir, 'errores'))).toEqual([]); // the note went with it
    expect(existsSync(path.join(dir, name('R1')))).toBe(true);

    expect((await runCli(['once', '--dir', dir])).code).toBe(0);
    expect(sink.messages).toHaveLength(1);
    expect(sink.messages[0]!.parsed.attachments[0]!.content.toString()).toBe('pdf R1');
    expect((await readdir(path.join(dir, 'enviados'))).sort()).toEqual([name('R1'), `${name('R1')}.acuse.json`]);

    const trace = await runCli(['trace', 'R1', '--dir', dir]);
    expect(trace.stdout).toMatch(/FALLÓ: El adjunto «docs\\R1\.pdf» .* no existe: se buscó en .* \[ATTACHMENT_MISSING\][\s\S]*devuelta a la cola por «proscai-mailer retry» \(desde errores\/\)[\s\S]*aceptada por el servidor SMTP/);
    expect(trace.stdout).toContain('Resultado: enviada');
  });

  it('retry --failed moves every failed order; with none left it exits 1', async () => {
    const dir = await failedOrders(['A', 'B']);
    const result = await runCli(['retry', '--failed', '--dir', dir, '--language', 'en']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim().split('\n')).toEqual([
      `Put back in the queue: errores/${name('A')} → ${name('A')} (the next pass of the mailer sends it: "run" takes it at once; if none runs, use "proscai-mailer once").`,
      `Put back in the queue: errores/${name('B')} → ${name('B')} (the next pass of the mailer sends it: "run" takes it at once; if none runs, use "proscai-mailer once").`,
    ]);
    expect(await readdir(path.join(dir, 'errores'))).toEqual([]);
    const again = await runCli(['retry', '--failed', '--dir', dir]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('No hay órdenes en errores/');
    const queued = await runCli(['retry', 'A', '--dir', dir]);
    expect(queued.code).toBe(0);
    expect(queued.stdout).toContain(`${name('A')} ya está en la carpeta de órdenes`);
    expect((await runCli(['once', '--dir', dir])).code).toBe(0);
    expect(sink.messages).toHaveLength(2);
  });

  it('exits 1 when nothing matches, 2 without an id or --failed', async () => {
    const dir = await failedOrders(['C']);
    const none = await runCli(['retry', 'NOPE', '--dir', dir]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('No hay ninguna orden «NOPE»');
    expect((await runCli(['retry', '--dir', dir])).code).toBe(2);
    expect((await runCli(['retry', 'C', '--failed', '--dir', dir])).code).toBe(2);
    expect(await readdir(path.join(dir, 'errores'))).toHaveLength(2); // untouched
  });

  it('brings a deferred order forward when no mailer runs; leaves it to a running mailer', async () => {
    const dir = await makeTmpDir('proscai-retry-');
    for (const id of ['D1', 'D2']) await writeFile(path.join(dir, name(id)), simpleOrder({ port: sink.port, to: 'later@example.com' }));
    expect((await runCli(['once', '--dir', dir, '--retry', '3600'])).code).toBe(4);
    const due = (await claimedState(dir, name('D2'))).nextTryAt!;
    expect(due).toBeGreaterThan(Date.now() + 3500_000);

    // A running mailer keeps its own timer: nothing changes, the person is told when it will try.
    const run = startCli(['run', '--dir', dir, '--retry', '3600']);
    try {
      await eventually(async () => {
        const status = await runCli(['status', '--dir', dir, '--json']);
        return (JSON.parse(status.stdout) as StatusReport).mailer.running;
      }, 90_000, 'the mailer to start');
      const left = await runCli(['retry', 'D2', '--dir', dir]);
      expect(left.code).toBe(0);
      expect(left.stdout).toContain(`El mailer en ejecución (pid ${run.child.pid}) tiene ${name('D2')} en espera y lo intentará el`);
      expect((await claimedState(dir, name('D2'))).nextTryAt).toBe(due);
    } finally {
      void stopMailer(run);
    }
    // SIGTERM on POSIX; terminated on Windows, as Task Scheduler's End does.
    expectStopped(await run.exited);

    refuse = false;
    const now = await runCli(['retry', 'd2', '--dir', dir]);
    expect(now.code).toBe(0);
    expect(now.stdout).toContain(`Reintento adelantado: ${name('D2')}`);
    expect((await claimedState(dir, name('D2'))).nextTryAt).toBeLessThanOrEqual(Date.now());
    expect((await runCli(['once', '--dir', dir, '--retry', '3600'])).code).toBe(4); // D1 still waits its turn
    expect(sink.messages.map((m) => m.parsed.messageId)).toEqual([expect.stringContaining('D2')]);
    expect((await readdir(path.join(dir, 'enviados'))).sort()).toEqual([name('D2'), `${name('D2')}.acuse.json`]);
  }, 180_000);
});
