/**
 * The one configuration object. Built once (defaults < file < environment <
 * flags) by `loadConfig`, validated, deep-frozen, then passed everywhere.
 * Nothing else reads process.env or the config file.
 */
import type { AfterSend, Security } from '../order/types.js';

export type Language = 'es' | 'en';

/** How the per-order file calls are made: see `Config.fsMode` and io/store/file-calls.ts. */
export type FsMode = 'auto' | 'sync' | 'async';
export const FS_MODES: readonly FsMode[] = ['auto', 'sync', 'async'];

export interface SmtpProfile {
  host?: string;
  port?: number;
  security?: Security;
  user?: string;
  /** Inline password (discouraged); `passwordEnv` is resolved into this at load time. */
  password?: string;
  /** Name of the environment variable holding the password. */
  passwordEnv?: string;
  timeoutMinutes?: number;
  /** Verify the server's certificate (default true). Only for servers with self-signed certificates. */
  rejectUnauthorized?: boolean;
  /**
   * PEM file of a certificate authority trusted besides the public ones (a
   * company's own authority, or a self-signed server certificate); absolute
   * after loading (a relative path is taken from the configuration file's folder).
   */
  ca?: string;
}

export interface CompanyProfile {
  smtp?: SmtpProfile;
  /** Sender used when the order has no `Remitente`, `Display <address>` or `address`. */
  from?: string;
  errorMail?: string;
  /** Simultaneous SMTP connections for this company (default 2). */
  maxConnections: number;
  /** Messages per minute for this company; null = no limit. */
  perMinute: number | null;
  /** Signs every message of this company with DKIM (nodemailer's signer); absent = unsigned. */
  dkim?: DkimProfile;
  /**
   * HTML file into which each HTML body of this company is placed, at the
   * marker ENVELOPE_MARKER (order/envelope.ts); absolute after loading (a
   * relative path is taken from the configuration file's folder). Read at
   * send time: a missing file fails that order, not the mailer.
   */
  htmlEnvelope?: string;
}

/**
 * A company's DKIM signing key: `d=` and `s=` of the signature, the key
 * from a PEM file or an environment variable. After loading, `privateKey`
 * holds the PEM text (a secret: masked in the log and in `config` output),
 * checked to be an RSA private key, and `privateKeyFile` is absolute.
 */
export interface DkimProfile {
  domain: string;
  selector: string;
  privateKeyFile?: string;
  privateKeyEnv?: string;
  privateKey?: string;
}

/** The configuration's `notify` object: the server and sender of every failure notice. */
export interface NotifyRoute {
  smtp: SmtpProfile;
  from: string;
}

export interface Config {
  /** The order folder (MAILER_DIR), absolute. */
  dir: string;
  /** The attachment folder (MAILER_ATTACHMENT_PATH), absolute; defaults to `dir`. */
  attachments: string;
  /** CFD_MAIL_ERR_MAIL: told of every failure unless the order names its own address. */
  errorMail: string | null;
  /** Seconds between safety-net rescans of the order folder (default 300). */
  poll: number;
  /** Seconds to wait before each further try of a temporarily failed order. */
  retry: readonly number[];
  afterSend: AfterSend;
  /** Folder used instead of the system recycle bin for RECICLAR; null = the system's. */
  recycleDir: string | null;
  logSuccess: boolean;
  /** Keep each sent message exactly as sent (`<order file>.eml`) beside its acuse de envío (default false). */
  keepEml: boolean;
  /** Folder of the log file; null = `<workDir>/logs`. */
  logDir: string | null;
  /** Days rotated log files (`mailer-YYYY-MM-DD*.log`) are kept (default 30). */
  logKeepDays: number;
  /** Size in bytes after which the log file is rotated (default 50 MB). */
  logMaxBytes: number;
  /** Windows prefixes → local prefixes, e.g. `C:\\Trabajo\\proscai\\Envio_Mails\\` → `/srv/envio_mails/`. */
  pathMap: Readonly<Record<string, string>>;
  /** Profiles by company name; looked up case-insensitively. */
  companies: Readonly<Record<string, Readonly<CompanyProfile>>>;
  /** SMTP settings used when neither the order nor its company gives them. */
  smtp: Readonly<SmtpProfile>;
  /** Sender used when neither the order nor its company gives one. */
  from: string | null;
  /** Defaults for companies without a profile. */
  maxConnections: number;
  perMinute: number | null;
  /** Language of operator-facing text (notes, notifications, CLI). */
  language: Language;
  /** The mailer's own work area (claims, state, lock, logs); default `<dir>/.proscai-mailer`. */
  workDir: string;
  /** Seconds after which another machine's claims (no heartbeat) are taken over. */
  staleClaimSeconds: number;
  /**
   * This machine's name in the shared work area (claims, lock); null = the
   * host name. Set it when cloned machines share a host name.
   */
  hostId: string | null;
  /**
   * Seconds an order whose document is not complete yet (no closing
   * `</OrdenEnvio>`) must stay unchanged before it is failed as
   * ORDER_INCOMPLETE (default 60): writers on network shares pause for
   * seconds in the middle of a file. Complete documents never wait for it.
   */
  incompleteSettleSeconds: number;
  /** Seconds between failure-notification batches per recipient. */
  notifyEverySeconds: number;
  /**
   * Server and sender of every failure notice, so that a notice does not
   * depend on the server that failed; null = each notice goes through the
   * failed order's own server and sender.
   */
  notify: NotifyRoute | null;
  /**
   * How the order store makes its per-order file calls (io/store/file-calls.ts): `auto` (default)
   * synchronous on local disks, asynchronous on network shares or once a call
   * was slow; `async` always through the thread pool (a mapped network drive
   * on Windows, which `auto` cannot recognise); `sync` always synchronous.
   */
  fsMode: FsMode;
  /** Print every transition on the terminal. */
  verbose: boolean;
  /**
   * Set only when the file has a `folders` list and no `--dir` narrows it:
   * each folder's complete configuration (config/folders.ts). Read it through
   * `foldersOf`, never directly; the top level's own `dir`, `attachments` and
   * `workDir` are then the first folder's.
   */
  folders?: readonly Config[];
  /** The status window `run` serves (issue 16); `listen` null = none. */
  ui: UiConfig;
}

/**
 * The status window's address and token. `listen` is `HOST:PORT` (an IPv6
 * host in brackets), normalised at load from `PORT` or `HOST:PORT`; a
 * non-loopback host is only accepted with a token. `token` holds `ui.token`
 * or the value of the variable `ui.tokenEnv` names: a secret, masked in the
 * log and in `config` output, never served.
 */
export interface UiConfig {
  listen: string | null;
  token: string | null;
}
