import { afterEach, describe, it, expect } from 'vitest';
import fs from 'node:fs/promises';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { makeTmpDir, removeTmpDirs } from '../helpers/tmp.js';

afterEach(removeTmpDirs);

const INLINE = 'Inline-S3cret!';
const FROM_ENV = 'Env-S3cret?';

async function writeConfig(content: unknown): Promise<{ dir: string; file: string }> {
  const dir = await makeTmpDir();
  const file = path.join(dir, 'config.json');
  await fs.writeFile(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return { dir, file };
}

const withSecrets = {
  dir: 'envio',
  smtp: { host: 'smtp.acme.mx', user: 'facturas@acme.mx', password: INLINE },
  companies: { ACME: { smtp: { host: 'smtp.acme.mx', user: 'facturas@acme.mx', passwordEnv: 'ACME_SMTP_PASSWORD' } } },
};

describe('proscai-mailer config', () => {
  it('prints the resolved configuration with every password masked', async () => {
    const { dir, file } = await writeConfig(withSecrets);
    const result = await runCli(['config', '--config', file], { ACME_SMTP_PASSWORD: FROM_ENV });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain(INLINE);
    expect(result.stdout).not.toContain(FROM_ENV);
    expect(result.stdout).toContain('********');
    expect(result.stdout).toContain(`dir = ${path.join(dir, 'envio')}`);
    expect(result.stdout).toContain('companies.ACME.smtp.host = smtp.acme.mx');
    expect(result.stdout).toContain('smtp.password = ********');
  });

  it('prints JSON with --json, flags and environment applied', async () => {
    const { file } = await writeConfig(withSecrets);
    const result = await runCli(['config', '--config', file, '--json', '--poll', '30'], {
      ACME_SMTP_PASSWORD: FROM_ENV,
      CFD_MAIL_ERR_MAIL: 'sistemas@acme.mx',
    });
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain(INLINE);
    expect(result.stdout).not.toContain(FROM_ENV);
    const config = JSON.parse(result.stdout);
    expect(config.poll).toBe(30);
    expect(config.errorMail).toBe('sistemas@acme.mx');
    expect(config.smtp.password).toBe('********');
    expect(config.companies.ACME.smtp.password).toBe('********');
    expect(config.companies.ACME.smtp.host).toBe('smtp.acme.mx');
  });

  it('exits 2 and names an unknown key, printing nothing on stdout', async () => {
    const { file } = await writeConfig({ dir: '/srv/envio', polll: 30 });
    const result = await runCli(['config', '--config', file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('polll');
    expect(result.stderr).toContain('La configuración no es válida');
    expect(result.stdout).toBe('');
  });

  it('exits 2 when the password variable is not set, without printing the other password', async () => {
    const { file } = await writeConfig(withSecrets);
    const result = await runCli(['config', '--config', file, '--language', 'en']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('The configuration is invalid');
    expect(result.stderr).toContain('companies.ACME.smtp.passwordEnv');
    expect(result.stderr).not.toContain(INLINE);
  });

  it('exits 2 when no order folder is given at all', async () => {
    const result = await runCli(['config']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/\bdir\b/);
  });

  it('takes the folder from MAILER_DIR', async () => {
    const dir = await makeTmpDir();
    const result = await runCli(['config', '--json'], { MAILER_DIR: dir });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).dir).toBe(dir);
  });
});
