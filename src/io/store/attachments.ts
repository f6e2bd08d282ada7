/**
 * Turns the `Adjuntos/Archivo` paths of an order into files that may be sent
 * (spec §2, Attachments). The guarantees:
 * - every returned path is an absolute real path (symlinks resolved) to a
 *   regular, readable file inside the attachment folder or the order folder;
 * - a path that leaves those folders (`..`, a symlink or junction pointing
 *   out, another absolute path, on Linux a Windows path with no configured
 *   mapping) is refused with ATTACHMENT_OUTSIDE, a missing one with
 *   ATTACHMENT_MISSING, anything that cannot be read as a file with
 *   ATTACHMENT_UNREADABLE;
 * - `pathMap` applies first on every system; what it does not map is, on
 *   Windows, resolved natively (drive and UNC paths, either separator,
 *   names compared ignoring case) and, on Linux, refused when it is a
 *   Windows path: there it means nothing without a mapping;
 * - all attachments are checked before the caller sends anything, so an order
 *   with one bad attachment never produces a partial e-mail.
 */
import { constants as fsConstants } from 'node:fs';
import path from 'node:path';

import { ErrorCodes, MailerError, type ErrorCode } from '../../errors.js';
import type { Order, OrderAttachment } from '../../order/types.js';
import type { ResolvedAttachment } from '../../ports.js';
import { asyncFileCalls, type FileCalls } from './file-calls.js';

export interface AttachmentOptions {
  /** The attachment folder (MAILER_ATTACHMENT_PATH), absolute. */
  attachmentsDir: string;
  /** The order folder (MAILER_DIR), absolute. */
  orderDir: string;
  /** Windows prefix → local prefix (Config.pathMap). */
  pathMap: Readonly<Record<string, string>>;
  /** The file calls to make (the order store's `calls`). Default: asynchronous. */
  calls?: FileCalls;
}

const FIELD = 'Adjuntos/Archivo';

/** `C:\…`, `C:/…`, `C:foo` (drive-relative). */
const DRIVE_PATH = /^[A-Za-z]:/;
/** `C:\…`, `C:/…`: a drive path that names its folder fully. */
const DRIVE_ABSOLUTE = /^[A-Za-z]:[\\/]/;
/** `\\server\share\…` or `//server/share/…`. */
const UNC_PATH = /^[\\/]{2}[^\\/]/;

/**
 * Applies the longest matching `pathMap` prefix to a path as written in an
 * order; returns the mapped local path (with `/` separators), or undefined when
 * no prefix matches. Prefixes match with either separator and only at a path
 * boundary; Windows-style prefixes (drive, UNC, or containing `\`) match
 * case-insensitively, POSIX ones exactly.
 */
export function mapWindowsPath(p: string, pathMap: Readonly<Record<string, string>>): string | undefined {
  const written = toSlashes(p);
  const entries = Object.entries(pathMap).sort((a, b) => b[0].length - a[0].length);
  for (const [from, to] of entries) {
    const prefix = toSlashes(from).replace(/\/+$/, '');
    if (prefix === '') continue;
    const windowsStyle = DRIVE_PATH.test(from) || UNC_PATH.test(from) || from.includes('\\');
    const head = written.slice(0, prefix.length);
    const same = windowsStyle ? head.toLowerCase() === prefix.toLowerCase() : head === prefix;
    const boundary = written.length === prefix.length || written[prefix.length] === '/';
    if (!same || !boundary) continue;
    const rest = written.slice(prefix.length).replace(/^\/+/, '');
    const base = toSlashes(to).replace(/\/+$/, '');
    return rest === '' ? base || '/' : `${base}/${rest}`;
  }
  return undefined;
}

/**
 * Resolves and checks every attachment of an order. Rejects with the first
 * failure (its message lists the others too), so nothing is sent when any
 * attachment is bad.
 */
export async function resolveAttachments(order: Order, opts: AttachmentOptions): Promise<ResolvedAttachment[]> {
  const calls = opts.calls ?? asyncFileCalls;
  const roots = await realRoots(opts, calls);
  const results = await Promise.all(order.attachments.map((a) => settle(resolveOne(a, opts, roots, calls))));
  const failures = results.filter((r): r is { error: MailerError } => 'error' in r).map((r) => r.error);
  const first = failures[0];
  if (first === undefined) return results.map((r) => (r as { value: ResolvedAttachment }).value);
  if (failures.length === 1) throw first;
  const others = failures.slice(1).map((f) => `${f.code} ${f.path ?? f.value ?? ''}`.trim());
  throw new MailerError(first.code, `${first.message} (also: ${others.join('; ')})`, {
    field: FIELD,
    ...(first.value !== undefined && { value: first.value }),
    ...(first.path !== undefined && { path: first.path }),
  });
}

/** The content type spec §2 asks for, from the file's extension. */
export function contentTypeFor(fileName: string): string {
  const ext = path.posix.extname(toSlashes(fileName)).toLowerCase();
  if (ext === '.xml') return 'application/xml';
  if (ext === '.pdf') return 'application/pdf';
  return 'application/octet-stream';
}

/** The last component of a path written with either separator. */
export function baseName(p: string): string {
  const parts = toSlashes(p).split('/').filter((s) => s !== '');
  return parts[parts.length - 1] ?? p;
}

interface Roots {
  /** The folders as configured (absolute, normalised). */
  lexical: string[];
  /** The same folders with symlinks resolved. */
  real: string[];
}

/**
 * The folders resolved once every few seconds rather than for every order:
 * they are configuration, and a folder re-pointed by an administrator is
 * picked up within ROOTS_TTL_MS. Every attachment is still resolved itself.
 */
const ROOTS_TTL_MS = 5_000;
const rootsCache = new Map<string, { roots: Promise<Roots>; at: number }>();

function realRoots(opts: AttachmentOptions, { realpath }: FileCalls): Promise<Roots> {
  const lexical = [path.resolve(opts.attachmentsDir), path.resolve(opts.orderDir)];
  const key = lexical.join('\0');
  const cached = rootsCache.get(key);
  if (cached && Date.now() - cached.at < ROOTS_TTL_MS) return cached.roots;
  const roots = Promise.all(lexical.map((dir) => realpath(dir).catch(() => dir))).then((real) => ({ lexical, real }));
  rootsCache.set(key, { roots, at: Date.now() });
  return roots;
}

async function resolveOne(att: OrderAttachment, opts: AttachmentOptions, roots: Roots, calls: FileCalls): Promise<ResolvedAttachment> {
  const source = att.path;
  const refuse = (code: ErrorCode, why: string): MailerError => new MailerError(code, `Attachment ${JSON.stringify(source)} ${why}`, { field: FIELD, value: source });

  const candidate = localPath(source, opts);
  if (typeof candidate !== 'string') throw refuse(ErrorCodes.ATTACHMENT_OUTSIDE, candidate.refused);
  // From here on every refusal names the absolute path looked at: what the person must check.
  const fail = (code: ErrorCode, why: string, cause?: unknown): MailerError =>
    new MailerError(code, `Attachment ${JSON.stringify(source)} (looked for at ${candidate}) ${why}`, { field: FIELD, value: source, path: candidate, cause });
  // Checked lexically first so that `..` is refused as "outside" even when the target does not exist
  // (against the folders as configured and as resolved, so either spelling of a symlinked folder works).
  if (!insideAny(candidate, [...roots.lexical, ...roots.real])) throw fail(ErrorCodes.ATTACHMENT_OUTSIDE, 'is outside the attachment and order folders');

  let real: string;
  try {
    real = await calls.realpath(candidate);
  } catch (err) {
    // A missing target behind a link that points out must be refused as
    // outside too, or an order could probe which files exist elsewhere.
    if (!insideAny(await realAncestor(candidate, calls), roots.real)) throw fail(ErrorCodes.ATTACHMENT_OUTSIDE, 'leads outside the attachment and order folders');
    throw fail(fsErrorCode(err), `cannot be found (${errnoOf(err)})`, err);
  }
  if (!insideAny(real, roots.real)) throw fail(ErrorCodes.ATTACHMENT_OUTSIDE, 'leads outside the attachment and order folders');

  const info = await examine(real, fail, calls);

  return {
    source,
    path: real,
    filename: att.filename?.trim() || baseName(source),
    contentType: contentTypeFor(source),
    size: info.size,
    ...(info.content !== undefined && { content: info.content }),
  };
}

/**
 * The local absolute path an order's path designates (not yet checked for
 * containment), or why it designates none. `pathMap` applies first. On
 * Windows, drive and UNC paths are the system's own and `path.resolve` takes
 * them as they are; a path relative to a drive's current folder (`C:file`) or
 * rooted on no drive (`\dir\file`) depends on the current drive and folders
 * of the program that wrote the order, so it is refused rather than guessed.
 * On Linux, drive, UNC and `\`-rooted paths only have a meaning through
 * `pathMap`.
 */
function localPath(source: string, opts: AttachmentOptions): string | { refused: string } {
  const mapped = mapWindowsPath(source, opts.pathMap);
  if (mapped !== undefined) return path.resolve(mapped);
  if (process.platform === 'win32') {
    if (DRIVE_ABSOLUTE.test(source) || UNC_PATH.test(source)) return path.resolve(source);
    if (DRIVE_PATH.test(source)) return { refused: "is relative to a drive's current folder" };
    if (/^[\\/]/.test(source)) return { refused: 'names no drive' };
    return path.resolve(opts.attachmentsDir, source);
  }
  if (DRIVE_PATH.test(source) || UNC_PATH.test(source) || source.startsWith('\\')) {
    return { refused: 'is a Windows path with no pathMap entry (a mailer on Linux needs one to read it)' };
  }
  const slashed = toSlashes(source);
  return slashed.startsWith('/') ? path.resolve(slashed) : path.resolve(opts.attachmentsDir, slashed);
}

/**
 * Attachments up to this size are read while they are checked and handed to
 * the sender as bytes: a CFDI's XML is tens of KB and its PDF usually under
 * 256 KB. The read proves the file readable, and the SMTP worker then spends
 * no file calls of its own on it. Larger ones are checked with an access call
 * and streamed from their path at send time, in 64 KB pieces.
 *
 * Why 256 KB: streaming a file from the SMTP worker costs an open, reads and
 * a close through libuv's thread pool, each a wake-up of the worker, and that
 * costs more than base64-encoding the bytes in one piece (which for over
 * ~96 KB allocates in V8's large-object space): a typical CFDI's PDF goes
 * faster, and with less worker CPU, as bytes (the figures are in
 * docs/benchmark.md). Memory stays bounded by this size times the orders in
 * flight (a lane holds 2 × maxConnections); the bytes live outside V8's heap.
 */
export const INLINE_ATTACHMENT_MAX = 256 * 1024;

/**
 * Checks the file is a regular file and readable by this process: a stat
 * (type and size; a FIFO or device is never opened), then either reading it
 * (small files) or an access check (permissions and ACLs, as the kernel
 * decides them for this process). Should a share still refuse a streamed
 * read later, nodemailer's stream fails before the message is complete, the
 * SMTP transaction is dropped, and the error is mapped to
 * ATTACHMENT_UNREADABLE: never a partial e-mail either way.
 */
async function examine(
  file: string,
  fail: (code: ErrorCode, why: string, cause?: unknown) => MailerError,
  { access, readFile, stat }: FileCalls,
): Promise<{ size: number; content?: Buffer }> {
  const info = await stat(file).catch((err: unknown) => {
    const code = errnoOf(err);
    throw code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP'
      ? fail(ErrorCodes.ATTACHMENT_MISSING, `cannot be found (${code})`, err)
      : fail(ErrorCodes.ATTACHMENT_UNREADABLE, `cannot be examined (${code})`, err);
  });
  if (!info.isFile()) throw fail(ErrorCodes.ATTACHMENT_UNREADABLE, 'is not a regular file');
  if (info.size <= INLINE_ATTACHMENT_MAX) {
    const content = await readFile(file).catch((err: unknown) => {
      throw fail(ErrorCodes.ATTACHMENT_UNREADABLE, `cannot be read (${errnoOf(err)})`, err);
    });
    return { size: content.length, content };
  }
  await access(file, fsConstants.R_OK).catch((err: unknown) => {
    throw fail(ErrorCodes.ATTACHMENT_UNREADABLE, `cannot be read (${errnoOf(err)})`, err);
  });
  return { size: info.size };
}

/**
 * Where `candidate` really leads as far as it exists: the real path of its
 * deepest existing ancestor, with the missing rest appended. Links along the
 * existing part are followed, so a link pointing out shows as outside.
 */
async function realAncestor(candidate: string, { realpath }: FileCalls): Promise<string> {
  const missing: string[] = [];
  let at = candidate;
  for (;;) {
    try {
      return path.join(await realpath(at), ...missing);
    } catch {
      const parent = path.dirname(at);
      if (parent === at) return candidate;
      missing.unshift(path.basename(at));
      at = parent;
    }
  }
}

/** Whether `candidate` lies strictly inside one of `roots`; on Windows `path.relative` compares names ignoring case, as the file system does. */
function insideAny(candidate: string, roots: string[]): boolean {
  return roots.some((root) => {
    const rel = path.relative(root, candidate);
    return rel !== '' && rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
  });
}

function fsErrorCode(err: unknown): ErrorCode {
  const code = errnoOf(err);
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP'
    ? ErrorCodes.ATTACHMENT_MISSING
    : ErrorCodes.ATTACHMENT_UNREADABLE;
}

function errnoOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : String(err);
}

function toSlashes(p: string): string {
  return p.replace(/\\/g, '/');
}

async function settle<T>(p: Promise<T>): Promise<{ value: T } | { error: MailerError }> {
  try {
    return { value: await p };
  } catch (err) {
    return { error: err instanceof MailerError ? err : new MailerError(ErrorCodes.INTERNAL, String(err), { cause: err }) };
  }
}
