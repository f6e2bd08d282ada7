/**
 * Loads the companies' DKIM keys (`companies.<Empresa>.dkim`) when the
 * configuration is loaded: reads each `privateKeyFile` and checks every key,
 * from a file or from `privateKeyEnv`, so that a key nodemailer could not
 * sign with stops the mailer at start (CONFIG_INVALID, exit status 2)
 * instead of sending unsigned mail: nodemailer's signer sends a message
 * unsigned, silently, when its key does not work.
 *
 * Guarantees: resolves with the configuration whose every DKIM profile holds
 * an unencrypted RSA private key of at least 1024 bits in `privateKey`; else
 * rejects with CONFIG_INVALID naming the company's key and the file or the
 * variable, never quoting the key.
 */
import { createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';

import { dkimEntriesOf, withDkimKeys, type DkimEntry } from '../../config/dkim.js';
import { configError } from '../../config/schema.js';
import type { Config } from '../../config/types.js';

/** Below this, receivers ignore the signature (RFC 8301: at least 1024, 2048 recommended). */
const MIN_RSA_BITS = 1024;

/** An encrypted PKCS#8 key, or a traditional one with OpenSSL's encryption header (Node words the failure differently by version). */
const ENCRYPTED = /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type:\s*4,\s*ENCRYPTED/;

/** Why `pem` cannot sign (in the words of a CONFIG_INVALID message), or undefined when it can. */
export function keyProblem(pem: string): string | undefined {
  let key;
  try {
    key = createPrivateKey(pem);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_MISSING_PASSPHRASE' || ENCRYPTED.test(pem)) return 'is protected with a passphrase; save the key without one (openssl rsa -in key.pem -out key-open.pem)';
    return 'does not hold a PEM private key ("-----BEGIN PRIVATE KEY-----" or "-----BEGIN RSA PRIVATE KEY-----")';
  }
  if (key.asymmetricKeyType !== 'rsa') return `holds a ${key.asymmetricKeyType ?? 'non-RSA'} key; DKIM signing here needs an RSA key`;
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MIN_RSA_BITS) return `holds an RSA key of ${bits} bits; at least ${MIN_RSA_BITS} are needed (2048 recommended)`;
  return undefined;
}

async function readKeyFile(entry: DkimEntry, file: string): Promise<string> {
  const key = `${entry.key}.privateKeyFile`;
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a folder, not a file' : `cannot be read (${code ?? 'error'})`;
    return configError(key, `the DKIM key file ${file} ${why}`, file);
  }
}

/** The configuration with every DKIM key read and checked; rejects as the module comment says. */
export async function loadDkimKeys(config: Config): Promise<Config> {
  const keys = new Map<string, string>();
  for (const entry of dkimEntriesOf(config)) {
    const file = entry.dkim.privateKeyFile;
    if (file !== undefined) {
      const pem = keys.get(file) ?? (await readKeyFile(entry, file));
      const problem = keyProblem(pem);
      if (problem !== undefined) configError(`${entry.key}.privateKeyFile`, `the DKIM key file ${file} ${problem}`, file);
      keys.set(file, pem);
    } else {
      const problem = keyProblem(entry.dkim.privateKey ?? '');
      if (problem !== undefined) configError(`${entry.key}.privateKeyEnv`, `the environment variable ${entry.dkim.privateKeyEnv ?? ''} ${problem}`);
    }
  }
  return keys.size === 0 ? config : withDkimKeys(config, keys);
}
