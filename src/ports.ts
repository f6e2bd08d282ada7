/**
 * The seams between the pure machines and the outside world. `src/io/`
 * implements them for real; `src/actors/` wraps them as XState actor logic;
 * tests implement them with real local servers and temp folders (or, where
 * nothing real can play the part, small fakes).
 */
import type { MailerError, SerializedError } from './errors.js';
import type { Address, AfterSend, Order, PartialOrder, Security } from './order/types.js';

/** SMTP settings after order < company profile < config precedence is applied. */
export interface ResolvedSmtp {
  host: string;
  port: number;
  /** undefined: STARTTLS when offered (the spec's default on ports other than 465). */
  security: Security | undefined;
  user?: string;
  password?: string;
  timeoutMinutes: number;
  rejectUnauthorized: boolean;
  /** Absolute path of a PEM file of authorities trusted besides the public ones (the profile's `ca`). */
  ca?: string;
}

/** An order ready to send: every default applied, every field validated. */
export interface ResolvedOrder {
  order: Order;
  /** Lane key: `Empresa`, else the SMTP user, else the sender's address (upper-cased for matching). */
  company: string;
  smtp: ResolvedSmtp;
  from: Address;
  afterSend: AfterSend;
  logSuccess: boolean;
  errorMail: Address[];
  /** Stable across crashes: derived from the order id only. */
  messageId: string;
  /** The company's DKIM key (`companies.<Empresa>.dkim`): every message of the order is signed with it. */
  dkim?: DkimKey;
  /** The company's HTML envelope (absolute `file`; `key` names it in the configuration), for an HTML body only; read at send time. */
  envelope?: { file: string; key: string };
}

/** What nodemailer's DKIM signer takes (its per-message `dkim` option); `privateKey` is a secret (PEM). */
export interface DkimKey {
  domainName: string;
  keySelector: string;
  privateKey: string;
}

/** An attachment after path mapping and containment checks. */
export interface ResolvedAttachment {
  /** The path written in the order. */
  source: string;
  /** Absolute real path (symlinks resolved) inside the attachment or order folder. */
  path: string;
  filename: string;
  contentType: string;
  size: number;
  /**
   * The file's bytes, read while it was checked, when it is up to 256 KB (see
   * INLINE_ATTACHMENT_MAX in io/store/attachments.ts); larger files are streamed
   * from `path` at send time.
   */
  content?: Buffer;
}

/** A file's name as sent, its size and SHA-256 (hex). */
export interface DigestedFile {
  name: string;
  size: number;
  sha256: string;
}

/**
 * What the SMTP pool learnt while a message went out (io/smtp/proof.ts),
 * beyond nodemailer's own info: the digest of the exact bytes the server
 * received and the connection that carried them; the acuse's facts
 * (order/acuse.ts).
 */
export interface SendProof {
  size: number;
  sha256: string;
  /** Epoch ms when the server's final reply arrived. */
  acceptedAt: number;
  server: { host: string; port: number };
  tls: { used: boolean; protocol: string | null };
  envelopeFrom: string;
  attachments: DigestedFile[];
  /** The exact bytes sent, when the pool was asked to keep them (`keepEml`). */
  eml?: Uint8Array;
}

export interface SendResult {
  messageId: string;
  accepted: string[];
  /** Recipients refused with a 5xx while others were accepted. */
  rejected: { address: string; response?: string }[];
  /** The server's final reply to DATA. */
  response: string;
  /** The digest of the bytes sent and the connection that carried them (the acuse, order/acuse.ts); absent from pools that do not learn it. */
  proof?: SendProof;
}

/** Sends one message; rejects with a MailerError whose code says temporary or permanent. */
export interface Sender {
  send(resolved: ResolvedOrder, attachments: ResolvedAttachment[]): Promise<SendResult>;
  /** Closes pooled connections; in-flight sends finish or fail first. */
  close(): Promise<void>;
}

/** Where an order file is: waiting in the order folder, or claimed in this machine's work area. */
export type OrderLocation = 'inbox' | 'claimed';

/** Retry bookkeeping that survives a restart, kept beside a claimed order. */
export interface PersistedOrderState {
  attempts: number;
  /** Epoch ms of the next try; absent when it may be tried at once. */
  nextTryAt?: number;
  lastError?: SerializedError;
  firstSeenAt: number;
  company?: string;
  /** Set when the SMTP server accepted the message but the file could not be archived yet: never send again. */
  sentAt?: number;
  afterSend?: AfterSend;
  /**
   * Epoch ms when this process began work on the order (reading, sending),
   * written when a state file exists at that moment; absent while the order
   * only waits (deferred, blocked). Found at the next start, it means the
   * process ended while the order was in flight. An order claimed without
   * any state file was in flight too: the claim is taken when work begins,
   * and every way of leaving an order claimed while idle saves a state.
   */
  inFlightSince?: number;
  /** Consecutive starts that found the order in flight (see inFlightSince); a normal outcome resets it. */
  crashes?: number;
}

export interface OrderStore {
  /** File names of the orders waiting in the order folder (nothing else is listed). */
  listInbox(): Promise<string[]>;
  /** File names of the orders this machine had claimed (to resume after a crash). */
  listClaimed(): Promise<string[]>;
  /** Raw bytes of an order file. */
  read(fileName: string, where: OrderLocation): Promise<Buffer>;
  /**
   * Atomically moves the order from the order folder into this machine's work
   * area. Resolves false when the file is gone (another mailer claimed it).
   */
  claim(fileName: string): Promise<boolean>;
  /**
   * Resolves while the order is still claimed by this machine (its file in
   * this machine's claims folder); rejects with CLAIM_LOST once it is not
   * (another machine took it over while this one was stopped, or it was
   * removed). Asked right before a message is handed to the SMTP server.
   */
  confirmClaim(fileName: string): Promise<void>;
  loadState(fileName: string): Promise<PersistedOrderState | undefined>;
  saveState(fileName: string, state: PersistedOrderState): Promise<void>;
  /** After a successful send: enviados/, recycle bin or delete. Never before the message was accepted. */
  archiveSent(fileName: string, afterSend: AfterSend): Promise<void>;
  /** After a permanent failure: errores/<file> and errores/<file>.error.txt with `note`. */
  archiveFailed(fileName: string, note: string): Promise<void>;
}

/** A permanent failure to report to the order's error address. */
export interface FailureReport {
  orderId: string;
  fileName: string;
  company?: string;
  error: MailerError | SerializedError;
  /** Plain-words explanation, already in the configured language. */
  reason: string;
  to: Address[];
  /** SMTP server and sender to send the notification through, when known. */
  smtp?: ResolvedSmtp;
  from?: Address;
  /** Recipients refused while the message itself was sent (partial delivery). */
  rejectedRecipients?: { address: string; response?: string }[];
}

export interface Notifier {
  notify(report: FailureReport): Promise<void>;
  close(): Promise<void>;
}

export type { PartialOrder };
