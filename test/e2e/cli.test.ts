/**
 * The command line as a tool, end to end (the real, built CLI as a child
 * process): `--version`; every command's `--help` and commander's own errors
 * in Spanish by default and in English with `--language en` (or `language` in
 * the `--config` file); the common options accepted by every command that
 * reads the folder or the configuration; `once` neither announcing a watch
 * nor taking `--poll`.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { makeTmpDir, removeTmpDirs } from '../helpers/tmp.js';

afterAll(removeTmpDirs);

/** Tests that start the CLI a few dozen times: each start takes about a second under Wine (the Windows lane). */
const MANY_STARTS_MS = 180_000;

/** Every command, as typed after `proscai-mailer`. */
const COMMANDS: string[][] = [
  [],
  ['run'],
  ['once'],
  ['status'],
  ['trace'],
  ['acuse'],
  ['check'],
  ['retry'],
  ['send-test'],
  ['config'],
  ['service'],
  ['service', 'print'],
  ['service', 'install'],
];

/** The commands that read the order folder or the configuration: each takes the common options. */
const READING: string[][] = [['run'], ['once'], ['status'], ['trace'], ['acuse'], ['check'], ['retry'], ['send-test'], ['config'], ['service', 'print'], ['service', 'install']];
const COMMON = ['--dir', '--attachments', '--error-mail', '--config', '--language'];

/** Words that give English away in Spanish output: commander's headings and notes, and the texts' own words. */
const ENGLISH = ['Usage:', 'Options:', 'Commands:', 'Arguments:', '[options]', '[command]', 'display help', 'default:', 'choices:', 'error: unknown', 'missing required', 'too many arguments', 'Allowed choices', 'Did you mean', 'add --help', 'folder', '<file>', 'order ', ' the '];
/** And Spanish in English output. */
const SPANISH = ['Uso:', 'Opciones:', 'Comandos:', 'Argumentos:', '[opciones]', '[comando]', 'muestra la ayuda', 'predeterminad', 'valores:', 'desconocid', 'falta ', 'añada --help', 'carpeta', '<archivo>', 'orden', ' la ', 'por omisión'];

function expectNone(text: string, words: string[], what: string): void {
  for (const word of words) expect(text.includes(word), `${what} contains «${word}»:\n${text}`).toBe(false);
}

describe('the command line', () => {
  it('--version and -V print the package version and exit 0', async () => {
    const { version } = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const result = await runCli([flag]);
      expect({ flag, code: result.code, stdout: result.stdout, stderr: result.stderr }).toEqual({ flag, code: 0, stdout: `${version}\n`, stderr: '' });
    }
  });

  it("every command's --help is Spanish by default and English with --language en", async () => {
    for (const command of COMMANDS) {
      const [es, en] = await Promise.all([runCli([...command, '--help']), runCli([...command, '--help', '--language', 'en'])]);
      const name = `«${['proscai-mailer', ...command].join(' ')} --help»`;
      expect(es.code, name).toBe(0);
      expect(es.stdout).toMatch(/^Uso: proscai-mailer/);
      expect(es.stdout).toContain('Opciones:');
      expect(es.stdout).toMatch(/-h, --help +muestra la ayuda del comando/);
      expectNone(es.stdout, ENGLISH, `${name} in Spanish`);

      expect(en.code, name).toBe(0);
      expect(en.stdout).toMatch(/^Usage: proscai-mailer/);
      expect(en.stdout).toContain('Options:');
      expectNone(en.stdout, SPANISH, `${name} in English`);
    }
    // The main help lists the commands under its heading, in each language.
    expect((await runCli(['--help'])).stdout).toMatch(/^Comandos:\n {2}run \[opciones\] +vigila la carpeta de órdenes/m);
    expect((await runCli(['help', 'once', '--language', 'en'])).stdout).toMatch(/^Usage: proscai-mailer once \[options\]/);
  }, MANY_STARTS_MS);

  it('writes Mexican Spanish: "predeterminado", never "por omisión", anywhere in the program or its documents', async () => {
    const root = fileURLToPath(new URL('../../', import.meta.url));
    const files = [
      ...(await readdir(path.join(root, 'src'), { recursive: true })).filter((f) => f.endsWith('.ts')).map((f) => path.join(root, 'src', f)),
      ...(await readdir(path.join(root, 'docs'))).filter((f) => f.endsWith('.md')).map((f) => path.join(root, 'docs', f)),
      path.join(root, 'README.md'),
    ];
    for (const file of files) expect(await readFile(file, 'utf8'), file).not.toMatch(/por omisi[oó]n/i);
  });

  it("takes the language of the help from the --config file's `language` when --language is not given", async () => {
    const dir = await makeTmpDir('proscai-cli-');
    const config = path.join(dir, 'mailer.json');
    await writeFile(config, JSON.stringify({ dir, language: 'en' }));
    const en = await runCli(['once', '--config', config, '--help']);
    expect(en.stdout).toMatch(/^Usage: proscai-mailer once \[options\]/);
    const es = await runCli(['once', '--config', config, '--language', 'es', '--help']);
    expect(es.stdout).toMatch(/^Uso: proscai-mailer once \[opciones\]/);
  });

  it("commander's own errors are Spanish by default and English with --language en, with exit status 2", async () => {
    const cases: { args: string[]; es: string; en: string }[] = [
      { args: ['once', '--bogus'], es: 'error: opción desconocida «--bogus»', en: "error: unknown option '--bogus'" },
      { args: ['trace'], es: 'error: falta el argumento obligatorio «id»', en: "error: missing required argument 'id'" },
      { args: ['send-test'], es: 'error: falta la opción obligatoria «--to <dirección>»', en: "error: required option '--to <address>' not specified" },
      { args: ['once', '--dir'], es: 'error: falta el valor de la opción «--dir <carpeta>»', en: "error: option '--dir <folder>' argument missing" },
      { args: ['retry', 'a', 'b'], es: 'error: demasiados argumentos para «retry»: se esperaban 1 y se recibieron 2.', en: "error: too many arguments for 'retry'. Expected 1 argument but got 2." },
      { args: ['bogus'], es: 'error: comando desconocido «bogus»', en: "error: unknown command 'bogus'" },
    ];
    for (const { args, es, en } of cases) {
      const spanish = await runCli(args);
      expect({ args, code: spanish.code }).toEqual({ args, code: 2 });
      expect(spanish.stderr).toBe(`${es}\n(añada --help para ver las opciones)\n`);
      expectNone(spanish.stderr, ENGLISH, `${args.join(' ')} in Spanish`);
      // After the command name: a trailing one would be the value `--dir` lacks.
      const english = await runCli([args[0]!, '--language', 'en', ...args.slice(1)]);
      expect({ args, code: english.code }).toEqual({ args, code: 2 });
      expect(english.stderr).toBe(`${en}\n(add --help for additional information)\n`);
      expectNone(english.stderr, SPANISH, `${args.join(' ')} in English`);
    }
    // A value outside the choices, in each language (the language itself cannot be read from it: Spanish).
    const choice = await runCli(['status', '--language', 'fr']);
    expect(choice.code).toBe(2);
    expect(choice.stderr).toContain('error: el valor «fr» de la opción «--language <idioma>» no es válido. Valores permitidos: es, en.');
    const platform = await runCli(['service', 'print', '--platform', 'mac', '--language', 'en']);
    expect(platform.stderr).toContain("error: option '--platform <platform>' argument 'mac' is invalid. Allowed choices are linux, windows.");
  }, MANY_STARTS_MS);

  it('configuration errors are Spanish by default and English with --language en, naming the key and the file', async () => {
    const dir = await makeTmpDir('proscai-cli-');
    const config = path.join(dir, 'mailer.json');
    await writeFile(config, JSON.stringify({ dir, polll: 5 }));
    const cases: { args: string[]; es: string; en: string }[] = [
      { args: ['once', '--config', config], es: `La configuración no es válida: clave desconocida "polll" (¿quiso decir "poll"?) (en ${config})`, en: `The configuration is invalid: unknown key "polll" (did you mean "poll"?) (in ${config})` },
      { args: ['status'], es: 'La configuración no es válida: dir: falta la carpeta de órdenes: indíquela con --dir, MAILER_DIR o "dir" en el archivo de configuración', en: 'The configuration is invalid: dir: the order folder is required: give --dir, MAILER_DIR or "dir" in the configuration file' },
      { args: ['config', '--dir', dir, '--poll', 'x'], es: 'La configuración no es válida: --poll: debe ser un número entero de segundos ≥ 1', en: 'The configuration is invalid: --poll: must be a whole number of seconds ≥ 1' },
      { args: ['trace', '1', '--config', path.join(dir, 'missing.json')], es: `La configuración no es válida: el archivo de configuración ${path.join(dir, 'missing.json')} no existe`, en: `The configuration is invalid: configuration file ${path.join(dir, 'missing.json')} does not exist` },
    ];
    for (const { args, es, en } of cases) {
      const spanish = await runCli(args);
      expect({ args, code: spanish.code, stderr: spanish.stderr }).toEqual({ args, code: 2, stderr: `${es}\n` });
      const english = await runCli([...args, '--language', 'en']);
      expect({ args, code: english.code, stderr: english.stderr }).toEqual({ args, code: 2, stderr: `${en}\n` });
    }
  }, MANY_STARTS_MS);

  it('every command that reads the folder or the configuration takes the common options, so one wrapper serves them all', async () => {
    for (const command of READING) {
      const help = (await runCli([...command, '--help', '--language', 'en'])).stdout;
      for (const option of COMMON) expect(help, `${command.join(' ')} ${option}`).toMatch(new RegExp(`^ {2}${option} `, 'm'));
    }
    // They take effect: the configuration `run` would use, with the same options a wrapper passes to every command.
    const dir = await makeTmpDir('proscai-cli-');
    const attachments = await makeTmpDir('proscai-att-');
    const config = path.join(dir, 'mailer.json');
    await writeFile(config, JSON.stringify({ language: 'es', poll: 60 }));
    const common = ['--dir', dir, '--attachments', attachments, '--error-mail', 'sistemas@acme.example', '--config', config, '--language', 'en'];
    const shown = await runCli(['config', ...common]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(`attachments = ${attachments}`);
    expect(shown.stdout).toContain('sistemas@acme.example');
    expect(shown.stdout).toContain('language = en');
    expect(shown.stdout).toContain('poll = 60');
    const status = await runCli(['status', ...common]);
    expect(status.stderr).not.toMatch(/unknown option|opción desconocida/);
    const retry = await runCli(['retry', '--failed', ...common]);
    expect(retry.stderr).not.toMatch(/unknown option|opción desconocida/);
    const once = await runCli(['once', ...common]);
    expect(once.code).toBe(0);
    const printed = await runCli(['service', 'print', '--platform', 'linux', ...common.map((a) => (a === dir || a === attachments || a === config ? `/srv${a.replace(/\\/g, '/').replace(/^[A-Za-z]:/, '')}` : a))]);
    expect(printed.code).toBe(0);
    // The service runs with the same options.
    expect(printed.stdout).toMatch(/^ExecStart=.* run --config \S+ --dir \S+ --attachments \S+ --error-mail sistemas@acme\.example --language en$/m);
  }, MANY_STARTS_MS);

  it('once announces one pass, not a watch, and refuses --poll; run keeps --poll', async () => {
    const dir = await makeTmpDir('proscai-cli-');
    const once = await runCli(['once', '--dir', dir]);
    expect(once.code).toBe(0);
    expect(once.stderr).toContain(`proscai-mailer revisa una vez las órdenes de ${dir}.`);
    expect(once.stderr).not.toMatch(/vigila|revisión completa/);
    const en = await runCli(['once', '--dir', dir, '--language', 'en']);
    expect(en.stderr).toContain(`proscai-mailer makes one pass over the orders in ${dir}.`);
    expect(en.stderr).not.toMatch(/watching|rescan/);
    const poll = await runCli(['once', '--dir', dir, '--poll', '5']);
    expect(poll.code).toBe(2);
    expect(poll.stderr).toContain('error: opción desconocida «--poll»');
    expect((await runCli(['once', '--help'])).stdout).not.toContain('--poll');
    expect((await runCli(['run', '--help'])).stdout).toContain('--poll <segundos>');
  }, MANY_STARTS_MS);
});
