import { describe, it, expect } from 'vitest';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { ErrorCodes, MailerError } from '../../src/errors.js';
import { SERVICE_NODE_FLAGS } from '../../src/service/systemd.js';
import { utf16leWithBom } from '../../src/io/host/service-files.js';
import {
  quoteWindowsArg,
  RESTART_COUNT,
  schtasksCommand,
  SYSTEM_SID,
  taskName,
  windowsTaskXml,
  xmlEscape,
} from '../../src/service/windows-task.js';
import { splitWindowsArgs } from './command-lines.js';

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', parseTagValue: false, ignoreDeclaration: false });

/* eslint-disable @typescript-eslint/no-explicit-any */
function parse(xml: string): any {
  expect(XMLValidator.validate(xml)).toBe(true);
  return parser.parse(xml);
}

const opts = {
  execPath: 'C:\\Program Files\\nodejs\\node.exe',
  script: 'C:\\Program Files\\proscai-mailer\\dist\\main.js',
  configFile: 'C:\\Proscai & Co\\config <prod>.json',
  taskName: 'proscai-mailer',
};

describe('windowsTaskXml', () => {
  it('is a Task Scheduler 1.2 task that starts at boot and declares UTF-16', () => {
    const xml = windowsTaskXml(opts);
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-16"?>\r\n')).toBe(true);
    const doc = parse(xml);
    expect(doc.Task['@version']).toBe('1.2');
    expect(doc.Task['@xmlns']).toBe('http://schemas.microsoft.com/windows/2004/02/mit/task');
    expect(doc.Task.Triggers.BootTrigger.Enabled).toBe('true');
    expect(doc.Task.Triggers.BootTrigger.Delay).toMatch(/^PT\d+S$/);
  });

  it('runs as SYSTEM with the highest privileges by default', () => {
    const principal = parse(windowsTaskXml(opts)).Task.Principals.Principal;
    expect(principal.UserId).toBe(SYSTEM_SID);
    expect(principal.RunLevel).toBe('HighestAvailable');
    expect(principal.LogonType).toBeUndefined();
    expect(parse(windowsTaskXml({ ...opts, user: 'NT AUTHORITY\\SYSTEM' })).Task.Principals.Principal.UserId).toBe(SYSTEM_SID);
  });

  it('runs as another account with a stored password when asked', () => {
    const principal = parse(windowsTaskXml({ ...opts, user: 'ACME\\svc-mailer' })).Task.Principals.Principal;
    expect(principal.UserId).toBe('ACME\\svc-mailer');
    expect(principal.LogonType).toBe('Password');
    expect(principal.RunLevel).toBe('HighestAvailable');
  });

  it('never stops the mailer, restarts it on failure and never starts a second copy', () => {
    const settings = parse(windowsTaskXml(opts)).Task.Settings;
    expect(settings.ExecutionTimeLimit).toBe('PT0S');
    expect(settings.MultipleInstancesPolicy).toBe('IgnoreNew');
    expect(settings.DisallowStartIfOnBatteries).toBe('false');
    expect(settings.StopIfGoingOnBatteries).toBe('false');
    expect(settings.RestartOnFailure).toEqual({ Interval: 'PT1M', Count: String(RESTART_COUNT) });
    expect(RESTART_COUNT).toBeLessThanOrEqual(255); // unsignedByte in the schema
    expect(settings.IdleSettings.StopOnIdleEnd).toBe('false');
  });

  it('has a watchdog trigger every 5 minutes by default, configurable or off', () => {
    const every5 = parse(windowsTaskXml(opts)).Task.Triggers.TimeTrigger;
    expect(every5.Repetition.Interval).toBe('PT5M');
    expect(every5.Enabled).toBe('true');
    expect(parse(windowsTaskXml({ ...opts, watchdogMinutes: 15 })).Task.Triggers.TimeTrigger.Repetition.Interval).toBe('PT15M');
    expect(parse(windowsTaskXml({ ...opts, watchdogMinutes: 0 })).Task.Triggers.TimeTrigger).toBeUndefined();
    expect(() => windowsTaskXml({ ...opts, watchdogMinutes: 1.5 })).toThrow(MailerError);
  });

  it('runs node with the script, run and --config, the paths arriving intact (spaces, &, <>)', () => {
    const exec = parse(windowsTaskXml({ ...opts, dir: 'D:\\Envío Mails\\' })).Task.Actions.Exec;
    expect(splitWindowsArgs(exec.Command)).toEqual([opts.execPath]);
    expect(splitWindowsArgs(exec.Arguments)).toEqual([...SERVICE_NODE_FLAGS, opts.script, 'run', '--config', opts.configFile, '--dir', 'D:\\Envío Mails\\']);
    const raw = windowsTaskXml(opts);
    expect(raw).toContain('&amp; Co');
    expect(raw).toContain('config &lt;prod&gt;.json');
  });

  it("starts in the program's folder, or the one given, taken as written", () => {
    expect(parse(windowsTaskXml(opts)).Task.Actions.Exec.WorkingDirectory).toBe('C:\\Program Files\\proscai-mailer\\dist');
    const given = parse(windowsTaskXml({ ...opts, workingDirectory: 'D:\\Proscai & Co\\mailer' })).Task.Actions.Exec;
    expect(given.WorkingDirectory).toBe('D:\\Proscai & Co\\mailer');
    expect(() => windowsTaskXml({ ...opts, workingDirectory: 'C:\\%TEMP%' })).toThrow(MailerError);
    expect(() => windowsTaskXml({ ...opts, workingDirectory: 'C:\\a"b' })).toThrow(MailerError);
  });

  it('leaves a path without spaces unquoted', () => {
    const exec = parse(windowsTaskXml({ ...opts, execPath: 'C:\\node\\node.exe', script: 'C:\\pm\\main.js', configFile: 'C:\\pm\\a&b.json' })).Task.Actions.Exec;
    expect(exec.Command).toBe('C:\\node\\node.exe');
    expect(exec.Arguments).toBe(`${SERVICE_NODE_FLAGS.join(' ')} C:\\pm\\main.js run --config C:\\pm\\a&b.json`);
  });

  it('refuses %NAME% (Task Scheduler would expand it) and control characters', () => {
    const refused = (o: typeof opts) => {
      try {
        windowsTaskXml(o);
      } catch (err) {
        return err instanceof MailerError && err.code === ErrorCodes.USAGE;
      }
      return false;
    };
    expect(refused({ ...opts, configFile: 'C:\\%USERPROFILE%\\config.json' })).toBe(true);
    expect(refused({ ...opts, execPath: '%ProgramFiles%\\nodejs\\node.exe' })).toBe(true);
    expect(refused({ ...opts, configFile: 'C:\\a\nb.json' })).toBe(true);
    expect(refused({ ...opts, taskName: 'bad"name' })).toBe(true);
    expect(refused({ ...opts, configFile: 'C:\\100% sure\\config.json' })).toBe(false);
  });

  it('survives the UTF-16 LE file it is saved as', () => {
    const xml = windowsTaskXml({ ...opts, description: 'Envío de facturación ñ' });
    const bytes = utf16leWithBom(xml);
    expect([...bytes.subarray(0, 4)]).toEqual([0xff, 0xfe, 0x3c, 0x00]);
    const back = bytes.subarray(2).toString('utf16le');
    expect(back).toBe(xml);
    expect(parse(back).Task.RegistrationInfo.Description).toBe('Envío de facturación ñ');
  });
});

describe('quoteWindowsArg', () => {
  it('round-trips through the C runtime rules', () => {
    for (const arg of ['plain', '', 'a b', 'C:\\dir with space\\', 'say "hi"', 'back\\\\"quote', 'tab\there', 'a&b|c^d', 'ends\\\\']) {
      expect(splitWindowsArgs(quoteWindowsArg(arg)), JSON.stringify(arg)).toEqual([arg]);
    }
  });
});

describe('xmlEscape, taskName, schtasksCommand', () => {
  it('escapes markup characters', () => {
    expect(xmlEscape('a & <b>')).toBe('a &amp; &lt;b&gt;');
    expect(() => xmlEscape('bell\u0007')).toThrow(MailerError);
  });

  it('accepts folder-style task names and refuses unsafe ones', () => {
    expect(taskName('Proscai\\proscai-mailer')).toBe('Proscai\\proscai-mailer');
    for (const bad of ['', '  ', 'a"b', 'a%b', 'a|b', 'a:b']) expect(() => taskName(bad), bad).toThrow(MailerError);
  });

  it('prints the schtasks line, with /RU and a password prompt for another account', () => {
    expect(schtasksCommand('C:\\Proscai & Co\\task.xml', 'proscai-mailer')).toBe(
      'schtasks /Create /TN "proscai-mailer" /XML "C:\\Proscai & Co\\task.xml" /F',
    );
    expect(schtasksCommand('C:\\t.xml', 'pm', 'SYSTEM')).toBe('schtasks /Create /TN "pm" /XML "C:\\t.xml" /F');
    expect(schtasksCommand('C:\\t.xml', 'pm', 'ACME\\svc')).toBe('schtasks /Create /TN "pm" /XML "C:\\t.xml" /RU "ACME\\svc" /RP * /F');
    expect(() => schtasksCommand('C:\\%TEMP%\\t.xml', 'pm')).toThrow(MailerError);
  });
});
