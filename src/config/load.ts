/**
 * Builds the one `Config` from its four sources. PURE: the caller reads the
 * file (src/io/host/config-file.ts) and hands in `process.env` and the parsed flags;
 * nothing here touches the file system or the real environment, so every
 * precedence rule is testable with plain objects.
 *
 * Precedence, highest first: flag > environment variable (only MAILER_DIR,
 * MAILER_ATTACHMENT_PATH, CFD_MAIL_ERR_MAIL) > file top level > built-in
 * defaults. Per-order precedence (order > company profile > top level) is
 * `resolveOrder`'s job.
 *
 * Guarantees: the result is validated, every path is absolute, every
 * `passwordEnv` is resolved into `password`, and the object is deep-frozen.
 * Any problem throws a CONFIG_INVALID `MailerError` naming the key.
 */
import path from 'node:path';
import { ErrorCodes, MailerError } from '../errors.js';
import type { CompanyProfile, Config, DkimProfile, Language, NotifyRoute, SmtpProfile, UiConfig } from './types.js';
import { DEFAULT_UI_LISTEN, formatListen, isLoopbackHost, parseListen } from './ui-listen.js';
import { checkFolders, entryLayer, folderAt } from './folders.js';
import { addressList, bool, configError, int, oneOf, str, topRules, validateFile, LANGUAGES, type Rule } from './schema.js';

/** Command-line options that feed the configuration (strings as commander hands them, or already parsed). */
export interface Flags {
  dir: string;
  attachments: string;
  errorMail: string;
  /** Path of the configuration file (read by the caller; used here to resolve relative paths). */
  config: string;
  poll: number | string;
  /** `[60, 120]` or the command-line form `"60,120"`. */
  retry: number[] | string;
  verbose: boolean;
  language: Language | string;
  /** `run --ui [HOST:]PORT`; `true` when given without a value (DEFAULT_UI_LISTEN). */
  ui: string | true;
}

export interface BuildConfigInput {
  /** Overrides of the built-in defaults (embedding, tests). */
  defaults?: Partial<Config>;
  /** The parsed JSON of the configuration file, if any. */
  file?: unknown;
  /** The file's path: relative paths inside the file are resolved against its folder. */
  fileName?: string;
  env: Record<string, string | undefined>;
  flags: Partial<Flags>;
  /** Base for relative paths given by flags or environment; default `process.cwd()`. */
  cwd?: string;
}

/**
 * Default retry delays in seconds: 1, 2, 5, 10 and 30 minutes, then hourly.
 * 28 further tries over 23 h 48 min (2 880 s + 23 × 3 600 s = 85 680 s), so a
 * mail server that is down for a day still gets the order once it is back.
 */
export const DEFAULT_RETRY: readonly number[] = Object.freeze([60, 120, 300, 600, 1800, ...Array<number>(23).fill(3600)]);

/** Built-in defaults; `dir`, `attachments` and `workDir` are derived from `dir` at build time. */
export const DEFAULTS: Omit<Config, 'dir' | 'attachments' | 'workDir'> = {
  errorMail: null,
  poll: 300,
  retry: DEFAULT_RETRY,
  afterSend: 'CONSERVAR',
  recycleDir: null,
  logSuccess: false,
  keepEml: false,
  logDir: null,
  logKeepDays: 30,
  logMaxBytes: 50 * 1024 * 1024,
  pathMap: {},
  companies: {},
  smtp: {},
  from: null,
  maxConnections: 2,
  perMinute: null,
  language: 'es',
  staleClaimSeconds: 600,
  hostId: null,
  notifyEverySeconds: 60,
  notify: null,
  incompleteSettleSeconds: 60,
  fsMode: 'auto',
  verbose: false,
  ui: { listen: null, token: null },
};

const ENV = { dir: 'MAILER_DIR', attachments: 'MAILER_ATTACHMENT_PATH', errorMail: 'CFD_MAIL_ERR_MAIL' } as const;
const PATH_KEYS = ['dir', 'attachments', 'recycleDir', 'logDir', 'workDir'] as const;

/** `"60,120, 300"` → `[60, 120, 300]`; throws CONFIG_INVALID (key `--retry`) on anything else. */
export function parseRetryList(s: string): number[] {
  const parts = s.split(',').map((p) => p.trim());
  if (s.trim() === '') return [];
  return parts.map((p, i) => {
    if (!/^\d+$/.test(p)) configError(`--retry[${i}]`, 'must be a whole number of seconds ≥ 0', p);
    return Number(p);
  });
}

/** Validates and merges the sources; see the module comment for precedence and guarantees. */
export function buildConfig(input: BuildConfigInput): Config {
  const cwd = input.cwd ?? process.cwd();
  const fileBase = input.fileName !== undefined ? path.dirname(path.resolve(cwd, input.fileName)) : cwd;
  const file = input.file === undefined ? {} : inFile(() => validateFile(input.file), input.fileName);
  const env = envValues(input.env);
  const flags = flagValues(input.flags);
  if (file.folders !== undefined) return withFolders(input, file);

  const pick = (key: string): { value: unknown; base: string } | undefined => {
    if (flags[key] !== undefined) return { value: flags[key], base: cwd };
    if (env[key] !== undefined) return { value: env[key], base: cwd };
    if (file[key] !== undefined) return { value: file[key], base: fileBase };
    return undefined;
  };
  const merged: Record<string, unknown> = { ...DEFAULTS, ...input.defaults };
  for (const key of Object.keys(topRules)) {
    const found = pick(key);
    if (found === undefined) continue;
    merged[key] = (PATH_KEYS as readonly string[]).includes(key) && typeof found.value === 'string'
      ? path.resolve(found.base, found.value)
      : found.value;
  }
  if (flags.verbose !== undefined) merged.verbose = flags.verbose;
  if (typeof merged.dir !== 'string') {
    configError(
      'dir',
      'the order folder is required: give --dir, MAILER_DIR or "dir" in the configuration file ' +
        '(falta la carpeta de órdenes: indíquela con --dir, MAILER_DIR o "dir" en el archivo de configuración)',
    );
  }
  const dir = path.resolve(cwd, merged.dir);
  merged.dir = dir;
  merged.attachments = typeof merged.attachments === 'string' ? path.resolve(cwd, merged.attachments) : dir;
  merged.workDir = typeof merged.workDir === 'string' ? path.resolve(cwd, merged.workDir) : path.join(dir, '.proscai-mailer');
  if (file.pathMap !== undefined) merged.pathMap = mapTargets(file.pathMap as Record<string, string>, fileBase);
  merged.smtp = inFile(() => smtpOf(merged.smtp as SmtpProfile, 'smtp', input.env, fileBase), input.fileName);
  merged.companies = inFile(() => companies(merged, input.env, fileBase), input.fileName);
  const notify = merged.notify as NotifyRoute | null;
  if (notify !== null) merged.notify = inFile(() => ({ ...notify, smtp: smtpOf(notify.smtp, 'notify.smtp', input.env, fileBase) }), input.fileName);
  merged.ui = uiOf(file.ui as RawUi | undefined, flags.ui as string | undefined, input.env, input.fileName);
  return deepFreeze(merged as unknown as Config);
}

type RawUi = { listen?: string | null; token?: string; tokenEnv?: string };

/**
 * The status window's settings: the `--ui` flag's address over the file's
 * `ui.listen`, normalised to `HOST:PORT`; the token from `ui.token` or the
 * variable `ui.tokenEnv` names. A non-loopback address without a token is
 * refused (anyone on the network could open the window and retry orders).
 */
function uiOf(raw: RawUi | undefined, flag: string | undefined, env: Record<string, string | undefined>, fileName: string | undefined): UiConfig {
  const token = inFile(() => {
    if (raw?.tokenEnv === undefined) return raw?.token ?? null;
    if (raw.token !== undefined) configError('ui.token', 'give either "token" or "tokenEnv", not both');
    const value = env[raw.tokenEnv];
    return value === undefined || value === '' ? configError('ui.tokenEnv', `the environment variable ${raw.tokenEnv} is not set`) : value;
  }, fileName);
  const [text, key] = flag !== undefined ? [flag, '--ui'] : [raw?.listen ?? null, 'ui.listen'];
  if (text === null) return { listen: null, token };
  const address = parseListen(text);
  const check = () => {
    if (address === undefined) configError(key, 'must be PORT or HOST:PORT (an IPv6 host in brackets: [::1]:8025)', text);
    if (!isLoopbackHost(address.host) && token === null) {
      configError(key, 'a status window on an address other than 127.0.0.1, ::1 or localhost needs "ui.token" or "ui.tokenEnv"', text);
    }
    return address;
  };
  return { listen: formatListen(flag !== undefined ? check() : inFile(check, fileName)), token };
}

/**
 * A file with a `folders` list (config/folders.ts): the top level is built
 * first (its problems named as usual), then every entry as a configuration
 * of its own (its problems named `folders[i]: …`), then the folders are
 * checked against each other. `--dir` narrows to one folder: the entry with
 * that folder, or, for a folder not in the list, the top-level settings with
 * that folder. Without it, the result is the top level over the first
 * folder, carrying every folder in `folders`.
 */
function withFolders(input: BuildConfigInput, file: Record<string, unknown>): Config {
  const { folders, ...fileTop } = file;
  if (fileTop.dir !== undefined) inFile(() => configError('dir', 'with a "folders" list, each folder gives its own "dir"'), input.fileName);
  // CFD_MAIL_ERR_MAIL stands for the top level (an entry's own errorMail wins); the folder variables name one ERP's folder.
  const { MAILER_DIR: _dir, MAILER_ATTACHMENT_PATH: _attachments, CFD_MAIL_ERR_MAIL: errorMail, ...env } = input.env;
  const top = { ...fileTop, ...envValues({ CFD_MAIL_ERR_MAIL: errorMail }) };
  const { dir: narrowed, ...flags } = input.flags;
  const build = (layer: Record<string, unknown>, layerFlags: Partial<Flags>): Config => buildConfig({ ...input, env, file: layer, flags: layerFlags });
  const entries = folders as Record<string, unknown>[];
  const first = build({ ...top, dir: entries[0]!.dir }, flags);
  const configs = entries.map((entry, i) => inEntry(i, () => build(entryLayer(top, entry), flags)));
  inFile(() => checkFolders(configs), input.fileName);
  if (narrowed !== undefined) return folderAt(configs, path.resolve(input.cwd ?? process.cwd(), narrowed)) ?? build(top, input.flags);
  return deepFreeze({ ...first, folders: configs });
}

/** Names the `folders` entry in errors raised while building it. */
function inEntry<T>(index: number, run: () => T): T {
  try {
    return run();
  } catch (err) {
    if (!(err instanceof MailerError)) throw err;
    const at = `folders[${index}]`;
    throw new MailerError(ErrorCodes.CONFIG_INVALID, `${at}: ${err.message}`, {
      field: err.field === undefined ? at : `${at}.${err.field}`,
      ...(err.value !== undefined && { value: err.value }),
    });
  }
}

/** Adds the file name to errors raised while checking the file's contents. */
function inFile<T>(run: () => T, fileName: string | undefined): T {
  try {
    return run();
  } catch (err) {
    if (!(err instanceof MailerError) || fileName === undefined) throw err;
    throw new MailerError(ErrorCodes.CONFIG_INVALID, `${err.message} (in ${fileName})`, {
      ...(err.field !== undefined && { field: err.field }),
      ...(err.value !== undefined && { value: err.value }),
    });
  }
}

function envValues(env: Record<string, string | undefined>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, name] of Object.entries(ENV)) {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') continue;
    out[key] = key === 'errorMail' ? addressList(raw, name) : str(raw, name);
  }
  return out;
}

const flagRules: Record<string, { name: string; rule: Rule }> = {
  dir: { name: '--dir', rule: str },
  attachments: { name: '--attachments', rule: str },
  errorMail: { name: '--error-mail', rule: addressList },
  poll: { name: '--poll', rule: (v, p) => int(1, Number.MAX_SAFE_INTEGER, ' of seconds')(numeric(v), p) },
  retry: { name: '--retry', rule: (v, p) => (typeof v === 'string' ? parseRetryList(v) : topRules.retry(v, p)) },
  verbose: { name: '--verbose', rule: bool },
  language: { name: '--language', rule: oneOf(LANGUAGES) },
  ui: { name: '--ui', rule: (v) => (v === true ? DEFAULT_UI_LISTEN : v) },
};

/** Commander hands numbers over as text: `"300"` counts as 300, `"5m"` stays text and is refused. */
function numeric(v: unknown): unknown {
  return typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : v;
}

function flagValues(flags: Partial<Flags>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(flags)) {
    if (value === undefined || key === 'config') continue;
    const known = flagRules[key];
    if (known === undefined) configError(key, 'unknown option');
    out[key] = known.rule(value, known.name);
  }
  return out;
}

/** pathMap targets are local folders: relative ones are taken from the file's folder, trailing separator kept. */
function mapTargets(map: Record<string, string>, base: string): Record<string, string> {
  return Object.fromEntries(
    Object.entries(map).map(([from, to]) => {
      const abs = path.resolve(base, to);
      return [from, /[\\/]$/.test(to) && !abs.endsWith(path.sep) ? abs + path.sep : abs];
    }),
  );
}

/**
 * A profile's `smtp` as the mailer uses it: the password resolved, the `ca`
 * file's path made absolute (from the configuration file's folder). Whether
 * that file is a readable PEM is checked by io/host/ca-files.ts, which reads it.
 */
function smtpOf(smtp: SmtpProfile, key: string, env: Record<string, string | undefined>, base: string): SmtpProfile {
  const out = withPassword(smtp, key, env);
  return out.ca === undefined ? out : { ...out, ca: path.resolve(base, out.ca) };
}

/** Replaces `passwordEnv` by the variable's value so nothing later reads the environment. */
function withPassword(smtp: SmtpProfile, key: string, env: Record<string, string | undefined>): SmtpProfile {
  if (smtp.passwordEnv === undefined) return smtp;
  if (smtp.password !== undefined) configError(`${key}.password`, 'give either "password" or "passwordEnv", not both');
  const value = env[smtp.passwordEnv];
  if (value === undefined || value === '') {
    configError(`${key}.passwordEnv`, `the environment variable ${smtp.passwordEnv} is not set`);
  }
  return { ...smtp, password: value };
}

function companies(merged: Record<string, unknown>, env: Record<string, string | undefined>, base: string): Record<string, CompanyProfile> {
  const seen = new Map<string, string>();
  const out: Record<string, CompanyProfile> = {};
  for (const [name, raw] of Object.entries(merged.companies as Record<string, Partial<CompanyProfile>>)) {
    const upper = name.trim().toUpperCase();
    const twin = seen.get(upper);
    if (twin !== undefined) configError(`companies.${name}`, `same company as "${twin}" (names are matched ignoring case)`);
    seen.set(upper, name);
    out[name] = {
      ...raw,
      ...(raw.smtp !== undefined && { smtp: smtpOf(raw.smtp, `companies.${name}.smtp`, env, base) }),
      maxConnections: raw.maxConnections ?? (merged.maxConnections as number),
      perMinute: raw.perMinute !== undefined ? raw.perMinute : (merged.perMinute as number | null),
      ...(raw.dkim !== undefined && { dkim: dkimOf(raw.dkim, `companies.${name}.dkim`, env, base) }),
      ...(raw.htmlEnvelope !== undefined && { htmlEnvelope: path.resolve(base, raw.htmlEnvelope) }),
    };
  }
  return out;
}

/**
 * A company's DKIM settings as the mailer uses them: `privateKeyFile` made
 * absolute (from the configuration file's folder), `privateKeyEnv`'s value
 * in `privateKey`. Reading the file and checking the key is
 * io/host/dkim-keys.ts's job.
 */
function dkimOf(dkim: DkimProfile, key: string, env: Record<string, string | undefined>, base: string): DkimProfile {
  if (dkim.privateKeyFile !== undefined) return { ...dkim, privateKeyFile: path.resolve(base, dkim.privateKeyFile) };
  const name = dkim.privateKeyEnv ?? '';
  const value = env[name];
  if (value === undefined || value.trim() === '') configError(`${key}.privateKeyEnv`, `the environment variable ${name} is not set`);
  // A key pasted into one line of a service definition keeps its line breaks as `\n`.
  return { ...dkim, privateKey: value.includes('\n') ? value : value.replaceAll('\\n', '\n') };
}

/** Freezes every nested object, so no part of the program can change the configuration after start. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

const SECRET_KEY = /pass|secret|token|^privateKey$/i;

/**
 * A deep copy fit for printing (`proscai-mailer config`): every value under a
 * key that looks secret (`password`, `passwordEnv`, `*token*`, `*secret*`,
 * a DKIM `privateKey`) is replaced by `********`.
 */
export function maskConfig(config: unknown): unknown {
  if (Array.isArray(config)) return config.map(maskConfig);
  if (typeof config !== 'object' || config === null) return config;
  return Object.fromEntries(
    Object.entries(config).map(([k, v]) => [k, SECRET_KEY.test(k) && v !== undefined && v !== null ? '********' : maskConfig(v)]),
  );
}
