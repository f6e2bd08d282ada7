/**
 * Loading the companies' DKIM keys with the configuration (real files in a
 * temp folder): a key nodemailer could not sign with is a configuration
 * error naming the company and the file or variable, never the key.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { ErrorCodes, MailerError } from '../../../src/errors.js';
import { loadConfig } from '../../../src/io/host/config-file.js';
import { configReason } from '../../../src/text/config-errors.js';
import { CENSOR, registerSecret, scrubLine, scrubObject } from '../../../src/io/log/log.js';
import { makeTmpDir, removeTmpDirs } from '../../helpers/tmp.js';

afterAll(removeTmpDirs);

const rsa = (bits: number, passphrase?: string) =>
  generateKeyPairSync('rsa', {
    modulusLength: bits,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: passphrase === undefined ? { type: 'pkcs8', format: 'pem' } : { type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase },
  }).privateKey;
const RSA_1024 = rsa(1024);

/** Writes a configuration whose company ACME signs with `dkim`, and loads it. */
async function load(dkim: Record<string, unknown>, files: Record<string, string> = {}, env: Record<string, string> = {}) {
  const dir = await makeTmpDir('proscai-dkim-');
  await mkdir(path.join(dir, 'claves'));
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
  const config = path.join(dir, 'mailer.json');
  await writeFile(config, JSON.stringify({ dir: path.join(dir, 'envio'), companies: { ACME: { smtp: { host: '127.0.0.1' }, dkim: { domain: 'acme.example', selector: 's1', ...dkim } } } }));
  return { dir, config: loadConfig({ flags: { config }, env, cwd: dir }) };
}

async function refusal(promise: Promise<unknown>): Promise<MailerError> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(MailerError);
  expect((err as MailerError).code).toBe(ErrorCodes.CONFIG_INVALID);
  return err as MailerError;
}

describe('loadConfig: DKIM keys', () => {
  it('reads the key file (relative to the configuration file) into the company profile', async () => {
    const { config } = await load({ privateKeyFile: 'claves/acme.pem' }, { 'claves/acme.pem': RSA_1024 });
    expect((await config).companies.ACME!.dkim!.privateKey).toBe(RSA_1024);
  });

  it('accepts a key from the environment, also in the traditional "RSA PRIVATE KEY" form', async () => {
    const pkcs1 = generateKeyPairSync('rsa', { modulusLength: 1024, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs1', format: 'pem' } }).privateKey;
    const { config } = await load({ privateKeyEnv: 'ACME_DKIM' }, {}, { ACME_DKIM: pkcs1 });
    expect((await config).companies.ACME!.dkim!.privateKey).toBe(pkcs1);
  });

  it('refuses a missing key file, naming the company and the file, in both languages', async () => {
    const { dir, config } = await load({ privateKeyFile: 'claves/no-existe.pem' });
    const e = await refusal(config);
    const file = path.join(dir, 'claves', 'no-existe.pem');
    expect(e.message).toBe(`companies.ACME.dkim.privateKeyFile: the DKIM key file ${file} does not exist`);
    expect(configReason(e.message, 'es')).toBe(`companies.ACME.dkim.privateKeyFile: el archivo de clave DKIM ${file} no existe`);
  });

  it('refuses a file that holds no private key (a public key, say), without quoting it', async () => {
    const pub = generateKeyPairSync('rsa', { modulusLength: 1024, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } }).publicKey;
    const { config } = await load({ privateKeyFile: 'claves/publica.pem' }, { 'claves/publica.pem': pub });
    const e = await refusal(config);
    expect(e.message).toContain('companies.ACME.dkim.privateKeyFile: the DKIM key file');
    expect(e.message).toContain('does not hold a PEM private key');
    expect(configReason(e.message, 'es')).toContain('no contiene una clave privada PEM');
    expect(JSON.stringify(e.toJSON())).not.toContain(pub.split('\n')[1]!);
  });

  it('refuses a key nodemailer cannot sign with: not RSA, too short, or protected with a passphrase', async () => {
    const ed = generateKeyPairSync('ed25519', { publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } }).privateKey;
    const short = rsa(512);
    const locked = rsa(1024, 'secreto');
    const cases: [string, string, string][] = [
      [ed, 'holds a ed25519 key; DKIM signing here needs an RSA key', 'contiene una clave ed25519; la firma DKIM necesita una clave RSA'],
      [short, 'holds an RSA key of 512 bits; at least 1024 are needed (2048 recommended)', 'contiene una clave RSA de 512 bits; se necesitan al menos 1024 (se recomiendan 2048)'],
      [locked, 'is protected with a passphrase', 'está protegida con una contraseña'],
    ];
    for (const [pem, en, es] of cases) {
      const { config } = await load({ privateKeyEnv: 'ACME_DKIM' }, {}, { ACME_DKIM: pem });
      const e = await refusal(config);
      expect(e.message).toContain(`companies.ACME.dkim.privateKeyEnv: the environment variable ACME_DKIM ${en}`);
      expect(configReason(e.message, 'es')).toContain(`companies.ACME.dkim.privateKeyEnv: la variable de entorno ACME_DKIM ${es}`);
      expect(e.message).not.toContain(pem.split('\n')[1]!);
    }
  });

  it('checks the keys of every folder of a "folders" list', async () => {
    const dir = await makeTmpDir('proscai-dkim-');
    const config = path.join(dir, 'mailer.json');
    await writeFile(path.join(dir, 'acme.pem'), RSA_1024);
    await writeFile(
      config,
      JSON.stringify({
        folders: [
          { dir: path.join(dir, 'a') },
          { dir: path.join(dir, 'b'), companies: { OTRA: { smtp: { host: '127.0.0.1' }, dkim: { domain: 'otra.example', selector: 's1', privateKeyFile: 'otra.pem' } } } },
        ],
        companies: { ACME: { smtp: { host: '127.0.0.1' }, dkim: { domain: 'acme.example', selector: 's1', privateKeyFile: 'acme.pem' } } },
      }),
    );
    const e = await refusal(loadConfig({ flags: { config }, env: {}, cwd: dir }));
    expect(e.message).toContain(`companies.OTRA.dkim.privateKeyFile: the DKIM key file ${path.join(dir, 'otra.pem')} does not exist`);
    await writeFile(path.join(dir, 'otra.pem'), RSA_1024);
    const loaded = await loadConfig({ flags: { config }, env: {}, cwd: dir });
    expect(loaded.folders!.map((f) => f.companies.ACME!.dkim!.privateKey)).toEqual([RSA_1024, RSA_1024]);
    expect(loaded.folders![1]!.companies.OTRA!.dkim!.privateKey).toBe(RSA_1024);
  });

  it('keeps the key out of log lines: censored under "privateKey", and wherever else it appears once registered', () => {
    expect(scrubObject({ dkim: { domain: 'acme.example', privateKey: RSA_1024 } })).toEqual({ dkim: { domain: 'acme.example', privateKey: CENSOR } });
    registerSecret(RSA_1024);
    const line = JSON.stringify({ msg: `oops ${RSA_1024}` });
    expect(scrubLine(line)).toBe(JSON.stringify({ msg: `oops ${CENSOR}` }));
  });
});
