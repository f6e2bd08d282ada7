/**
 * systemd's journal (the operating system's log on Linux): when the CLI's
 * stderr is the journal stream (`JOURNAL_STREAM` names its device and inode,
 * as systemd sets it), every line starts with its syslog priority, `<3>` for
 * errors, so that `journalctl -u proscai-mailer -p err` lists them. The real
 * CLI runs as a child whose stderr is a file standing in for the journal's
 * stream. POSIX only: the journal and `JOURNAL_STREAM` exist under systemd.
 */
import { spawn } from 'node:child_process';
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isJournalStream, priorityOf, withPriority } from '../../../src/io/log/journal.js';
import { systemdUnit } from '../../../src/service/systemd.js';
import { CLI } from '../../helpers/cli.js';
import { makeTmpDir, removeTmpDirs } from '../../helpers/tmp.js';
import { simpleOrder } from '../../e2e/folder.js';

afterAll(removeTmpDirs);

/** Runs `once` with stderr into `file`; `journal` says whether JOURNAL_STREAM names that file (else another one). */
async function onceWithStderrIn(dir: string, file: string, journal: boolean): Promise<{ code: number | null; stderr: string }> {
  const fd = openSync(file, 'w');
  const other = journal ? fd : openSync(`${file}.other`, 'w');
  const { dev, ino } = fstatSync(other, { bigint: true });
  const child = spawn(process.execPath, [CLI, 'once', '--dir', dir], {
    stdio: ['ignore', 'ignore', fd],
    env: { ...process.env, JOURNAL_STREAM: `${dev}:${ino}` },
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  closeSync(fd);
  if (other !== fd) closeSync(other);
  return { code, stderr: readFileSync(file, 'utf8') };
}

describe.runIf(process.platform !== 'win32')('the journal (POSIX: systemd)', { timeout: 60_000 }, () => {
  it('the CLI prefixes each terminal line with its priority when stderr is the journal stream: <3> for the error', async () => {
    const dir = await makeTmpDir('proscai-journal-');
    await writeFile(path.join(dir, '_CFD_MAIL_REQ_J1.XML'), simpleOrder({ port: 1, to: '' }));
    const { code, stderr } = await onceWithStderrIn(dir, path.join(await makeTmpDir('proscai-journal-err-'), 'stderr.txt'), true);
    expect(code).toBe(1);
    const lines = stderr.split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThanOrEqual(3);
    // Every line has a priority; the failed order's line is the one error; the first (the start) and the last (the summary) are information.
    for (const line of lines) expect(line).toMatch(/^<[346]>\[\d\d:\d\d:\d\d\] \S+: /);
    const errors = lines.filter((l) => l.startsWith('<3>'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^<3>\[\d\d:\d\d:\d\d\] \S+: J1: .*Para/);
    expect(lines[0]).toMatch(/^<6>/);
    expect(lines.at(-1)).toMatch(/^<6>/);
  });

  it('no prefix when JOURNAL_STREAM names another stream (inherited by a child whose stderr goes elsewhere)', async () => {
    const dir = await makeTmpDir('proscai-journal-');
    await writeFile(path.join(dir, '_CFD_MAIL_REQ_J2.XML'), simpleOrder({ port: 1, to: '' }));
    const { code, stderr } = await onceWithStderrIn(dir, path.join(await makeTmpDir('proscai-journal-err-'), 'stderr.txt'), false);
    expect(code).toBe(1);
    expect(stderr).toMatch(/^\[\d\d:\d\d:\d\d\] \S+: J2: /m);
    expect(stderr).not.toMatch(/^<\d>/m);
  });

  it('the generated unit sends stderr to the journal and lets it read the prefixes', () => {
    const unit = systemdUnit({ execPath: '/usr/bin/node', script: '/opt/proscai-mailer/dist/main.js' }).split('\n');
    expect(unit).toContain('StandardError=journal');
    expect(unit).toContain('SyslogLevelPrefix=true');
  });
});

describe('journal priorities', () => {
  it('maps pino levels to syslog priorities and prefixes every line of a message', () => {
    expect([60, 50, 40, 30, 20, 10].map(priorityOf)).toEqual([2, 3, 4, 6, 7, 7]);
    expect(withPriority('a\nb\n', 3)).toBe('<3>a\n<3>b\n');
    expect(withPriority('a', 6)).toBe('<6>a');
  });

  it('JOURNAL_STREAM that is absent or malformed is not the journal', () => {
    expect(isJournalStream({})).toBe(false);
    expect(isJournalStream({ JOURNAL_STREAM: 'x:y' })).toBe(false);
  });
});
