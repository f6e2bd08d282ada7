/**
 * `proscai-mailer retry <id>` and `retry --failed`: after the cause of a
 * failure was fixed, puts orders back in the queue.
 *
 * - A failed order (in `errores/`) goes back to the order folder under its
 *   original name and its `.error.txt` note is deleted (store.requeueFailed);
 *   a running mailer's watcher, or the next `once`, sends it.
 * - A deferred order (claimed, next try in the future) is made due now by
 *   rewriting its state's next try, but ONLY while no mailer runs: the check
 *   and the rewrite happen under this machine's instance lock, so a mailer
 *   cannot start in between. A running mailer keeps its own timer; then
 *   nothing changes and the report says when it will try.
 * Each order put back leaves an `order.retry_requested` line in the log, so
 * `trace` shows it.
 */
import path from 'node:path';
import type { Config, Language } from '../config/types.js';
import { isMailerError, type MailerError } from '../errors.js';
import { describeError, formatLocalTime } from '../text/errors.js';
import { FAILED_PATTERN } from '../io/store/archive.js';
import { listOrderFilesOrNone, unnumberedName } from '../io/store/files.js';
import { appendLogEntry } from '../io/log/log.js';
import { acquireInstanceLock, hostOf, type AcquireResult, type InstanceOwner } from '../io/host/lock.js';
import { logFileOf } from '../io/log/reader.js';
import { createOrderStore, type FsOrderStore } from '../io/store/store.js';
import { orderIdOf } from '../order/types.js';
import { orderIdOfRef } from './trace.js';
import { Events } from '../io/log/events.js';

export interface RetryTarget {
  /** An order id or file name (case-insensitive); ignored with `failed`. */
  id?: string;
  /** Every order in `errores/`. */
  failed?: boolean;
}

export interface RetryReport {
  /** Failed orders moved back to the order folder: name in `errores/` → name in the order folder. */
  requeued: { from: string; to: string }[];
  /** Deferred orders made due now (no mailer was running). */
  rescheduled: { fileName: string; previousNextTryAt: string }[];
  /** Deferred orders left to the running mailer, which tries them at `nextTryAt`. */
  leftToMailer: { fileName: string; nextTryAt: string; owner?: InstanceOwner }[];
  /** Claimed orders already due or being sent: nothing to do. */
  inProgress: string[];
  /** Orders already waiting in the order folder: nothing to do. */
  alreadyQueued: string[];
  /** Orders that matched but could not be moved or rescheduled. */
  errors: { fileName: string; error: MailerError }[];
}

/** True when something matched the target (even if nothing had to change). */
export function matchedAnything(report: RetryReport): boolean {
  return report.requeued.length + report.rescheduled.length + report.leftToMailer.length + report.inProgress.length + report.alreadyQueued.length + report.errors.length > 0;
}

const idOfName = (fileName: string): string => (orderIdOf(unnumberedName(fileName)) ?? fileName).toLowerCase();

/** Where an order file can be: the order folder, claimed by this machine (in progress, or waiting for a retry), `errores/`, `enviados/`. */
export type OrderPlace = 'inbox' | 'claimed' | 'deferred' | 'failed' | 'sent';

export interface FoundOrder {
  place: OrderPlace;
  fileName: string;
  /** The file's absolute path. */
  path: string;
  /** `deferred`: when its next try is due (ISO). */
  nextTryAt?: string;
}

const createStore = (config: Config): FsOrderStore =>
  createOrderStore({ dir: config.dir, workDir: config.workDir, recycleDir: config.recycleDir, ...hostOf(config) });

/**
 * Every file of the order `ref` (its id or file name, ignoring case; numbered
 * copies such as `… (1).XML` included), where `retry` and the mailer look for
 * it: the order folder, this machine's claims (deferred when its saved state
 * has a next try still to come), `errores/`, `enviados/`; in that order.
 * Read-only: nothing is moved or locked. A missing `errores/` or `enviados/`
 * is an empty one.
 */
export async function locateOrder(config: Config, ref: string, now: Date = new Date()): Promise<FoundOrder[]> {
  const wanted = orderIdOfRef(ref).toLowerCase();
  if (wanted === '') return [];
  const store = createStore(config);
  const matching = (names: string[]): string[] => names.filter((n) => idOfName(n) === wanted);
  const found: FoundOrder[] = matching(await store.listInbox()).map((fileName) => ({ place: 'inbox', fileName, path: path.join(config.dir, fileName) }));
  for (const fileName of matching(await store.listClaimed())) {
    const state = await store.loadState(fileName).catch(() => undefined);
    const due = state?.nextTryAt;
    const deferred = due !== undefined && due > now.getTime() && state?.sentAt === undefined;
    found.push({ place: deferred ? 'deferred' : 'claimed', fileName, path: store.claimPath(fileName), ...(deferred && { nextTryAt: new Date(due).toISOString() }) });
  }
  for (const [place, folder] of [['failed', 'errores'], ['sent', 'enviados']] as const) {
    const dir = path.join(config.dir, folder);
    found.push(...matching(await listOrderFilesOrNone(dir, FAILED_PATTERN)).map((fileName) => ({ place, fileName, path: path.join(dir, fileName) })));
  }
  return found;
}

/** Moves the matching failed orders back; fills `report`. */
async function requeueFailed(store: FsOrderStore, config: Config, target: RetryTarget, wanted: string, report: RetryReport): Promise<void> {
  const names = (await store.listFailed()).filter((n) => target.failed === true || idOfName(n) === wanted);
  for (const fileName of names) {
    try {
      const to = await store.requeueFailed(fileName);
      report.requeued.push({ from: fileName, to });
      await appendLogEntry(
        logFileOf(config),
        { event: Events.ORDER_RETRY_REQUESTED, orderId: orderIdOf(to) ?? to, fileName: to, via: 'errores' },
        `${to}: put back in the queue from errores/`,
      );
    } catch (error) {
      if (!isMailerError(error)) throw error;
      report.errors.push({ fileName, error });
    }
  }
}

/** Makes the matching deferred order due now, unless a mailer runs. */
async function rescheduleDeferred(store: FsOrderStore, config: Config, wanted: string, now: Date, report: RetryReport): Promise<void> {
  const names = (await store.listClaimed()).filter((n) => idOfName(n) === wanted);
  if (names.length === 0) return;
  const lock = await acquireInstanceLock({ workDir: config.workDir, ...hostOf(config) });
  try {
    for (const fileName of names) {
      try {
        await rescheduleOne(store, config, fileName, lock, now, report);
      } catch (error) {
        if (!isMailerError(error)) throw error;
        report.errors.push({ fileName, error });
      }
    }
  } finally {
    if (!('running' in lock)) await lock.release();
  }
}

async function rescheduleOne(
  store: FsOrderStore,
  config: Config,
  fileName: string,
  lock: AcquireResult,
  now: Date,
  report: RetryReport,
): Promise<void> {
  const state = await store.loadState(fileName);
  if (state?.nextTryAt === undefined || state.nextTryAt <= now.getTime() || state.sentAt !== undefined) {
    report.inProgress.push(fileName);
  } else if ('running' in lock) {
    report.leftToMailer.push({ fileName, nextTryAt: new Date(state.nextTryAt).toISOString(), owner: lock.running });
  } else {
    await store.saveState(fileName, { ...state, nextTryAt: now.getTime() });
    report.rescheduled.push({ fileName, previousNextTryAt: new Date(state.nextTryAt).toISOString() });
    await appendLogEntry(
      logFileOf(config),
      { event: Events.ORDER_RETRY_REQUESTED, orderId: orderIdOf(fileName) ?? fileName, fileName, via: 'deferred' },
      `${fileName}: next try moved to now`,
    );
  }
}

/** See the module comment; `target.failed` retries every failed order, else the one named by `target.id`. */
export async function retryOrders(config: Config, target: RetryTarget, now: Date = new Date()): Promise<RetryReport> {
  const store = createStore(config);
  const report: RetryReport = { requeued: [], rescheduled: [], leftToMailer: [], inProgress: [], alreadyQueued: [], errors: [] };
  const wanted = target.failed === true ? '' : orderIdOfRef(target.id ?? '').toLowerCase();
  if (target.failed !== true && wanted === '') return report;
  await requeueFailed(store, config, target, wanted, report);
  if (target.failed !== true) {
    await rescheduleDeferred(store, config, wanted, now, report);
    const queued = new Set(report.requeued.map((r) => r.to));
    report.alreadyQueued.push(...(await store.listInbox()).filter((n) => idOfName(n) === wanted && !queued.has(n)));
  }
  return report;
}

const TEXT = {
  es: {
    requeued: 'Devuelta a la cola: errores/{from} → {to} (se enviará en la próxima pasada del mailer: «run» la toma ya; si no corre, use «proscai-mailer once»).',
    rescheduled: 'Reintento adelantado: {file} (estaba previsto para {previous}); se enviará en la próxima pasada («proscai-mailer once» o «run»).',
    leftToMailer: 'El mailer en ejecución (pid {pid}) tiene {file} en espera y lo intentará el {next}. Para intentarlo ya, detenga ese mailer y vuelva a ejecutar «proscai-mailer retry {id}».',
    inProgress: '{file} no está en espera de reintento: el mailer lo intentará en su próxima pasada.',
    alreadyQueued: '{file} ya está en la carpeta de órdenes, en la cola: el mailer la enviará en su próxima pasada.',
    error: 'No se pudo devolver {file} a la cola: {reason}',
    nothing: 'No hay ninguna orden «{id}» en errores/ ni en espera de reintento.',
    nothingFailed: 'No hay órdenes en errores/.',
  },
  en: {
    requeued: 'Put back in the queue: errores/{from} → {to} (the next pass of the mailer sends it: "run" takes it at once; if none runs, use "proscai-mailer once").',
    rescheduled: 'Retry brought forward: {file} (it was due at {previous}); the next pass sends it ("proscai-mailer once" or "run").',
    leftToMailer: 'The running mailer (pid {pid}) holds {file} and will try it at {next}. To try it now, stop that mailer and run "proscai-mailer retry {id}" again.',
    inProgress: '{file} is not waiting for a retry: the mailer tries it on its next pass.',
    alreadyQueued: '{file} is already in the order folder, in the queue: the mailer sends it on its next pass.',
    error: 'Could not put {file} back in the queue: {reason}',
    nothing: 'No order "{id}" is in errores/ or waiting for a retry.',
    nothingFailed: 'There are no orders in errores/.',
  },
} as const;

const fill = (text: string, params: Record<string, unknown>): string => text.replace(/\{(\w+)\}/g, (w, k: string) => (params[k] === undefined ? w : String(params[k])));

/** What was done, one line per order. */
export function formatRetry(report: RetryReport, target: RetryTarget, lang: Language): string {
  const tx = TEXT[lang];
  const local = (iso: string): string => formatLocalTime(new Date(iso));
  if (!matchedAnything(report)) return `${target.failed ? tx.nothingFailed : fill(tx.nothing, { id: target.id })}\n`;
  const lines = [
    ...report.requeued.map((r) => fill(tx.requeued, r)),
    ...report.rescheduled.map((r) => fill(tx.rescheduled, { file: r.fileName, previous: local(r.previousNextTryAt) })),
    ...report.leftToMailer.map((r) =>
      fill(tx.leftToMailer, { file: r.fileName, next: local(r.nextTryAt), pid: r.owner?.pid ?? '?', id: orderIdOf(r.fileName) ?? r.fileName }),
    ),
    ...report.inProgress.map((file) => fill(tx.inProgress, { file })),
    ...report.alreadyQueued.map((file) => fill(tx.alreadyQueued, { file })),
    ...report.errors.map((e) => fill(tx.error, { file: e.fileName, reason: `${describeError(e.error, lang)} (${e.error.message})` })),
  ];
  return `${lines.join('\n')}\n`;
}
