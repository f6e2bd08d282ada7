import { afterEach, describe, it, expect } from 'vitest';
import fs from 'node:fs/promises';
import path from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { CLI, runCli } from '../helpers/cli.js';
import { makeTmpDir, removeTmpDirs } from '../helpers/tmp.js';
import { SERVICE_NODE_FLAGS, serviceArgs } from '../../src/service/systemd.js';

afterEach(removeTmpDirs);

/** `Key=value` of the [Service] section. */
function serviceKeys(unit: string): Record<string, string> {
  const section = unit.split(/^\[Service\]$/m)[1]!.split(/^\[/m)[0]!;
  return Object.fromEntries(
    section
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

describe('proscai-mailer service print', () => {
  it('prints a systemd unit that runs this installation with the configuration file', async () => {
    const dir = await makeTmpDir();
    const config = path.join(dir, 'my cfg & co.json');
    const result = await runCli(['service', 'print', '--platform', 'linux', '--config', config]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^\[Unit\]$/m);
    expect(result.stdout).toMatch(/^WantedBy=multi-user\.target$/m);
    const keys = serviceKeys(result.stdout);
    expect(keys.ExecStart).toBe(`${process.execPath} ${SERVICE_NODE_FLAGS.join(' ')} ${CLI} run --config "${config}"`);
    expect(keys.Restart).toBe('on-failure');
    expect(keys.TimeoutStopSec).toBe('660');
  });

  it('the node flags it runs with are accepted by this node, and the mailer works under them', async () => {
    const { execFile } = await import('node:child_process');
    const dir = await makeTmpDir();
    // The unit's argv with `once` for `run`: an empty folder, so exit 0.
    const [node, ...args] = serviceArgs({ execPath: process.execPath, script: CLI, dir });
    const once = args.map((a) => (a === 'run' ? 'once' : a));
    expect(once.slice(0, SERVICE_NODE_FLAGS.length)).toEqual(['--max-old-space-size=192', '--single-threaded-gc', '--v8-pool-size=1']);
    const code = await new Promise<number>((resolve) => {
      execFile(node!, once, { timeout: 20_000 }, (err) => resolve(err ? Number((err as { code?: number }).code ?? 1) : 0));
    });
    expect(code).toBe(0);
  });

  it('makes a relative --config absolute and warns when the service would not know the folder', async () => {
    const relative = await runCli(['service', 'print', '--platform', 'linux', '--config', 'conf/mailer.json']);
    expect(relative.code).toBe(0);
    expect(serviceKeys(relative.stdout).ExecStart).toContain(`--config ${path.resolve('conf/mailer.json')}`);
    const bare = await runCli(['service', 'print', '--platform', 'linux']);
    expect(bare.code).toBe(0);
    expect(bare.stderr).toContain('MAILER_DIR');
  });

  it('writes the Windows task as UTF-16 with --out and prints the schtasks line', async () => {
    const dir = await makeTmpDir();
    const out = path.join(dir, 'task.xml');
    const result = await runCli([
      'service', 'print', '--platform', 'windows', '--out', out, '--name', 'Proscai Mailer',
      '--node', 'C:\\Program Files\\nodejs\\node.exe',
      '--script', 'C:\\Program Files\\proscai-mailer\\dist\\main.js',
      '--config', 'C:\\Proscai & Co\\config.json',
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`schtasks /Create /TN "Proscai Mailer" /XML "${out}" /F`);
    const bytes = await fs.readFile(out);
    expect([...bytes.subarray(0, 2)]).toEqual([0xff, 0xfe]);
    const task = new XMLParser({ parseTagValue: false }).parse(bytes.subarray(2).toString('utf16le')).Task;
    expect(task.Actions.Exec.Command).toBe('"C:\\Program Files\\nodejs\\node.exe"');
    expect(task.Actions.Exec.Arguments).toBe(`${SERVICE_NODE_FLAGS.join(' ')} "C:\\Program Files\\proscai-mailer\\dist\\main.js" run --config "C:\\Proscai & Co\\config.json"`);
    expect(task.Triggers.BootTrigger).toBeDefined();
  });

  it('prints the Windows task to the terminal, with a hint on stderr', async () => {
    const result = await runCli(['service', 'print', '--platform', 'windows', '--node', 'C:\\node\\node.exe', '--script', 'C:\\pm\\main.js', '--dir', 'C:\\envio']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`<Arguments>${SERVICE_NODE_FLAGS.join(' ')} C:\\pm\\main.js run --dir C:\\envio</Arguments>`);
    expect(result.stderr).toContain('--out');
  });

  it('exits 2 on a name the service cannot carry, 2 on an unknown platform', async () => {
    const badName = await runCli(['service', 'print', '--platform', 'linux', '--dir', '/srv/x', '--name', 'x;reboot']);
    expect(badName.code).toBe(2);
    expect(badName.stderr).toContain('x;reboot');
    expect(badName.stdout).toBe('');
    const badPlatform = await runCli(['service', 'print', '--platform', 'macos']);
    expect(badPlatform.code).toBe(2);
  });
});

describe('proscai-mailer service install', () => {
  it('writes the unit to --unit-dir and prints the systemctl line, without running it', async () => {
    const unitDir = await makeTmpDir();
    const args = ['service', 'install', '--unit-dir', unitDir, '--name', 'pm-test', '--dir', '/srv/envio mails', '--user', 'mailer'];
    const first = await runCli(args);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const file = path.join(unitDir, 'pm-test.service');
    expect(first.stdout).toContain(file);
    expect(first.stdout).toContain('systemctl daemon-reload && systemctl enable --now pm-test');
    const unit = await fs.readFile(file, 'utf8');
    expect(serviceKeys(unit).ExecStart).toBe(`${process.execPath} ${SERVICE_NODE_FLAGS.join(' ')} ${CLI} run --dir "/srv/envio mails"`);
    expect(serviceKeys(unit).User).toBe('mailer');
    const printed = await runCli(['service', 'print', '--platform', 'linux', '--dir', '/srv/envio mails', '--user', 'mailer']);
    expect(unit).toBe(printed.stdout);

    const again = await runCli([...args, '--language', 'en']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`Replaced ${file}`);
  });

  it('exits 1 and names the file when it cannot be written', async () => {
    const unitDir = path.join(await makeTmpDir(), 'no-such-dir');
    const result = await runCli(['service', 'install', '--unit-dir', unitDir, '--dir', '/srv/x']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(path.join(unitDir, 'proscai-mailer.service'));
  });

  it('refuses Windows (exit 2) and points to service print --out', async () => {
    const unitDir = await makeTmpDir();
    const result = await runCli(['service', 'install', '--platform', 'windows', '--unit-dir', unitDir, '--dir', 'C:\\envio']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--out');
    expect(await fs.readdir(unitDir)).toEqual([]);
  });
});
