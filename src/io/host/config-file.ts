/**
 * Reads the JSON configuration file (the only I/O of configuration loading)
 * and, with `loadConfig`, hands it to the pure `buildConfig`.
 *
 * Guarantees: every failure is a CONFIG_INVALID `MailerError` whose message
 * names the file; a syntax error also names the line and column, so the
 * operator can fix it without a JSON tool.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCodes, MailerError } from '../../errors.js';
import { buildConfig, type Flags } from '../../config/load.js';
import type { Config } from '../../config/types.js';
import { checkCaFiles } from './ca-files.js';
import { loadDkimKeys } from './dkim-keys.js';
import { checkEnvelopes } from './envelope.js';

/** Parses the file as JSON (a UTF-8 byte-order mark is accepted). */
export async function readConfigFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a folder, not a file' : `cannot be read (${code ?? String(err)})`;
    throw new MailerError(ErrorCodes.CONFIG_INVALID, `configuration file ${file} ${why}`, { field: 'config', value: file, cause: err });
  }
  text = text.replace(/^\uFEFF/, '');
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    const where = locate(text, (err as Error).message);
    throw new MailerError(
      ErrorCodes.CONFIG_INVALID,
      `configuration file ${file} is not valid JSON${where}: ${(err as Error).message}`,
      { field: 'config', value: file, cause: err },
    );
  }
}

/** ` at line 3, column 7` from V8's `… at position 42` (or its own `(line 3 column 7)`). */
function locate(text: string, message: string): string {
  const lineCol = /line (\d+) column (\d+)/.exec(message);
  if (lineCol) return ` at line ${lineCol[1]}, column ${lineCol[2]}`;
  const pos = /position (\d+)/.exec(message);
  const offset = pos ? Number(pos[1]) : firstJsonError(text);
  const before = text.slice(0, offset).split(/\r\n|\r|\n/);
  return ` at line ${before.length}, column ${before[before.length - 1].length + 1}`;
}

/**
 * The whole load: reads `--config` when given, then merges flags, environment
 * and file. Relative paths in the file are taken from the file's folder.
 */
export async function loadConfig(input: {
  flags: Partial<Flags>;
  env: Record<string, string | undefined>;
  cwd?: string;
}): Promise<Config> {
  const cwd = input.cwd ?? process.cwd();
  const fileName = input.flags.config === undefined ? undefined : path.resolve(cwd, input.flags.config);
  const file = fileName === undefined ? undefined : await readConfigFile(fileName);
  const config = buildConfig({ flags: input.flags, env: input.env, cwd, ...(fileName !== undefined && { file, fileName }) });
  await checkCaFiles(config);
  await checkEnvelopes(config);
  return loadDkimKeys(config);
}

/**
 * Offset of the first syntax error, for messages where V8 gives no position
 * (Node 20: `Unexpected token '}', … is not valid JSON`). A small
 * recursive-descent scan that only runs after JSON.parse has already failed.
 */
export function firstJsonError(text: string): number {
  let i = 0;
  const ws = (): void => {
    while (i < text.length && ' \t\r\n'.includes(text[i])) i++;
  };
  const fail = (): never => {
    throw i;
  };
  const expect = (ch: string): void => {
    if (text[i] !== ch) fail();
    i++;
  };
  const string = (): void => {
    expect('"');
    while (i < text.length && text[i] !== '"') {
      if (text.charCodeAt(i) < 0x20) fail();
      if (text[i] === '\\') {
        i++;
        if (text[i] === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) fail();
          i += 4;
        } else if (!'"\\/bfnrt'.includes(text[i] ?? 'x')) fail();
      }
      i++;
    }
    expect('"');
  };
  const value = (): void => {
    ws();
    const ch = text[i];
    if (ch === '{') {
      i++;
      ws();
      if (text[i] === '}') return void i++;
      for (;;) {
        ws();
        string();
        ws();
        expect(':');
        value();
        ws();
        if (text[i] === ',') i++;
        else return expect('}');
      }
    }
    if (ch === '[') {
      i++;
      ws();
      if (text[i] === ']') return void i++;
      for (;;) {
        value();
        ws();
        if (text[i] === ',') i++;
        else return expect(']');
      }
    }
    if (ch === '"') return string();
    const literal = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(i));
    if (literal === null) fail();
    i += literal![0].length;
  };
  try {
    value();
    ws();
    if (i < text.length) fail();
  } catch (at) {
    if (typeof at === 'number') return Math.min(at, text.length);
    throw at;
  }
  return text.length;
}
