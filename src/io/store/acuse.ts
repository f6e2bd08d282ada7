/**
 * Where the acuse de envío (order/acuse.ts) of each order is kept, and how it
 * is written, found and pruned.
 *
 * Where: beside the archived order for CONSERVAR
 * (`<dir>/enviados/<order file>.acuse.json`), in the work area for RECICLAR
 * and ELIMINAR (`<workDir>/acuses/<order file>.acuse.json`), whose records
 * are deleted once older than the log's retention (`logKeepDays`); the ones
 * in `enviados/` live as long as the order beside them. With `keepEml` the
 * message as sent is kept beside its record (`<order file>.eml`; a re-send's
 * `<order file>.2.eml`, …).
 *
 * Guarantees:
 * - writing never loses, delays past its own write, or repeats an order: every
 *   failure is reported through `onProblem` and swallowed, so the order
 *   completes whatever the disk says (the mailer logs `acuse.missing`);
 * - a record is replaced atomically (temporary file, rename): a reader sees
 *   the previous record or the new one, never half of one;
 * - a try is recorded before the message is handed over (outcome unknown) and
 *   completed once it is accepted; a try that failed is taken out again;
 * - the completed record is on disk (fsync) before the order is archived. The
 *   record of a try begun is written through the order store's file calls
 *   (io/store/file-calls.ts: synchronous on a local disk) and not fsynced: it
 *   must survive the mailer's own death (kill -9, an abort), which the
 *   system's cache does; a power cut that loses it loses the order's claim
 *   state with it, and the re-send records its own try. Measured with
 *   `npm run bench -- --quick` (500 orders): fsynced asynchronous writes for
 *   both steps cost the mailer about a quarter of its throughput.
 */
import fs from 'node:fs/promises';
import path from 'node:path';

import {
  ACUSE_SUFFIX,
  EML_SUFFIX,
  acceptTry,
  beginTry,
  dropTry,
  parseAcuse,
  type AcuseOrder,
  type AcuseRecord,
} from '../../order/acuse.js';
import { orderIdOf, type AfterSend } from '../../order/types.js';
import type { SendResult } from '../../ports.js';
import { asyncFileCalls, type FileCalls } from './file-calls.js';
import { errnoOf, writeFileAtomic } from './files.js';

/** The work-area folder of the records of orders that were not kept. */
export const ACUSES_FOLDER = 'acuses';
/** How often at most the work-area records are pruned (on a write). */
export const PRUNE_EVERY_MS = 6 * 60 * 60 * 1000;

export type AcuseStep = 'begin' | 'accepted' | 'eml' | 'abandon' | 'prune';

export interface AcuseBookOptions {
  /** The order folder (`enviados/` inside it). */
  dir: string;
  workDir: string;
  /** Keep the message as sent beside its record (the pool must have been asked to keep its bytes). */
  keepEml: boolean;
  /** Days a work-area record is kept (Config.logKeepDays). */
  keepDays: number;
  /** Told of every write that failed; the order goes on. */
  onProblem(step: AcuseStep, fileName: string, error: unknown): void;
  now?: () => number;
  /** How a try's first record is read and written (the order store's calls; default: asynchronous). */
  calls?: FileCalls;
}

export interface AcuseBook {
  /** Records a try as begun (outcome unknown); resolves with its start time, which names it. Never rejects. */
  begin(order: AcuseOrder): Promise<number>;
  /** Completes the try with the server's acceptance (and keeps the message when `keepEml`). Resolves whether it could be written (never rejects). */
  accepted(order: AcuseOrder, startedAt: number, result: SendResult): Promise<boolean>;
  /** Takes a try that failed (nothing was sent) out of the record. Never rejects. */
  abandon(order: AcuseOrder, startedAt: number): Promise<void>;
  /** Deletes work-area records and kept messages older than `keepDays`; resolves with how many files went. */
  prune(): Promise<number>;
}

/** The folder that holds the record of an order that goes `afterSend`. */
export function acuseFolderFor(dir: string, workDir: string, afterSend: AfterSend): string {
  return afterSend === 'CONSERVAR' ? path.join(dir, 'enviados') : path.join(workDir, ACUSES_FOLDER);
}

export function createAcuseBook(opts: AcuseBookOptions): AcuseBook {
  const now = opts.now ?? Date.now;
  const calls = opts.calls ?? asyncFileCalls;
  /** Records of the sends in flight, so completing a try does not read the file again. */
  const open = new Map<string, AcuseRecord | undefined>();
  let lastPrune = 0;

  const fileOf = (order: AcuseOrder): string =>
    path.join(acuseFolderFor(opts.dir, opts.workDir, order.resolved.afterSend), `${order.resolved.order.fileName}${ACUSE_SUFFIX}`);

  async function write(file: string, record: AcuseRecord | undefined, durable = true): Promise<void> {
    if (record === undefined) {
      await fs.unlink(file).catch((err: unknown) => {
        if (errnoOf(err) !== 'ENOENT') throw err;
      });
      return;
    }
    const text = `${JSON.stringify(record, null, 2)}\n`;
    await (durable ? writeInto(file, text) : writeQuickly(calls, file, text));
  }

  async function begin(order: AcuseOrder): Promise<number> {
    const startedAt = now();
    const file = fileOf(order);
    try {
      const previous = await readRecord(file, calls);
      const record = beginTry(previous, order, startedAt);
      open.set(file, record);
      await write(file, record, false);
    } catch (error) {
      opts.onProblem('begin', order.resolved.order.fileName, error);
    }
    return startedAt;
  }

  async function accepted(order: AcuseOrder, startedAt: number, result: SendResult): Promise<boolean> {
    const file = fileOf(order);
    const fileName = order.resolved.order.fileName;
    let previous: AcuseRecord | undefined;
    try {
      previous = open.has(file) ? open.get(file) : await readRecord(file);
    } catch {
      previous = undefined; // unreadable: the record is written anew
    }
    let eml: string | undefined;
    if (opts.keepEml && result.proof?.eml !== undefined) {
      // A re-send keeps its own copy: each accepted try's digest matches the file it names.
      const before = previous?.tries.filter((t) => t.outcome === 'accepted').length ?? 0;
      const name = before === 0 ? `${fileName}${EML_SUFFIX}` : `${fileName}.${before + 1}${EML_SUFFIX}`;
      try {
        await writeInto(path.join(path.dirname(file), name), result.proof.eml);
        eml = name;
      } catch (error) {
        opts.onProblem('eml', fileName, error);
      }
    }
    let written = true;
    try {
      await write(file, acceptTry(previous, order, startedAt, result, result.proof, eml));
    } catch (error) {
      written = false;
      opts.onProblem('accepted', fileName, error);
    } finally {
      open.delete(file);
    }
    if (now() - lastPrune >= PRUNE_EVERY_MS) {
      lastPrune = now();
      void prune().catch((error: unknown) => opts.onProblem('prune', fileName, error));
    }
    return written;
  }

  async function abandon(order: AcuseOrder, startedAt: number): Promise<void> {
    const file = fileOf(order);
    try {
      const previous = open.has(file) ? open.get(file) : await readRecord(file);
      await write(file, dropTry(previous, startedAt));
    } catch (error) {
      opts.onProblem('abandon', order.resolved.order.fileName, error);
    } finally {
      open.delete(file);
    }
  }

  async function prune(): Promise<number> {
    const folder = path.join(opts.workDir, ACUSES_FOLDER);
    const cutoff = now() - opts.keepDays * 24 * 60 * 60 * 1000;
    let names: string[];
    try {
      names = await fs.readdir(folder);
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return 0;
      throw err;
    }
    let deleted = 0;
    for (const name of names) {
      if (!name.endsWith(ACUSE_SUFFIX) && !name.endsWith(EML_SUFFIX)) continue;
      const file = path.join(folder, name);
      const stat = await fs.stat(file).catch(() => undefined);
      if (stat === undefined || !stat.isFile() || stat.mtimeMs >= cutoff) continue;
      await fs.unlink(file).then(
        () => (deleted += 1),
        (err: unknown) => {
          if (errnoOf(err) !== 'ENOENT') throw err;
        },
      );
    }
    return deleted;
  }

  return { begin, accepted, abandon, prune };
}

/** Writes atomically, creating the folder when it is missing (`enviados/` before the first archive). */
async function writeInto(file: string, data: string | Uint8Array): Promise<void> {
  const bytes = typeof data === 'string' ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  try {
    await writeFileAtomic(file, bytes);
  } catch (err) {
    if (errnoOf(err) !== 'ENOENT') throw err;
    await fs.mkdir(path.dirname(file), { recursive: true });
    await writeFileAtomic(file, bytes);
  }
}

/** Replaces `file` through a temporary file and a rename, without fsync (see the module comment); creates the folder when missing. */
async function writeQuickly(calls: FileCalls, file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}.${(quickSerial++).toString(36)}.tmp`;
  try {
    await calls.writeFile(tmp, text);
  } catch (err) {
    if (errnoOf(err) !== 'ENOENT') throw err;
    await calls.mkdirp(path.dirname(file));
    await calls.writeFile(tmp, text);
  }
  try {
    await calls.rename(tmp, file);
  } catch (err) {
    await calls.unlink(tmp).catch(() => undefined);
    throw err;
  }
}

let quickSerial = 0;

/** The record in `file`; undefined when there is none (or it is not a record). */
export async function readRecord(file: string, calls: FileCalls = asyncFileCalls): Promise<AcuseRecord | undefined> {
  try {
    return parseAcuse(await calls.readText(file));
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return undefined;
    throw err;
  }
}

/** A record found for an order id, with the file it is in. */
export interface FoundAcuse {
  file: string;
  record: AcuseRecord;
}

/**
 * The records of order `orderId` in the given folders (`enviados/` and the
 * work area of each), file names compared ignoring case; the one with the
 * latest try first.
 */
export async function findAcuses(folders: readonly { dir: string; workDir: string }[], orderId: string): Promise<FoundAcuse[]> {
  const wanted = orderId.toLowerCase();
  const places = folders.flatMap((f) => [acuseFolderFor(f.dir, f.workDir, 'CONSERVAR'), acuseFolderFor(f.dir, f.workDir, 'ELIMINAR')]);
  const found: FoundAcuse[] = [];
  for (const folder of [...new Set(places)]) {
    const names = await fs.readdir(folder).catch(() => [] as string[]);
    for (const name of names) {
      if (!name.endsWith(ACUSE_SUFFIX) || orderIdOf(name.slice(0, -ACUSE_SUFFIX.length))?.toLowerCase() !== wanted) continue;
      const file = path.join(folder, name);
      const record = await readRecord(file).catch(() => undefined);
      if (record !== undefined) found.push({ file, record });
    }
  }
  const latest = (r: AcuseRecord): string => r.tries.map((t) => t.startedAt).sort().pop() ?? '';
  return found.sort((a, b) => latest(b.record).localeCompare(latest(a.record)));
}
