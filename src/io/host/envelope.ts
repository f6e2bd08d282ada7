/**
 * Reads a company's HTML envelope (`companies.<Empresa>.htmlEnvelope`,
 * order/envelope.ts): at send time for each HTML order, so an office can
 * change the frame without restarting the mailer, and at start to check it.
 *
 * Guarantees:
 * - `readEnvelope` resolves with the envelope's text (UTF-8, or windows-1252
 *   when the bytes are not UTF-8: Notepad's "ANSI"; a byte-order mark
 *   dropped) holding the marker exactly once, or rejects with a MailerError
 *   for THAT order: ENVELOPE_MISSING (no such file) or ENVELOPE_INVALID (a
 *   folder, unreadable, no marker or several), naming the file and the key;
 * - `checkEnvelopes` rejects with CONFIG_INVALID when an envelope that
 *   exists has no marker or several (a mistake to fix before anything is
 *   sent); a missing or unreadable one is left to fail its orders, so one
 *   company's missing file never stops the other companies' mail.
 */
import { readFile } from 'node:fs/promises';

import iconv from 'iconv-lite';

import type { Config } from '../../config/types.js';
import { foldersOf } from '../../config/folders.js';
import { configError } from '../../config/schema.js';
import { ErrorCodes, MailerError } from '../../errors.js';
import { ENVELOPE_MARKER, markerCount } from '../../order/envelope.js';

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** The file's text: UTF-8 when its bytes are, else windows-1252; without a byte-order mark. */
function decode(bytes: Buffer): string {
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    text = iconv.decode(bytes, 'win1252');
  }
  return text.replace(/^\uFEFF/, '');
}

/** Why an envelope's text cannot be used (`no-marker`, `many-markers`), or undefined when it can. */
function markerProblem(text: string): 'no-marker' | 'many-markers' | undefined {
  const count = markerCount(text);
  return count === 0 ? 'no-marker' : count > 1 ? 'many-markers' : undefined;
}

/**
 * The envelope in `file`, named `key` in the configuration
 * (`companies.ACME.htmlEnvelope`); rejects as the module comment says.
 */
export async function readEnvelope(file: string, key: string): Promise<string> {
  const fail = (code: 'ENVELOPE_MISSING' | 'ENVELOPE_INVALID', why: string, cause?: unknown): never => {
    throw new MailerError(ErrorCodes[code], `${key}: the HTML envelope ${file} ${why}`, {
      field: key,
      value: code === 'ENVELOPE_MISSING' ? file : why,
      path: file,
      ...(cause !== undefined && { cause }),
    });
  };
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return fail('ENVELOPE_MISSING', 'does not exist', err);
    return fail('ENVELOPE_INVALID', code === 'EISDIR' ? 'not-a-file' : (code ?? String(err)), err);
  }
  const text = decode(bytes);
  const problem = markerProblem(text);
  return problem === undefined ? text : fail('ENVELOPE_INVALID', problem);
}

/** The `htmlEnvelope` of every company of every folder, with its key. */
function envelopesOf(config: Config): { key: string; file: string }[] {
  const seen = new Set<string>();
  const out: { key: string; file: string }[] = [];
  for (const folder of [config, ...foldersOf(config)]) {
    for (const [name, company] of Object.entries(folder.companies)) {
      const file = company.htmlEnvelope;
      if (file === undefined || seen.has(file)) continue;
      seen.add(file);
      out.push({ key: `companies.${name}.htmlEnvelope`, file });
    }
  }
  return out;
}

/** Rejects with CONFIG_INVALID naming the first envelope that exists but has no marker or several. */
export async function checkEnvelopes(config: Config): Promise<void> {
  for (const { key, file } of envelopesOf(config)) {
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch {
      continue; // missing or unreadable: each of its orders fails with ENVELOPE_MISSING / ENVELOPE_INVALID
    }
    const problem = markerProblem(decode(bytes));
    if (problem === 'no-marker') configError(key, `the HTML envelope ${file} has no ${ENVELOPE_MARKER} marker where the body goes`);
    if (problem === 'many-markers') configError(key, `the HTML envelope ${file} has the ${ENVELOPE_MARKER} marker more than once (it must appear exactly once)`);
  }
}
