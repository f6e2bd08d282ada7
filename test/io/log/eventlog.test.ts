/**
 * The Windows event log sink (io/log/eventlog.ts): the exact eventcreate argument
 * array it issues (a hostile subject and accents pass as one argument, never
 * through a shell), the real spawn path carrying that array intact to a
 * program, coalescing of a burst, the queue's cap and drop count, a failing
 * eventcreate told once and never looping through the logger, and, in the
 * Windows lane, the real eventcreate.exe of the machine.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  EVENT_SOURCE,
  MAX_QUEUED,
  createEventLogSink,
  eventCreateArgs,
  eventCreatePath,
  spawnNoShell,
  systemLogOption,
  type SpawnFn,
} from '../../../src/io/log/eventlog.js';
import { createLogger } from '../../../src/io/log/log.js';
import { eventSourceCommand } from '../../../src/service/windows-task.js';
import { runCli } from '../../helpers/cli.js';
import { makeTmpDir, removeTmpDirs } from '../../helpers/tmp.js';

afterAll(removeTmpDirs);

const HOSTILE = 'Factura "&|<>%^ núm. 0042 — Compañía Añil, S.A. de C.V. %PATH% ^& calc';
const line = (fields: Record<string, unknown>): string => `${JSON.stringify({ level: 30, time: '2026-12-03T09:00:00.000Z', ...fields })}\n`;
const errorLine = (msg: string) => line({ level: 50, event: 'order.failed', errorCode: 'SMTP_AUTH', msg });

/** A spawn that records each call and answers with `code` (or waits for `gate` first). */
function recordingSpawn(code = 0): { spawn: SpawnFn; calls: { file: string; args: string[] }[]; gate: (open: boolean) => void } {
  const calls: { file: string; args: string[] }[] = [];
  let release: (() => void) | undefined;
  let closed: Promise<void> | undefined;
  return {
    calls,
    gate(open) {
      if (open) {
        release?.();
        closed = undefined;
      } else closed = new Promise((resolve) => (release = resolve));
    },
    spawn: async (file, args) => {
      calls.push({ file, args });
      if (closed !== undefined) await closed;
      return code === 0 ? { code: 0, output: '' } : { code, output: 'ERROR: Access denied.' };
    },
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('eventcreate arguments', () => {
  it('one argument array, eventcreate.exe of the system folder, the hostile subject and accents intact', async () => {
    const rec = recordingSpawn();
    const sink = createEventLogSink({ spawn: rec.spawn, onFailure: () => undefined, program: 'C:\\Windows\\System32\\eventcreate.exe' });
    sink.write(errorLine(`0042: no se envió: ${HOSTILE}`));
    await sink.close();
    expect(rec.calls).toEqual([
      {
        file: 'C:\\Windows\\System32\\eventcreate.exe',
        args: ['/L', 'APPLICATION', '/T', 'ERROR', '/SO', 'Proscai Mailer', '/ID', '2', '/D', `proscai-mailer: 0042: no se envió: ${HOSTILE} [SMTP_AUTH]`],
      },
    ]);
    expect(eventCreatePath({ SystemRoot: 'D:\\WINNT' })).toBe('D:\\WINNT\\System32\\eventcreate.exe');
  });

  it('sends of orders that ask for it (order.sent) are INFORMATION, id 1; other lines are not for the event log', async () => {
    const rec = recordingSpawn();
    const sink = createEventLogSink({ spawn: rec.spawn, onFailure: () => undefined });
    sink.write(line({ level: 30, event: 'order.transition', msg: 'not for it' }));
    sink.write(line({ level: 40, event: 'order.deferred', msg: 'a warning: not for it' }));
    sink.write(line({ level: 30, event: 'order.sent', company: 'ACME', accepted: ['cliente@example.com'], msg: '0042: sent' }));
    await sink.close();
    expect(rec.calls.map((c) => c.args)).toEqual([['/L', 'APPLICATION', '/T', 'INFORMATION', '/SO', EVENT_SOURCE, '/ID', '1', '/D', 'proscai-mailer: 0042: sent (ACME) → cliente@example.com']]);
  });

  it('control characters an argument cannot carry become spaces; the text never starts like an option', () => {
    const args = eventCreateArgs('ERROR', '/? \u0000bad\u0007');
    expect(args.at(-1)).toBe('proscai-mailer: /?  bad ');
  });

  it('the real spawn (no shell) hands the array to a program exactly as built', async () => {
    const args = eventCreateArgs('ERROR', `0042: ${HOSTILE}\r\nsegunda línea "entre comillas" \\"`);
    const result = await spawnNoShell(process.execPath, ['-e', 'process.stdout.write(JSON.stringify(process.argv.slice(1)))', ...args]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.output)).toEqual(args);
  });

  it('the registration line for the administrator, printed by `service print --platform windows --out` after the schtasks line', async () => {
    expect(eventSourceCommand('origen de eventos registrado')).toBe(
      'eventcreate /L APPLICATION /T INFORMATION /SO "Proscai Mailer" /ID 1 /D "proscai-mailer: origen de eventos registrado"',
    );
    const out = path.join(await makeTmpDir('proscai-eventlog-'), 'tarea.xml');
    const args = ['service', 'print', '--platform', 'windows', '--out', out, '--node', 'C:\\node\\node.exe', '--script', 'C:\\pm\\dist\\main.js', '--config', 'C:\\pm\\config.json'];
    const es = await runCli(args);
    expect(es.code, es.stderr).toBe(0);
    const lines = es.stdout.split(/\r?\n/);
    const at = lines.findIndex((l) => l.startsWith('schtasks /Create'));
    expect(lines.slice(at + 1, at + 3)).toEqual([
      'Y, una vez, para que los errores lleguen al Visor de eventos (Registros de Windows → Aplicación, origen «Proscai Mailer»):',
      'eventcreate /L APPLICATION /T INFORMATION /SO "Proscai Mailer" /ID 1 /D "proscai-mailer: origen de eventos registrado"',
    ]);
    const en = await runCli([...args, '--language', 'en']);
    expect(en.stdout).toContain('And, once, so that errors reach Event Viewer (Windows Logs → Application, source "Proscai Mailer"):\neventcreate /L APPLICATION /T INFORMATION /SO "Proscai Mailer" /ID 1 /D "proscai-mailer: event source registered"');
  });
});

describe('event log sink', () => {
  it('coalesces a burst: lines that queue while one eventcreate runs become one event, never a process per line', async () => {
    const rec = recordingSpawn();
    const sink = createEventLogSink({ spawn: rec.spawn, onFailure: () => undefined, now: () => new Date('2026-12-03T09:00:00Z') });
    rec.gate(false);
    sink.write(errorLine('first'));
    await tick();
    for (let i = 0; i < 100; i++) sink.write(errorLine(`burst ${i}`));
    rec.gate(true);
    await sink.close();
    expect(rec.calls).toHaveLength(2);
    const text = rec.calls[1]!.args.at(-1)!;
    expect(text.split('\r\n')).toHaveLength(100);
    expect(text).toContain('[2026-12-03 09:00:00] burst 0 [SMTP_AUTH]\r\n[2026-12-03 09:00:00] burst 1 [SMTP_AUTH]');
  });

  it('keeps at most MAX_QUEUED lines and says how many it dropped in the next event', async () => {
    const rec = recordingSpawn();
    const sink = createEventLogSink({ spawn: rec.spawn, onFailure: () => undefined });
    rec.gate(false);
    sink.write(errorLine('first'));
    await tick();
    for (let i = 0; i < MAX_QUEUED + 50; i++) sink.write(errorLine(`line ${i}`));
    rec.gate(true);
    await sink.close();
    const texts = rec.calls.slice(1).map((c) => c.args.at(-1)!);
    const listed = texts.join('\r\n').split('\r\n').filter((l) => l.includes('] line '));
    expect(listed).toHaveLength(MAX_QUEUED);
    expect(texts.join('\n')).toContain('(50 more messages were not written to the event log: too many at once; see the log file)');
    expect(rec.calls.length).toBeLessThan(20);
  });

  it('a failing eventcreate is told once per outage, and again after one succeeded', async () => {
    let code = 1;
    const calls: string[][] = [];
    const failures: Error[] = [];
    const sink = createEventLogSink({
      spawn: async (_file, args) => {
        calls.push(args);
        return { code, output: 'ERROR: Access denied.' };
      },
      onFailure: (e) => failures.push(e),
      program: 'eventcreate.exe',
    });
    for (const msg of ['a', 'b', 'c']) {
      sink.write(errorLine(msg));
      await tick();
      await tick();
    }
    expect(calls).toHaveLength(3);
    expect(failures.map((e) => e.message)).toEqual(['eventcreate.exe failed (exit status 1): ERROR: Access denied.']);
    code = 0;
    sink.write(errorLine('d'));
    await tick();
    await tick();
    code = 1;
    sink.write(errorLine('e'));
    await sink.close();
    expect(failures).toHaveLength(2);
  });

  it('through the logger: errors reach it, its failure is one warning in the log file and does not loop', async () => {
    const dir = await makeTmpDir('proscai-eventlog-');
    const file = path.join(dir, 'mailer.log');
    const rec = recordingSpawn(1);
    let log!: ReturnType<typeof createLogger>;
    const sink = createEventLogSink({
      spawn: rec.spawn,
      onFailure: (e) => log.logger.warn({ event: 'eventlog.failed', error: e.message }, `event log: ${e.message}`),
    });
    log = createLogger({ file, systemLog: sink });
    log.logger.error({ event: 'order.failed' }, 'one');
    await tick();
    await tick();
    log.logger.error({ event: 'order.failed' }, 'two');
    log.logger.info({ event: 'order.transition' }, 'not for it');
    await log.close();
    expect(rec.calls.map((c) => c.args.at(-1))).toEqual(['proscai-mailer: one', 'proscai-mailer: two']);
    const lines = (await readFile(file, 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.filter((l) => l.event === 'eventlog.failed')).toHaveLength(1);
  });

  it('systemLogOption gives the sink on Windows only', () => {
    expect(systemLogOption('es', () => ({ warn: () => undefined }), 'linux')).toEqual({});
    expect(systemLogOption('es', () => ({ warn: () => undefined }), 'win32').systemLog).toBeDefined();
  });

  it.runIf(process.platform === 'win32')(
    'Windows: the real eventcreate.exe of this machine writes the event, or, where there is none (Wine ships none), its absence is told once',
    async () => {
      const failures: Error[] = [];
      const sink = createEventLogSink({ onFailure: (e) => failures.push(e) });
      sink.write(errorLine(`prueba de proscai-mailer: ${HOSTILE}`));
      await tick();
      sink.write(errorLine('otra'));
      await sink.close();
      if (existsSync(eventCreatePath())) {
        expect(failures).toEqual([]);
      } else {
        expect(failures).toHaveLength(1);
        expect(failures[0]!.message).toContain(eventCreatePath());
      }
    },
  );
});
