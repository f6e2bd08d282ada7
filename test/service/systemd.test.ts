import { describe, it, expect } from 'vitest';
import { ErrorCodes, MailerError } from '../../src/errors.js';
import {
  execStart,
  NO_RESTART_EXIT_STATUS,
  quoteExecArg,
  serviceArgs,
  SERVICE_NODE_FLAGS,
  STOP_TIMEOUT_SECONDS,
  systemctlCommand,
  systemdUnit,
  unitName,
} from '../../src/service/systemd.js';
import { splitExecStart } from './command-lines.js';

type Unit = Record<string, Record<string, string[]>>;

/** Reads a unit file the way systemd does: `[Section]` headers, `Key=value` lines, `#` comments. */
function parseUnit(text: string): Unit {
  const unit: Unit = {};
  let section: Record<string, string[]> | undefined;
  for (const line of text.split('\n')) {
    if (line.trim() === '' || /^[#;]/.test(line)) continue;
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header) {
      section = unit[header[1]] ??= {};
      continue;
    }
    const eq = line.indexOf('=');
    if (eq < 0 || section === undefined) throw new Error(`not a unit line: ${line}`);
    (section[line.slice(0, eq)] ??= []).push(line.slice(eq + 1));
  }
  return unit;
}

const base = { execPath: '/usr/bin/node', script: '/opt/proscai-mailer/dist/main.js' };

describe('systemdUnit', () => {
  it('has the sections and settings a boot-time service needs', () => {
    const unit = parseUnit(systemdUnit({ ...base, configFile: '/etc/proscai-mailer/config.json' }));
    expect(Object.keys(unit)).toEqual(['Unit', 'Service', 'Install']);
    expect(unit.Unit.After).toEqual(['network-online.target']);
    expect(unit.Unit.Wants).toEqual(['network-online.target']);
    expect(unit.Unit.Description[0]).toMatch(/proscai-mailer/);
    expect(unit.Service).toMatchObject({
      Type: ['simple'],
      Restart: ['on-failure'],
      RestartSec: ['10'],
      RestartPreventExitStatus: [String(NO_RESTART_EXIT_STATUS)],
      KillSignal: ['SIGTERM'],
      StandardOutput: ['journal'],
      StandardError: ['journal'],
    });
    expect(unit.Service.ExecStart).toEqual(['/usr/bin/node --max-old-space-size=192 --single-threaded-gc --v8-pool-size=1 /opt/proscai-mailer/dist/main.js run --config /etc/proscai-mailer/config.json']);
    expect(unit.Service.User).toBeUndefined();
    expect(unit.Service.WorkingDirectory).toBeUndefined();
    expect(unit.Install.WantedBy).toEqual(['multi-user.target']);
  });

  it('gives an in-flight send its longest TiempoEspera (10 minutes) after SIGTERM', () => {
    const unit = parseUnit(systemdUnit(base));
    expect(Number(unit.Service.TimeoutStopSec[0])).toBe(STOP_TIMEOUT_SECONDS);
    expect(STOP_TIMEOUT_SECONDS).toBeGreaterThan(600);
  });

  it('writes the optional settings, each once', () => {
    const unit = parseUnit(
      systemdUnit({
        ...base,
        dir: '/srv/envio_mails',
        user: 'mailer',
        workingDirectory: '/var/lib/proscai-mailer',
        environmentFile: '/etc/proscai-mailer/env',
        description: 'Envío de CFDI',
      }),
    );
    expect(unit.Service.User).toEqual(['mailer']);
    expect(unit.Service.WorkingDirectory).toEqual(['/var/lib/proscai-mailer']);
    expect(unit.Service.EnvironmentFile).toEqual(['/etc/proscai-mailer/env']);
    expect(unit.Unit.Description).toEqual(['Envío de CFDI']);
    expect(splitExecStart(unit.Service.ExecStart[0])).toEqual([base.execPath, ...SERVICE_NODE_FLAGS, base.script, 'run', '--dir', '/srv/envio_mails']);
  });

  it('quotes paths so systemd hands the program exactly the path given (spaces, &, quotes, \\, %, $)', () => {
    const opts = {
      execPath: '/opt/node 20/bin/node',
      script: "/opt/Proscai & Co/it's/dist/main.js",
      configFile: '/etc/mailer "100%"/$HOME/back\\slash & co.json',
      dir: '/srv/envío mails',
    };
    const unit = parseUnit(systemdUnit(opts));
    const line = unit.Service.ExecStart[0];
    expect(splitExecStart(line)).toEqual(serviceArgs(opts));
    expect(splitExecStart(line)).toEqual([opts.execPath, ...SERVICE_NODE_FLAGS, opts.script, 'run', '--config', opts.configFile, '--dir', opts.dir]);
    expect(line).toContain('"/opt/node 20/bin/node"');
    expect(line).not.toMatch(/[^%]%[^%]/); // every % is doubled (no specifier left)
  });

  it('leaves plain words unquoted and quotes an empty one', () => {
    expect(quoteExecArg('/usr/bin/node')).toBe('/usr/bin/node');
    expect(quoteExecArg('a&b')).toBe('a&b');
    expect(quoteExecArg('')).toBe('""');
    expect(quoteExecArg('a b')).toBe('"a b"');
    expect(execStart(base)).toBe(`/usr/bin/node ${SERVICE_NODE_FLAGS.join(' ')} /opt/proscai-mailer/dist/main.js run`);
  });

  it('escapes specifiers in Description, User and paths', () => {
    const unit = parseUnit(systemdUnit({ ...base, description: '100% %n', workingDirectory: '/srv/100%' }));
    expect(unit.Unit.Description).toEqual(['100%% %%n']);
    expect(unit.Service.WorkingDirectory).toEqual(['/srv/100%%']);
  });

  it('refuses a value with a line break instead of writing a second setting', () => {
    for (const opts of [
      { ...base, configFile: '/etc/x\nExecStartPre=/bin/rm -rf /' },
      { ...base, description: 'x\n[Service]' },
      { ...base, user: 'root\nUser=nobody' },
    ]) {
      let error: unknown;
      try {
        systemdUnit(opts);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(MailerError);
      expect((error as MailerError).code).toBe(ErrorCodes.USAGE);
    }
  });
});

describe('unitName and systemctlCommand', () => {
  it('accepts unit names with or without .service', () => {
    expect(unitName('proscai-mailer')).toBe('proscai-mailer');
    expect(unitName('mailer@acme.service')).toBe('mailer@acme');
  });

  it('refuses names a unit or a shell line cannot carry', () => {
    for (const bad of ['', 'a b', 'x;reboot', '../etc/passwd', '-x', 'ñ']) {
      expect(() => unitName(bad), bad).toThrow(MailerError);
    }
  });

  it('prints the line the administrator runs', () => {
    expect(systemctlCommand('proscai-mailer')).toBe('systemctl daemon-reload && systemctl enable --now proscai-mailer');
  });
});
