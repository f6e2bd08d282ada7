/**
 * `proscai-mailer status`: the real CLI over a real folder that holds orders
 * waiting, deferred (a 451 with --retry 3600), failed and sent, with and
 * without a running mailer.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StatusReport } from '../../src/cli/status.js';
import { ErrorCodes, MailerError } from '../../src/errors.js';
import { clearNoticeProblem, noticeStatePath, recordNoticeProblem } from '../../src/io/host/notice-state.js';
import type { ResolvedSmtp } from '../../src/ports.js';
import { eventually, expectStopped, runCli, startCli, stopMailer } from '../helpers/cli.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import { makeTmpDir, removeTmpDirs } from '../helpers/tmp.js';
import { simpleOrder } from '../e2e/folder.js';

let sink: SmtpSink;
beforeEach(async () => {
  sink = await startSmtpSink({ rcptError: (a) => (a === 'later@example.com' ? { code: 451, message: '4.7.1 try again later' } : undefined) });
});
afterEach(async () => {
  await sink.close();
});
afterAll(removeTmpDirs);

const order = (dir: string, id: string, opts: Parameters<typeof simpleOrder>[0]) => writeFile(path.join(dir, `_CFD_MAIL_REQ_${id}.XML`), simpleOrder(opts));

/** ACME: one sent, one failed, one waiting; BETA: one deferred, one waiting; `?`: one unreadable waiting. */
async function busyFolder(): Promise<string> {
  const dir = await makeTmpDir('proscai-status-');
  await order(dir, 'S1', { port: sink.port, company: 'ACME' });
  await order(dir, 'D1', { port: sink.port, company: 'Beta', to: 'later@example.com' });
  await order(dir, 'F1', { port: sink.port, company: 'ACME', to: '' });
  const first = await runCli(['once', '--dir', dir, '--retry', '3600']);
  expect(first.code).toBe(1);
  await order(dir, 'W1', { port: sink.port, company: 'ACME' });
  await order(dir, 'W2', { port: sink.port, company: 'Beta' });
  await writeFile(path.join(dir, '_CFD_MAIL_REQ_BAD.XML'), 'not an order');
  return dir;
}

/** The first two tests only read the folder: they share one. */
let shared: Promise<string> | undefined;
const sharedFolder = (): Promise<string> => (shared ??= busyFolder());

/** The JSON report; exit status 1 exactly when it lists alerts. */
async function statusJson(dir: string): Promise<StatusReport> {
  const result = await runCli(['status', '--dir', dir, '--json']);
  const report = JSON.parse(result.stdout) as StatusReport;
  expect(result.code, result.stderr).toBe(report.alerts.length > 0 ? 1 : 0);
  return report;
}

const row = (report: StatusReport, company: string) => report.companies.find((c) => c.company === company);

describe('status', { timeout: 120_000 }, () => {
  it('counts waiting, deferred, failed and sent orders per company (--json)', async () => {
    const dir = await sharedFolder();
    const before = Date.now();
    const report = await statusJson(dir);
    expect(report.mailer.running).toBe(false);
    expect(report.companies.map((c) => c.company)).toEqual(['ACME', 'BETA', '?']);
    expect(row(report, 'ACME')).toEqual({ company: 'ACME', waiting: 1, sending: 0, deferred: 0, failed24h: 1, sent24h: 1 });
    expect(row(report, 'BETA')).toEqual({ company: 'BETA', waiting: 1, sending: 0, deferred: 1, failed24h: 0, sent24h: 0 });
    expect(row(report, '?')).toEqual({ company: '?', waiting: 1, sending: 0, deferred: 0, failed24h: 0, sent24h: 0 });
    expect(report.totals).toEqual({ waiting: 3, sending: 0, deferred: 1, failed24h: 1, sent24h: 1 });

    expect(report.deferred).toHaveLength(1);
    const deferred = report.deferred[0]!;
    expect(deferred).toMatchObject({ fileName: '_CFD_MAIL_REQ_D1.XML', orderId: 'D1', company: 'BETA', attempts: 1 });
    expect(deferred.lastError?.smtpCode).toBe(451);
    expect(deferred.lastError?.smtpResponse).toContain('try again later');
    const wait = Date.parse(deferred.nextTryAt) - before;
    expect(wait).toBeGreaterThan(3500_000);
    expect(wait).toBeLessThanOrEqual(3600_000);
    expect(report.failed.map((f) => [f.fileName, f.company])).toEqual([['_CFD_MAIL_REQ_F1.XML', 'ACME']]);
    // BETA's last send got a 451 and none of its sends succeeded since: an alert (exit status 1) until one does.
    expect(report.alerts).toMatchObject([{ code: 'smtp_failing', company: 'BETA', orderId: 'D1', error: { code: 'SMTP_TEMPORARY', smtpCode: 451 } }]);
  });

  it('prints an aligned table with the deferred order and its SMTP reply, in Spanish or English', async () => {
    const dir = await sharedFolder();
    const es = await runCli(['status', '--dir', dir]);
    expect(es.code).toBe(1); // BETA's 451 (see above)
    expect(es.stdout).toMatch(/^Atención: el último envío de BETA falló a las .+ \(orden D1\): SMTP_TEMPORARY: .*451 4\.7\.1 try again later/m);
    expect(es.stdout).toContain('no está en ejecución');
    expect(es.stdout).toMatch(/^Empresa\s+En espera\s+En curso\s+Diferidas\s+Fallidas 24 h\s+Enviadas 24 h$/m);
    expect(es.stdout).toMatch(/^ACME\s+1\s+0\s+0\s+1\s+1$/m);
    expect(es.stdout).toMatch(/^BETA\s+1\s+0\s+1\s+0\s+0$/m);
    expect(es.stdout).toMatch(/^TOTAL\s+3\s+0\s+1\s+1\s+1$/m);
    const lines = es.stdout.split('\n');
    const header = lines.find((l) => l.startsWith('Empresa'))!;
    const acme = lines.find((l) => l.startsWith('ACME'))!;
    expect(acme.length).toBe(header.length); // right-aligned under the headings
    expect(es.stdout).toMatch(/_CFD_MAIL_REQ_D1\.XML \(BETA\): intento 1, próximo intento .*451 4\.7\.1 try again later/);
    expect(es.stdout).toContain('_CFD_MAIL_REQ_F1.XML (ACME)');

    const en = await runCli(['status', '--dir', dir, '--language', 'en']);
    expect(en.stdout).toMatch(/^Company\s+Waiting\s+Sending\s+Deferred\s+Failed 24 h\s+Sent 24 h$/m);
    expect(en.stdout).toContain('not running');
  });

  it('works while a mailer runs, and says so', async () => {
    const dir = await busyFolder();
    const run = startCli(['run', '--dir', dir, '--retry', '3600']);
    try {
      const report = (await eventually(async () => {
        const r = await statusJson(dir);
        return r.mailer.running && r.totals.waiting === 0 && r.totals.sent24h === 3 ? r : false;
      }, 90_000, 'the running mailer to send the waiting orders')) as StatusReport;
      expect(report.mailer.owner?.pid).toBe(run.child.pid);
      expect(row(report, 'BETA')).toMatchObject({ deferred: 1, sent24h: 1 });
      expect(report.alerts).toEqual([]); // BETA sent W2: its 451 is no longer the last word
      expect(row(report, '?')).toMatchObject({ waiting: 0, failed24h: 1 });
      const text = await runCli(['status', '--dir', dir]);
      expect(text.stdout).toContain(`en ejecución (pid ${run.child.pid}`);
    } finally {
      void stopMailer(run);
    }
    // SIGTERM on POSIX; terminated on Windows, as Task Scheduler's End does.
    expectStopped(await run.exited);
    expect((await statusJson(dir)).mailer.running).toBe(false);
  }, 180_000);

  it('notices failing is an alert: exit status 1 with its code, 0 once a notice got through (the state file as the notifier keeps it)', async () => {
    const dir = await makeTmpDir('proscai-status-');
    const state = noticeStatePath(path.join(dir, '.proscai-mailer'));
    await mkdir(path.dirname(state), { recursive: true });
    const smtp = { host: '127.0.0.1', port: 2525, security: 'NINGUNA', timeoutMinutes: 1 } as unknown as ResolvedSmtp;
    await recordNoticeProblem(state, smtp, new MailerError(ErrorCodes.SMTP_TEMPORARY, '421 4.3.2 try later', { smtp: { responseCode: 421, response: '421 4.3.2 try later' } }));
    const failing = await runCli(['status', '--dir', dir, '--json']);
    expect(failing.code).toBe(1);
    expect((JSON.parse(failing.stdout) as StatusReport).alerts).toMatchObject([{ code: 'notices_failing', server: '127.0.0.1:2525', error: { smtpCode: 421 } }]);
    const en = await runCli(['status', '--dir', dir, '--language', 'en']);
    expect(en.code).toBe(1);
    expect(en.stdout).toContain('Warning: failure notices cannot be sent through 127.0.0.1:2525: SMTP_TEMPORARY: 421 4.3.2 try later');
    await clearNoticeProblem(state);
    const fine = await runCli(['status', '--dir', dir]);
    expect(fine.code).toBe(0);
    expect(fine.stdout).not.toContain('Atención');
  });

  it('exits 2 on a configuration error', async () => {
    expect((await runCli(['status'])).code).toBe(2);
    const dir = await makeTmpDir('proscai-status-');
    const result = await runCli(['status', '--config', path.join(dir, 'missing.json')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('missing.json');
  });
});
