/**
 * `service print --ui [addr]`: the service definitions turn the status
 * window on by passing `--ui HOST:PORT` to their `run` (issue 16, item 1).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { makeTmpDir, removeTmpDirs } from '../helpers/tmp.js';
import { splitExecStart, splitWindowsArgs } from '../service/command-lines.js';

afterEach(removeTmpDirs);

const HERE = process.platform === 'win32' ? 'windows' : 'linux';
/** Absolute on the machine the service is generated for. */
const CONFIG = { linux: '/etc/proscai-mailer/config.json', windows: 'C:\\ProgramData\\proscai-mailer\\config.json' } as const;

/** The argv the printed service runs after the program: what its `run` receives. */
async function runArgs(platform: 'linux' | 'windows', extra: string[]): Promise<string[]> {
  const dir = await makeTmpDir();
  const out = path.join(dir, 'service.out');
  const args = ['service', 'print', '--platform', platform, '--config', CONFIG[platform], '--out', out, ...extra];
  if (platform !== HERE) args.push('--node', platform === 'windows' ? 'C:\\node\\node.exe' : '/usr/bin/node', '--script', platform === 'windows' ? 'C:\\app\\dist\\main.js' : '/opt/app/dist/main.js');
  const result = await runCli(args);
  expect(result.code, result.stderr).toBe(0);
  if (platform === 'linux') {
    const unit = await fs.readFile(out, 'utf8');
    const line = unit.split('\n').find((l) => l.startsWith('ExecStart='))!;
    const argv = splitExecStart(line.slice('ExecStart='.length));
    return argv.slice(argv.indexOf('run'));
  }
  const xml = (await fs.readFile(out)).subarray(2).toString('utf16le');
  const argv = splitWindowsArgs(new XMLParser({ parseTagValue: false }).parse(xml).Task.Actions.Exec.Arguments);
  return argv.slice(argv.indexOf('run'));
}

describe('service print --ui', () => {
  for (const platform of ['linux', 'windows'] as const) {
    it(`${platform}: the service's run serves the window at the address given, the default without one`, async () => {
      expect(await runArgs(platform, ['--ui'])).toEqual(['run', '--config', CONFIG[platform], '--ui', '127.0.0.1:8025']);
      expect(await runArgs(platform, ['--ui', '0.0.0.0:9000'])).toEqual(['run', '--config', CONFIG[platform], '--ui', '0.0.0.0:9000']);
      expect(await runArgs(platform, ['--ui', '8030'])).toEqual(['run', '--config', CONFIG[platform], '--ui', '127.0.0.1:8030']);
      expect(await runArgs(platform, [])).toEqual(['run', '--config', CONFIG[platform]]);
    });
  }

  it('refuses an address that is not PORT or HOST:PORT (exit 2, in the language asked)', async () => {
    const result = await runCli(['service', 'print', '--config', CONFIG[HERE], '--ui', 'host:port:x', '--language', 'en']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--ui must be PORT or HOST:PORT');
  });
});
