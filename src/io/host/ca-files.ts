/**
 * Checks the `ca` files of the configuration's SMTP profiles (top-level
 * `smtp`, each company's, `notify`'s) when it is loaded, so that a missing,
 * unreadable or non-PEM file stops the mailer at start (CONFIG_INVALID, exit
 * status 2) with a sentence naming the key and the file, instead of failing
 * every order of that company later.
 *
 * Guarantee: resolves when every `ca` holds at least one certificate that
 * node's X.509 parser accepts; else rejects with CONFIG_INVALID.
 */
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';

import type { Config, SmtpProfile } from '../../config/types.js';
import { ErrorCodes, MailerError } from '../../errors.js';

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Rejects with CONFIG_INVALID naming the first `ca` file that is not a readable PEM certificate. */
export async function checkCaFiles(config: Config): Promise<void> {
  // Every folder of a `folders` list too (config/folders.ts): its own companies, smtp and notify.
  const sources = config.folders === undefined ? [['', config] as const] : [['', config] as const, ...config.folders.map((folder, i) => [`folders[${i}].`, folder] as const)];
  const checked = new Set<string>();
  for (const [at, source] of sources) {
    const profiles: [string, SmtpProfile | undefined][] = [
      ['smtp', source.smtp],
      ...Object.entries(source.companies).map(([name, company]): [string, SmtpProfile | undefined] => [`companies.${name}.smtp`, company.smtp]),
      ['notify.smtp', source.notify?.smtp],
    ];
    for (const [key, smtp] of profiles) {
      if (smtp?.ca === undefined || checked.has(smtp.ca)) continue;
      checked.add(smtp.ca);
      await checkCaFile(`${at}${key}.ca`, smtp.ca);
    }
  }
}

async function checkCaFile(key: string, file: string): Promise<void> {
  const fail = (why: string, cause?: unknown): never => {
    throw new MailerError(ErrorCodes.CONFIG_INVALID, `${key}: the certificate authority file ${file} ${why}`, { field: key, value: file, ...(cause !== undefined && { cause }) });
  };
  let text = '';
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    fail(code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a folder, not a file' : `cannot be read (${code ?? String(err)})`, err);
  }
  const blocks = text.match(PEM_BLOCK) ?? [];
  if (blocks.length === 0) fail('holds no PEM certificate (a text file with "-----BEGIN CERTIFICATE-----"; a .cer/.der file must be converted to PEM first)');
  for (const block of blocks) {
    try {
      new X509Certificate(block);
    } catch (err) {
      fail(`holds a certificate that cannot be read (${(err as Error).message})`, err);
    }
  }
}
