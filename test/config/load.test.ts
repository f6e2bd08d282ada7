import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildConfig, DEFAULT_RETRY, maskConfig, parseRetryList } from '../../src/config/load.js';
import { MailerError } from '../../src/errors.js';
import { configErrorOf } from '../helpers/config-error.js';

const cwd = path.resolve('/srv/cwd');
const base = { env: {}, flags: {}, cwd };

const acme = {
  smtp: { host: 'smtp.acme.mx', port: 587, security: 'starttls', user: 'facturas@acme.mx', passwordEnv: 'ACME_SMTP_PASSWORD', timeoutMinutes: 2 },
  from: 'Facturación ACME <facturas@acme.mx>',
  errorMail: 'sistemas@acme.mx',
  maxConnections: 3,
  perMinute: 30,
};

describe('buildConfig: defaults', () => {
  it('fills every default from dir alone', () => {
    const c = buildConfig({ ...base, flags: { dir: '/srv/envio' } });
    expect(c).toEqual({
      dir: path.resolve('/srv/envio'),
      attachments: path.resolve('/srv/envio'),
      workDir: path.join(path.resolve('/srv/envio'), '.proscai-mailer'),
      errorMail: null,
      poll: 300,
      retry: DEFAULT_RETRY,
      afterSend: 'CONSERVAR',
      recycleDir: null,
      logSuccess: false,
      keepEml: false,
      logDir: null,
      logKeepDays: 30,
      logMaxBytes: 52_428_800,
      hostId: null,
      pathMap: {},
      companies: {},
      smtp: {},
      from: null,
      maxConnections: 2,
      perMinute: null,
      language: 'es',
      staleClaimSeconds: 600,
      notifyEverySeconds: 60,
      notify: null,
      incompleteSettleSeconds: 60,
      fsMode: 'auto',
      verbose: false,
      ui: { listen: null, token: null },
    });
  });

  it('default retry list grows from 1 minute to 1 hour and spans about 24 hours', () => {
    expect(DEFAULT_RETRY.slice(0, 6)).toEqual([60, 120, 300, 600, 1800, 3600]);
    expect(DEFAULT_RETRY.slice(5).every((s) => s === 3600)).toBe(true);
    const total = DEFAULT_RETRY.reduce((a, b) => a + b, 0);
    expect(total).toBe(85_680);
    expect(Math.abs(total - 86_400)).toBeLessThan(3600);
  });

  it('refuses a missing dir with a hint in both languages', () => {
    const err = configErrorOf(() => buildConfig(base));
    expect(err.field).toBe('dir');
    expect(err.message).toMatch(/^dir: /);
    expect(err.message).toContain('--dir');
    expect(err.message).toContain('MAILER_DIR');
    expect(err.message).toContain('falta la carpeta de órdenes');
  });

  it('deep-freezes the result', () => {
    const c = buildConfig({ ...base, flags: { dir: '/d' }, file: { companies: { ACME: { smtp: { host: 'h' } } } } });
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.companies.ACME)).toBe(true);
    expect(Object.isFrozen(c.companies.ACME.smtp)).toBe(true);
    expect(Object.isFrozen(c.retry)).toBe(true);
    expect(() => {
      (c as { poll: number }).poll = 1;
    }).toThrow(TypeError);
  });
});

describe('buildConfig: log housekeeping', () => {
  it('takes logKeepDays and logMaxBytes from the file', () => {
    const c = buildConfig({ ...base, flags: { dir: '/d' }, file: { logKeepDays: 7, logMaxBytes: 1_048_576 } });
    expect(c.logKeepDays).toBe(7);
    expect(c.logMaxBytes).toBe(1_048_576);
  });
});

describe('buildConfig: precedence flag > env > file > defaults', () => {
  const file = { dir: 'from-file', attachments: 'att-file', errorMail: 'file@acme.mx', poll: 120, language: 'en' };
  const fileName = path.resolve('/etc/mailer/config.json');
  const env = { MAILER_DIR: 'from-env', MAILER_ATTACHMENT_PATH: '/att-env', CFD_MAIL_ERR_MAIL: 'env@acme.mx' };

  it('file beats defaults; relative paths in the file are from its folder', () => {
    const c = buildConfig({ ...base, file, fileName });
    expect(c.dir).toBe(path.resolve('/etc/mailer/from-file'));
    expect(c.attachments).toBe(path.resolve('/etc/mailer/att-file'));
    expect(c.errorMail).toBe('file@acme.mx');
    expect(c.poll).toBe(120);
    expect(c.language).toBe('en');
  });

  it('environment beats file; relative env paths are from cwd', () => {
    const c = buildConfig({ ...base, file, fileName, env });
    expect(c.dir).toBe(path.resolve(cwd, 'from-env'));
    expect(c.attachments).toBe(path.resolve('/att-env'));
    expect(c.errorMail).toBe('env@acme.mx');
    expect(c.poll).toBe(120);
  });

  it('flags beat environment; an empty variable counts as unset', () => {
    const c = buildConfig({
      ...base,
      file,
      fileName,
      env: { ...env, MAILER_ATTACHMENT_PATH: '  ' },
      flags: { dir: 'flag-dir', errorMail: 'flag@acme.mx', poll: '30', retry: '5,10', verbose: true, language: 'ES' },
    });
    expect(c.dir).toBe(path.resolve(cwd, 'flag-dir'));
    expect(c.attachments).toBe(path.resolve('/etc/mailer/att-file'));
    expect(c.errorMail).toBe('flag@acme.mx');
    expect(c.poll).toBe(30);
    expect(c.retry).toEqual([5, 10]);
    expect(c.verbose).toBe(true);
    expect(c.language).toBe('es');
  });

  it('other environment variables are ignored', () => {
    const c = buildConfig({ ...base, flags: { dir: '/d' }, env: { MAILER_POLL: '5', POLL: '5' } });
    expect(c.poll).toBe(300);
  });

  it('attachments and workDir follow dir unless given', () => {
    const c = buildConfig({ ...base, file: { dir: '/x', workDir: 'work', logDir: 'logs', recycleDir: '/bin' }, fileName });
    expect(c.attachments).toBe(path.resolve('/x'));
    expect(c.workDir).toBe(path.resolve('/etc/mailer/work'));
    expect(c.logDir).toBe(path.resolve('/etc/mailer/logs'));
    expect(c.recycleDir).toBe(path.resolve('/bin'));
  });

  it('pathMap keeps Windows keys as written and makes targets absolute', () => {
    const c = buildConfig({ ...base, fileName, file: { dir: '/x', pathMap: { 'C:\\Trabajo\\Envio\\': 'envio/', 'D:\\x': '/srv/x' } } });
    expect(c.pathMap).toEqual({ 'C:\\Trabajo\\Envio\\': path.resolve('/etc/mailer/envio') + path.sep, 'D:\\x': path.resolve('/srv/x') });
  });
});

describe('buildConfig: company profiles', () => {
  it('resolves passwordEnv, normalises keywords, keeps limits', () => {
    const c = buildConfig({ ...base, flags: { dir: '/d' }, file: { companies: { ACME: acme } }, env: { ACME_SMTP_PASSWORD: 'hunter22' } });
    expect(c.companies.ACME).toEqual({ ...acme, smtp: { ...acme.smtp, security: 'STARTTLS', password: 'hunter22' } });
  });

  it('fills maxConnections and perMinute from the top level (default 2 and no limit)', () => {
    const c = buildConfig({ ...base, flags: { dir: '/d' }, file: { companies: { A: { smtp: { host: 'h' } } } } });
    expect(c.companies.A).toEqual({ smtp: { host: 'h' }, maxConnections: 2, perMinute: null });
    const d = buildConfig({ ...base, flags: { dir: '/d' }, file: { maxConnections: 4, perMinute: 10, companies: { A: { smtp: { host: 'h' } } } } });
    expect(d.companies.A).toMatchObject({ maxConnections: 4, perMinute: 10 });
  });

  it('a missing passwordEnv variable names the key', () => {
    const err = configErrorOf(() => buildConfig({ ...base, flags: { dir: '/d' }, file: { companies: { ACME: acme } } }));
    expect(err.message).toMatch(/^companies\.ACME\.smtp\.passwordEnv: the environment variable ACME_SMTP_PASSWORD is not set/);
    expect(err.field).toBe('companies.ACME.smtp.passwordEnv');
  });

  it('top-level smtp passwordEnv is resolved too', () => {
    const c = buildConfig({ ...base, flags: { dir: '/d' }, file: { smtp: { host: 'relay', passwordEnv: 'P' } }, env: { P: 'pw-top' } });
    expect(c.smtp.password).toBe('pw-top');
  });

  it('the notify route: absent by default, validated, its passwordEnv resolved', () => {
    expect(buildConfig({ ...base, flags: { dir: '/d' } }).notify).toBeNull();
    const file = { notify: { smtp: { host: 'avisos', security: 'ssl', user: 'u', passwordEnv: 'NP' }, from: ' Avisos <avisos@acme.mx> ' } };
    const c = buildConfig({ ...base, flags: { dir: '/d' }, file, env: { NP: 'pw-notify' } });
    expect(c.notify).toEqual({ smtp: { host: 'avisos', security: 'SSL', user: 'u', passwordEnv: 'NP', password: 'pw-notify' }, from: 'Avisos <avisos@acme.mx>' });
    const err = configErrorOf(() => buildConfig({ ...base, flags: { dir: '/d' }, file }));
    expect(err.message).toMatch(/^notify\.smtp\.passwordEnv: the environment variable NP is not set/);
    expect(JSON.stringify(maskConfig(c))).not.toContain('pw-notify');
  });

  it('names clashing only by case are refused', () => {
    const err = configErrorOf(() =>
      buildConfig({ ...base, flags: { dir: '/d' }, file: { companies: { ACME: { smtp: { host: 'a' } }, acme: { smtp: { host: 'b' } } } } }),
    );
    expect(err.message).toContain('companies.acme');
  });
});

describe('buildConfig: invalid files name the key', () => {
  const cases: [string, unknown, RegExp][] = [
    ['unknown top-level key', { polll: 3 }, /^unknown key "polll" \(did you mean "poll"\?\)/],
    ['unknown nested key', { companies: { ACME: { smtp: { host: 'h', hots: 'x' } } } }, /^companies\.ACME\.smtp: unknown key "hots"/],
    ['unknown company key', { companies: { ACME: { smtp: { host: 'h' }, colour: 'red' } } }, /^companies\.ACME: unknown key "colour"/],
    ['profile without host', { companies: { ACME: { smtp: { port: 25 } } } }, /^companies\.ACME\.smtp: a profile needs "host"/],
    ['profile without smtp', { companies: { ACME: { from: 'a@b.mx' } } }, /^companies\.ACME\.smtp: a profile needs "host"/],
    ['poll not whole', { poll: 1.5 }, /^poll: must be a whole number of seconds ≥ 1/],
    ['poll zero', { poll: 0 }, /^poll: must be a whole number of seconds ≥ 1/],
    ['poll as text', { poll: '300' }, /^poll: must be a whole number/],
    ['negative retry', { retry: [60, -5] }, /^retry\[1\]: must be a whole number of seconds ≥ 0/],
    ['retry not a list', { retry: 60 }, /^retry: must be a list/],
    ['bad errorMail', { errorMail: 'sistemas(at)acme' }, /^errorMail: must be one or more e-mail addresses/],
    ['bad from', { from: 'Facturas <nope>' }, /^from: must be one e-mail address/],
    ['two senders', { from: 'a@b.mx, c@d.mx' }, /^from: must be one e-mail address/],
    ['bad company errorMail', { companies: { A: { smtp: { host: 'h' }, errorMail: 'x@' } } }, /^companies\.A\.errorMail: /],
    ['bad afterSend', { afterSend: 'BORRAR' }, /^afterSend: must be one of CONSERVAR, RECICLAR, ELIMINAR/],
    ['bad security', { smtp: { security: 'TLS' } }, /^smtp\.security: must be one of NINGUNA, STARTTLS, SSL/],
    ['bad port', { smtp: { port: 70000 } }, /^smtp\.port: must be a whole number from 1 to 65535/],
    ['timeout over 10', { smtp: { timeoutMinutes: 11 } }, /^smtp\.timeoutMinutes: must be a whole number of minutes from 1 to 10/],
    ['wrong type boolean', { logSuccess: 'yes' }, /^logSuccess: must be true or false/],
    ['wrong type object', { companies: [] }, /^companies: must be an object/],
    ['bad language', { language: 'fr' }, /^language: must be one of es, en/],
    ['perMinute zero', { perMinute: 0 }, /^perMinute: must be a whole number ≥ 1/],
    ['not an object', [1, 2], /must be an object/],
    ['both password and passwordEnv', { smtp: { password: 'x', passwordEnv: 'Y' } }, /^smtp\.password: give either/],
    ['pathMap value not text', { pathMap: { 'C:\\': 5 } }, /^pathMap\.C:\\: must be a non-empty text/],
    ['logKeepDays zero', { logKeepDays: 0 }, /^logKeepDays: must be a whole number of days from 1 to 3650/],
    ['logKeepDays as text', { logKeepDays: '30' }, /^logKeepDays: must be a whole number/],
    ['logMaxBytes too small', { logMaxBytes: 1000 }, /^logMaxBytes: must be a whole number of bytes ≥ 65536/],
    ['unknown notify key', { notify: { smtp: { host: 'h' }, from: 'a@b.mx', fromm: 'x' } }, /^notify: unknown key "fromm" \(did you mean "from"\?\)/],
    ['unknown notify smtp key', { notify: { smtp: { host: 'h', prot: 25 }, from: 'a@b.mx' } }, /^notify\.smtp: unknown key "prot"/],
    ['notify without from', { notify: { smtp: { host: 'h' } } }, /^notify: a profile needs "from"/],
    ['notify without host', { notify: { smtp: { port: 25 }, from: 'a@b.mx' } }, /^notify\.smtp: a profile needs "host"/],
    ['bad notify from', { notify: { smtp: { host: 'h' }, from: 'avisos(at)acme' } }, /^notify\.from: must be one e-mail address/],
  ];
  for (const [name, file, pattern] of cases) {
    it(name, () => {
      const err = configErrorOf(() => buildConfig({ ...base, flags: { dir: '/d' }, file, fileName: '/etc/m.json' }));
      expect(err.message).toMatch(pattern);
      expect(err.message).toContain('(in /etc/m.json)');
    });
  }

  it('never quotes an inline password', () => {
    const err = configErrorOf(() => buildConfig({ ...base, flags: { dir: '/d' }, file: { smtp: { password: 12345678 } } }));
    expect(err.message).not.toContain('12345678');
    expect(err.value).toBeUndefined();
  });

  it('bad values from flags and environment name the option or variable', () => {
    expect(configErrorOf(() => buildConfig({ ...base, flags: { dir: '/d', poll: '5m' } })).message).toMatch(/^--poll: /);
    expect(configErrorOf(() => buildConfig({ ...base, flags: { dir: '/d', retry: '60,-1' } })).message).toMatch(/^--retry\[1\]: /);
    expect(configErrorOf(() => buildConfig({ ...base, flags: { dir: '/d', language: 'de' } })).message).toMatch(/^--language: /);
    expect(configErrorOf(() => buildConfig({ ...base, flags: { dir: '/d' }, env: { CFD_MAIL_ERR_MAIL: 'nadie' } })).message).toMatch(
      /^CFD_MAIL_ERR_MAIL: /,
    );
  });
});

describe('parseRetryList', () => {
  it('reads the command-line list', () => {
    expect(parseRetryList('60,120,300')).toEqual([60, 120, 300]);
    expect(parseRetryList(' 60 , 0 ')).toEqual([60, 0]);
    expect(parseRetryList('')).toEqual([]);
  });
  it('refuses anything but whole seconds', () => {
    for (const bad of ['60,,120', '1.5', '-1', '60;120', 'abc']) {
      expect(() => parseRetryList(bad), bad).toThrow(MailerError);
    }
  });
});

describe('maskConfig', () => {
  it('hides every secret and leaves the rest and the original alone', () => {
    const c = buildConfig({
      ...base,
      flags: { dir: '/d' },
      file: { smtp: { host: 'relay', password: 'top-secret' }, companies: { ACME: acme } },
      env: { ACME_SMTP_PASSWORD: 'hunter22' },
    });
    const masked = maskConfig(c) as typeof c;
    const text = JSON.stringify(masked);
    expect(text).not.toContain('top-secret');
    expect(text).not.toContain('hunter22');
    expect(masked.smtp.password).toBe('********');
    expect(masked.companies.ACME.smtp?.password).toBe('********');
    expect(masked.companies.ACME.smtp?.passwordEnv).toBe('********');
    expect(masked.companies.ACME.smtp?.host).toBe('smtp.acme.mx');
    expect(masked.retry).toEqual(c.retry);
    expect(c.smtp.password).toBe('top-secret');
    expect(maskConfig({ a: [{ apiToken: 't', clientSecret: 's', keep: 1 }] })).toEqual({ a: [{ apiToken: '********', clientSecret: '********', keep: 1 }] });
  });
});
