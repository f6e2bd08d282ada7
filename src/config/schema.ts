/**
 * The configuration file's schema, as a small table of rules. Each rule checks
 * one value and returns it normalised (keywords upper-cased, addresses
 * trimmed), or throws a CONFIG_INVALID `MailerError` whose message starts with
 * the dotted key (`companies.ACME.smtp.port: …`) so the operator can find it.
 *
 * Guarantees: every key not listed here is refused at every level (a typo such
 * as `polll` must not silently fall back to a default), and no secret is ever
 * quoted in an error message.
 *
 * Why not zod or valibot: the CONFIG_INVALID messages are operator interface
 * (tests assert them word for word and text/config-errors.ts puts them into
 * Spanish phrase by phrase), and neither library suggests the nearest known
 * key (`did you mean "poll"?`) or words its messages ours; each rule would
 * still need its own message and normalisation, so a library would replace
 * only the few combinators below.
 */
import { ErrorCodes, MailerError } from '../errors.js';
import { addressOf, addressesOf } from '../order/addresses.js';
import { FS_MODES } from './types.js';

/** Checks and normalises one value found at `path` (a dotted key). */
export type Rule = (value: unknown, path: string) => unknown;

/** Throws the CONFIG_INVALID error for `path`; `value` is quoted only when given (never pass a secret). */
export function configError(path: string, problem: string, value?: unknown): never {
  const prefix = path === '' ? '' : `${path}: `;
  throw new MailerError(ErrorCodes.CONFIG_INVALID, `${prefix}${problem}`, {
    ...(path !== '' && { field: path }),
    ...(value !== undefined && { value: typeof value === 'string' ? value : String(JSON.stringify(value)) }),
  });
}

// ---- rule builders -------------------------------------------------------

export const str: Rule = (v, p) =>
  typeof v === 'string' && v.trim() !== '' ? v.trim() : configError(p, 'must be a non-empty text', v);

/** A text that may hold a secret: never quoted back. */
export const secret: Rule = (v, p) =>
  typeof v === 'string' && v !== '' ? v : configError(p, 'must be a non-empty text');

export const bool: Rule = (v, p) => (typeof v === 'boolean' ? v : configError(p, 'must be true or false', v));

export function int(min: number, max = Number.MAX_SAFE_INTEGER, unit = ''): Rule {
  const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`;
  return (v, p) =>
    typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max
      ? v
      : configError(p, `must be a whole number${unit} ${range}`, v);
}

export function nullable(rule: Rule): Rule {
  return (v, p) => (v === null ? null : rule(v, p));
}

export function oneOf(values: readonly string[]): Rule {
  return (v, p) => {
    const wanted = typeof v === 'string' ? v.trim().toLowerCase() : undefined;
    const found = values.find((x) => x.toLowerCase() === wanted);
    return found ?? configError(p, `must be one of ${values.join(', ')}`, v);
  };
}

export const address: Rule = (v, p) =>
  typeof v === 'string' && addressOf(v) !== undefined ? v.trim() : configError(p, 'must be one e-mail address, `address` or `Name <address>`', v);

export const addressList: Rule = (v, p) =>
  typeof v === 'string' && addressesOf(v) !== undefined
    ? v.trim()
    : configError(p, 'must be one or more e-mail addresses separated by "," or ";"', v);

export function list(item: Rule): Rule {
  return (v, p) => (Array.isArray(v) ? v.map((x, i) => item(x, `${p}[${i}]`)) : configError(p, 'must be a list', v));
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A map with free keys (company names, path prefixes) and one rule for every value. */
export function record(item: Rule): Rule {
  return (v, p) => {
    if (!isPlainObject(v)) return configError(p, 'must be an object');
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, item(x, `${p}.${k}`)]));
  };
}

/** An object with exactly these keys (all optional here; `required` ones must be present). */
export function object(rules: Readonly<Record<string, Rule>>, required: readonly string[] = []): Rule {
  return (v, p) => {
    if (!isPlainObject(v)) return configError(p, 'must be an object');
    for (const key of Object.keys(v)) {
      if (!Object.hasOwn(rules, key)) configError(p, `unknown key "${key}"${hint(key, Object.keys(rules))}`);
    }
    for (const key of required) {
      if (v[key] === undefined) configError(p, `a profile needs "${key}"`);
    }
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(v)) {
      if (value !== undefined) out[key] = rules[key](value, p === '' ? key : `${p}.${key}`);
    }
    return out;
  };
}

/** `(did you mean "poll"?)` when a known key is one edit away from the unknown one. */
function hint(key: string, known: string[]): string {
  const near = known.find((k) => editDistance(k.toLowerCase(), key.toLowerCase()) <= 1);
  return near === undefined ? '' : ` (did you mean "${near}"?)`;
}

function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length];
}

// ---- the schema ------------------------------------------------------------

export const SECURITY = ['NINGUNA', 'STARTTLS', 'SSL'] as const;
export const AFTER_SEND = ['CONSERVAR', 'RECICLAR', 'ELIMINAR'] as const;
export const LANGUAGES = ['es', 'en'] as const;

export const smtpRules = {
  host: str,
  port: int(1, 65535),
  security: oneOf(SECURITY),
  user: str,
  password: secret,
  passwordEnv: str,
  timeoutMinutes: int(1, 10, ' of minutes'),
  rejectUnauthorized: bool,
  ca: str,
} as const;

/** A DNS name in ASCII (an internationalised one in its `xn--` form), as `d=` and `s=` of a DKIM signature need. */
function dnsName(what: string): Rule {
  const label = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
  const pattern = new RegExp(`^${label}(?:\\.${label})*$`);
  return (v, p) => {
    const text = str(v, p) as string;
    return pattern.test(text) ? text.toLowerCase() : configError(p, `must be ${what} of letters, digits, "-" and "." (an accented domain in its xn-- form)`, v);
  };
}

export const dkimRules = {
  domain: dnsName('a domain'),
  selector: dnsName('a selector'),
  privateKeyFile: str,
  privateKeyEnv: str,
} as const;

/** A company's DKIM key: `domain`, `selector`, and exactly one of `privateKeyFile` and `privateKeyEnv`. */
const dkim: Rule = (v, p) => {
  const out = object(dkimRules, ['domain', 'selector'])(v, p) as Record<string, unknown>;
  if (out.privateKeyFile !== undefined && out.privateKeyEnv !== undefined) configError(p, 'give either "privateKeyFile" or "privateKeyEnv", not both');
  if (out.privateKeyFile === undefined && out.privateKeyEnv === undefined) configError(p, 'needs "privateKeyFile" or "privateKeyEnv"');
  return out;
};

export const companyRules = {
  smtp: object(smtpRules, ['host']),
  from: address,
  errorMail: addressList,
  maxConnections: int(1),
  perMinute: nullable(int(1)),
  dkim,
  htmlEnvelope: str,
} as const;

/** A company profile must say which server to use: a missing `smtp` is reported as a missing host. */
const company: Rule = (v, p) => {
  if (typeof v === 'object' && v !== null && !Array.isArray(v) && (v as Record<string, unknown>).smtp === undefined) {
    configError(`${p}.smtp`, 'a profile needs "host"');
  }
  return object(companyRules)(v, p);
};

/** The route every failure notice takes when given: its own server and sender, whatever server the order used. */
export const notifyRules = {
  smtp: object(smtpRules, ['host']),
  from: address,
} as const;

/** The status window: `listen` (`HOST:PORT` or `PORT`), and a token inline or through an environment variable. */
export const uiRules = {
  listen: nullable(str),
  token: secret,
  tokenEnv: str,
} as const;

/** Keys that belong to the whole process, never to one folder of a `folders` list. */
export const PROCESS_WIDE_KEYS: readonly string[] = ['hostId', 'ui', 'folders'];

/**
 * One entry of `folders`: its `dir` and any per-folder key of the top level
 * (read when called, so every key added to `topRules` is per-folder unless
 * listed in PROCESS_WIDE_KEYS).
 */
const folderEntry: Rule = (v, p) => {
  if (isPlainObject(v)) {
    if (v.dir === undefined) configError(p, 'every folder needs "dir"');
    const wide = Object.keys(v).find((key) => PROCESS_WIDE_KEYS.includes(key));
    if (wide !== undefined) configError(`${p}.${wide}`, 'is set for the whole process, at the top level, not per folder');
  }
  const rules = Object.fromEntries(Object.entries(topRules).filter(([key]) => !PROCESS_WIDE_KEYS.includes(key)));
  return object(rules)(v, p);
};

/** The `folders` list (config/folders.ts): at least one entry. */
const folderList: Rule = (v, p) => {
  if (Array.isArray(v) && v.length === 0) configError(p, 'must list at least one folder');
  return list(folderEntry)(v, p);
};

/** Exactly the keys of the spec's example plus the mailer's own settings. */
export const topRules = {
  dir: str,
  attachments: str,
  errorMail: nullable(addressList),
  poll: int(1, Number.MAX_SAFE_INTEGER, ' of seconds'),
  retry: list(int(0, Number.MAX_SAFE_INTEGER, ' of seconds')),
  afterSend: oneOf(AFTER_SEND),
  recycleDir: nullable(str),
  logSuccess: bool,
  keepEml: bool,
  logDir: nullable(str),
  logKeepDays: int(1, 3650, ' of days'),
  logMaxBytes: int(64 * 1024, Number.MAX_SAFE_INTEGER, ' of bytes'),
  pathMap: record(str),
  companies: record(company),
  smtp: object(smtpRules),
  from: nullable(address),
  maxConnections: int(1),
  perMinute: nullable(int(1)),
  language: oneOf(LANGUAGES),
  workDir: str,
  staleClaimSeconds: int(1, Number.MAX_SAFE_INTEGER, ' of seconds'),
  hostId: nullable(str),
  notifyEverySeconds: int(0, Number.MAX_SAFE_INTEGER, ' of seconds'),
  notify: nullable(object(notifyRules, ['smtp', 'from'])),
  incompleteSettleSeconds: int(1, 3600, ' of seconds'),
  fsMode: oneOf(FS_MODES),
  ui: object(uiRules),
  folders: folderList,
} as const;

/** Validates a parsed configuration file; returns its normalised top-level values. */
export function validateFile(file: unknown): Record<string, unknown> {
  return object(topRules)(file, '') as Record<string, unknown>;
}
