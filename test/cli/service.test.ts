import { afterEach, describe, it, expect } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { CLI, runCli } from '../helpers/cli.js';
import { makeTmpDir, removeTmpDirs, underWine } from '../helpers/tmp.js';
import { splitExecStart, splitWindowsArgs } from '../service/command-lines.js';
import { SERVICE_NODE_FLAGS, serviceArgs } from '../../src/service/systemd.js';

afterEach(removeTmpDirs);

/** The platform `service` generates for by default: this machine's. */
const HERE = process.platform === 'win32' ? 'windows' : 'linux';
const OTHER = HERE === 'windows' ? 'linux' : 'windows';

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

/** The `<Exec>` of a task: parsed from its text, or from the UTF-16 file `service print --out` wrote. */
async function taskExec(task: string): Promise<{ Command: string; Arguments: string; WorkingDirectory: string }> {
  const text = task.startsWith('<?xml') ? task : (await fs.readFile(task)).subarray(2).toString('utf16le');
  return new XMLParser({ parseTagValue: false }).parse(text).Task.Actions.Exec;
}

/** The argv a printed service runs: systemd's ExecStart, or the task's Command and Arguments, each split as its reader does. */
async function serviceArgv(printed: string): Promise<string[]> {
  if (!printed.startsWith('<?xml')) return splitExecStart(serviceKeys(printed).ExecStart!);
  const exec = await taskExec(printed);
  return [...splitWindowsArgs(exec.Command), ...splitWindowsArgs(exec.Arguments)];
}

/** stderr of a service generated for the other system without --node and --script: a warning that the paths are this machine's. */
function expectForeignWarning(stderr: string, platform: 'linux' | 'windows'): void {
  if (platform === HERE) expect(stderr).toBe('');
  else expect(stderr).toContain('--node y --script');
}

describe('proscai-mailer service print', () => {
  it('prints a systemd unit that runs this installation with the configuration file', async () => {
    // Absolute in systemd's terms on every system (a unit generated on Windows is for a Linux machine).
    const config = '/etc/proscai mailer/my cfg & co.json';
    const result = await runCli(['service', 'print', '--platform', 'linux', '--config', config]);
    expectForeignWarning(result.stderr, 'linux');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^\[Unit\]$/m);
    expect(result.stdout).toMatch(/^WantedBy=multi-user\.target$/m);
    const keys = serviceKeys(result.stdout);
    expect(splitExecStart(keys.ExecStart!)).toEqual([process.execPath, ...SERVICE_NODE_FLAGS, CLI, 'run', '--config', config]);
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

  it('makes a relative --config absolute for this machine, refuses it for the other system, and warns when the service would not know the folder', async () => {
    const relative = await runCli(['service', 'print', '--config', 'conf/mailer.json']);
    expect(relative.code).toBe(0);
    expect((await serviceArgv(relative.stdout)).slice(-2)).toEqual(['--config', path.resolve('conf/mailer.json')]);
    // This machine's current folder means nothing on the other system.
    const foreign = await runCli(['service', 'print', '--platform', OTHER, '--config', 'conf/mailer.json']);
    expect(foreign.code).toBe(2);
    expect(foreign.stderr).toContain('«conf/mailer.json» es una ruta relativa');
    expect(foreign.stdout).toBe('');
    const bare = await runCli(['service', 'print']);
    expect(bare.code).toBe(0);
    expect(bare.stderr).toContain('MAILER_DIR');
  });

  it("prints the Windows task that runs this installation's node with its flags, in the program's folder", async () => {
    const dir = await makeTmpDir();
    const out = path.join(dir, 'task.xml');
    // Absolute in Windows' terms on every system (a task generated on Linux is for a Windows machine).
    const config = HERE === 'windows' ? path.join(dir, 'my cfg & co.json') : 'C:\\ProgramData\\proscai mailer\\my cfg & co.json';
    const result = await runCli(['service', 'print', '--platform', 'windows', '--out', out, '--config', config]);
    expectForeignWarning(result.stderr, 'windows');
    expect(result.code).toBe(0);
    const exec = await taskExec(out);
    expect(splitWindowsArgs(exec.Command)).toEqual([process.execPath]);
    expect(splitWindowsArgs(exec.Arguments)).toEqual([...SERVICE_NODE_FLAGS, CLI, 'run', '--config', config]);
    expect(exec.WorkingDirectory).toBe(path.dirname(CLI));
  });

  it.runIf(process.platform === 'win32')(
    'the task runs as written: its command line, started as Task Scheduler starts it, runs the mailer with its flags (Windows: the command line is parsed by node.exe itself)',
    async () => {
      const dir = await makeTmpDir();
      const orders = path.join(dir, 'Envío de órdenes & co');
      await fs.mkdir(orders);
      const out = path.join(dir, 'task.xml');
      expect((await runCli(['service', 'print', '--platform', 'windows', '--out', out, '--dir', orders])).code).toBe(0);
      const exec = await taskExec(out);
      // `once` for `run`: one pass over the empty folder, then exit 0.
      const args = exec.Arguments.replace(/ run /, ' once ');
      expect(args).not.toBe(exec.Arguments);
      // CreateProcess gets "<Command> <Arguments>" verbatim, in <WorkingDirectory>, as Task Scheduler does.
      const result = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
        const child = spawn(process.execPath, [args], { argv0: exec.Command, windowsVerbatimArguments: true, cwd: exec.WorkingDirectory, stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('error', reject);
        child.on('close', (code) => resolve({ code, stderr }));
      });
      expect(result.code).toBe(0);
      // The folder's name arrived intact (spaces, accents, &): the mailer names it, and worked in it.
      expect(result.stderr).toContain(`revisa una vez las órdenes de ${orders}.`);
      expect(existsSync(path.join(orders, '.proscai-mailer'))).toBe(true);
    },
    60_000,
  );

  it.runIf(underWine)(
    "the task imports into Task Scheduler as written: the printed schtasks /Create /XML line is run and the task is registered; a broken file is refused (Windows: the Wine lane, where creating a task needs no administrator)",
    async () => {
      const dir = await makeTmpDir();
      const out = path.join(dir, 'task.xml');
      const name = `proscai-mailer-test-${process.pid}`;
      const printed = await runCli(['service', 'print', '--platform', 'windows', '--out', out, '--name', name, '--dir', path.join(dir, 'Envío de órdenes')]);
      expect(printed.code).toBe(0);
      // The very command the mailer tells the operator to run.
      const line = printed.stdout.split(/\r?\n/).find((l) => l.startsWith('schtasks /Create'));
      expect(line).toBe(`schtasks /Create /TN "${name}" /XML "${out}" /F`);
      const schtasks = (args: string[]) =>
        new Promise<number | null>((resolve, reject) => {
          const child = spawn('schtasks.exe', args, { stdio: 'ignore' });
          child.on('error', reject);
          child.on('close', resolve);
        });
      try {
        expect(await schtasks(['/Create', '/TN', name, '/XML', out, '/F'])).toBe(0);
        expect(await schtasks(['/Query', '/TN', name])).toBe(0);
        const broken = path.join(dir, 'broken.xml');
        await fs.writeFile(broken, '<Task/>');
        expect(await schtasks(['/Create', '/TN', `${name}-broken`, '/XML', broken, '/F'])).not.toBe(0);
      } finally {
        await schtasks(['/Delete', '/TN', name, '/F']);
      }
    },
    60_000,
  );

  it('the documented `service print --env-file FILE` works through the installed command, also when FILE cannot be read here (Node 20 would take --env-file for itself and exit 9)', async () => {
    const dir = await makeTmpDir();
    // The usual case: the file holds passwords and is readable by root only, or is written after the unit.
    const envFile = path.join(dir, 'not-readable-here', 'env');
    const args = ['service', 'print', '--platform', 'linux', ...(HERE === 'linux' ? ['--env-file', envFile] : ['--env-file', '/etc/proscai-mailer/env', '--node', '/usr/bin/node', '--script', '/opt/pm/dist/main.js'])];
    // The command as installed: POSIX runs dist/main.js through its shebang; npm's Windows shim runs node with the shebang's arguments.
    const shebang = (await fs.readFile(CLI, 'utf8')).split('\n')[0]!;
    expect(shebang).toMatch(/^#!\/usr\/bin\/env -S node( |$)/);
    const nodeArgs = shebang.replace(/^#!\/usr\/bin\/env -S node ?/, '').split(' ').filter(Boolean);
    const [command, argv] = HERE === 'linux' ? [CLI, args] : [process.execPath, [...nodeArgs, CLI, ...args]];
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
      let [stdout, stderr] = ['', ''];
      child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
    expect(result.stderr).not.toContain('not found');
    expect(result.code).toBe(0);
    expect(serviceKeys(result.stdout).EnvironmentFile).toBe(HERE === 'linux' ? envFile : '/etc/proscai-mailer/env');
  });

  it.runIf(process.platform !== 'win32')(
    "the unit starts as written: its ExecStart, run as systemd runs it with the variables of its EnvironmentFile, watches the folder the file names (POSIX: systemd units run on Linux; the Windows task's command line is run in the test above)",
    async () => {
      const dir = await makeTmpDir();
      const orders = path.join(dir, 'órdenes de envío');
      await fs.mkdir(orders);
      const envFile = path.join(dir, 'env');
      await fs.writeFile(envFile, `MAILER_DIR=${orders}\n`);
      const printed = await runCli(['service', 'print', '--env-file', envFile]);
      expect(printed.code).toBe(0);
      const keys = serviceKeys(printed.stdout);
      expect(keys.EnvironmentFile).toBe(envFile);
      const [node, ...args] = splitExecStart(keys.ExecStart!);
      // EnvironmentFile=: KEY=VALUE lines added to the service's environment.
      const fromFile = Object.fromEntries((await fs.readFile(envFile, 'utf8')).split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
      const child = spawn(node!, args, { env: { PATH: process.env.PATH, ...fromFile }, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
      const deadline = Date.now() + 15_000;
      while (!stderr.includes(`vigila ${orders} (`) && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(stderr).toContain(`vigila ${orders} (`);
      child.kill('SIGTERM'); // KillSignal=SIGTERM
      expect(await exited).toBe(0);
      expect(existsSync(path.join(orders, '.proscai-mailer'))).toBe(true);
    },
    30_000,
  );

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
    expect(task.Actions.Exec.WorkingDirectory).toBe('C:\\Program Files\\proscai-mailer\\dist');
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
    const args = ['service', 'install', '--platform', 'linux', '--unit-dir', unitDir, '--name', 'pm-test', '--dir', '/srv/envio mails', '--user', 'mailer'];
    const first = await runCli(args);
    expectForeignWarning(first.stderr, 'linux');
    expect(first.code).toBe(0);
    const file = path.join(unitDir, 'pm-test.service');
    expect(first.stdout).toContain(file);
    expect(first.stdout).toContain('systemctl daemon-reload && systemctl enable --now pm-test');
    const unit = await fs.readFile(file, 'utf8');
    expect(splitExecStart(serviceKeys(unit).ExecStart!)).toEqual([process.execPath, ...SERVICE_NODE_FLAGS, CLI, 'run', '--dir', '/srv/envio mails']);
    expect(serviceKeys(unit).User).toBe('mailer');
    const printed = await runCli(['service', 'print', '--platform', 'linux', '--dir', '/srv/envio mails', '--user', 'mailer']);
    expect(unit).toBe(printed.stdout);

    const again = await runCli([...args, '--language', 'en']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`Replaced ${file}`);
  });

  it('exits 1 and names the file when it cannot be written', async () => {
    const unitDir = path.join(await makeTmpDir(), 'no-such-dir');
    const result = await runCli(['service', 'install', '--platform', 'linux', '--unit-dir', unitDir, '--dir', '/srv/x']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(path.join(unitDir, 'proscai-mailer.service'));
  });

  it("refuses Windows (exit 2), also as a Windows machine's default, and points to service print --out", async () => {
    const unitDir = await makeTmpDir();
    const result = await runCli(['service', 'install', '--platform', 'windows', '--unit-dir', unitDir, '--dir', 'C:\\envio']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--out');
    expect(await fs.readdir(unitDir)).toEqual([]);
    // Without --platform the service is for this machine: a unit on Linux, a refusal on Windows.
    const native = await runCli(['service', 'install', '--unit-dir', unitDir, '--dir', '/srv/x']);
    if (HERE === 'windows') {
      expect(native.code).toBe(2);
      expect(native.stderr).toContain('--out');
      expect(await fs.readdir(unitDir)).toEqual([]);
    } else {
      expect(native.code).toBe(0);
      expect(await fs.readdir(unitDir)).toEqual(['proscai-mailer.service']);
    }
  });
});
