/**
 * The status window (`run --ui`, `ui.listen`; issue 16): started once per
 * `run` process, it serves the page, its live state and the machine
 * interfaces from what `status`, `trace` and `retry` read, for every folder
 * the configuration serves (config/folders.ts). It keeps no state of its own
 * besides the metrics since start: no database, no second process.
 *
 * The page's state (`PageState`) is the `status --json` document plus, in
 * the page's language, one sentence per alert and the reason of every failed
 * or deferred order in plain words; src/io/ui/state-hub.ts decides when it is
 * computed (about once a second at most, only while a window is open).
 */
import type { InspectionEvent } from 'xstate';
import type { Config, Language } from '../config/types.js';
import { foldersOf } from '../config/folders.js';
import { parseListen } from '../config/ui-listen.js';
import type { ErrorCode, SerializedError } from '../errors.js';
import type { SmtpDiagnosis } from '../errors.js';
import { t } from '../text/messages.js';
import { describeError } from '../text/errors.js';
import { pageHtml } from '../text/page/html.js';
import { PAGE_SCRIPT } from '../text/page/script.js';
import { PAGE_STYLE } from '../text/page/style.js';
import { Events } from '../io/log/events.js';
import type { EventLogger } from '../io/log/transitions.js';
import { createUiFeed } from '../io/ui/feed.js';
import { createMailerMetrics, type MailerMetrics } from '../io/ui/metrics.js';
import { startUiServer } from '../io/ui/server.js';
import { createStateHub, type StateView } from '../io/ui/state-hub.js';
import { ExitCode } from './exit-codes.js';
import { formatRetryByFolder, gatherEveryStatus, gatherEveryTrace, reportsOf, retryEveryFolder, traceJson, type StatusDocument } from './every-folder.js';
import { matchedAnything, type RetryReport } from './retry.js';
import { alertLine, type ErrorSummary, type FailureError } from './status.js';
import { formatTrace } from './trace.js';

/** What the page renders (`GET /api/page-state`, and each `state` event of `/api/events`). */
export interface PageState {
  lang: Language;
  /** ISO time the state was computed. */
  at: string;
  /** The `status --json` document: one folder's report, or `{ at, folders, alerts }` for several. */
  status: StatusDocument;
  /** One sentence per alert, in `lang`; empty when all is well. */
  alerts: string[];
  /**
   * Folder (its `dir`) → order id → why it failed or was deferred, in plain
   * words, in `lang`: per folder, because two companies' ERPs may number
   * their orders alike.
   */
  reasons: Record<string, Record<string, string>>;
}

/** The running window: what `run` feeds it and how it ends. */
export interface StatusWindow {
  /** The `inspect` hook for every folder's createMailer. */
  inspect(event: InspectionEvent): void;
  /** Where it listens (`HOST:PORT`, the real port). */
  address: string;
  /**
   * A folder's log, flushed before each computation of the state: the log
   * writes in batches up to a second apart, and the state counts sends from
   * it. Returns the function that forgets it (when that log closes).
   */
  watchLog(flush: () => Promise<void>): () => void;
  close(): Promise<void>;
}

/** A failure as the status document keeps it, in the shape describeError words. */
function asError(e: ErrorSummary & Partial<FailureError>): SerializedError {
  const smtp = {
    ...(e.smtpCode !== undefined && { responseCode: e.smtpCode }),
    ...(e.smtpResponse !== undefined && { response: e.smtpResponse }),
    ...(e.smtpDiagnosis !== undefined && { diagnosis: e.smtpDiagnosis as SmtpDiagnosis }),
  };
  return {
    code: e.code as ErrorCode,
    message: e.message,
    ...(e.field !== undefined && { field: e.field }),
    ...(e.value !== undefined && { value: e.value }),
    ...(Object.keys(smtp).length > 0 && { smtp }),
  };
}

/** The page's state in `lang` from one status document. */
export function pageStateOf(doc: StatusDocument, lang: Language, at: Date = new Date()): PageState {
  const reasons: Record<string, Record<string, string>> = {};
  for (const report of reportsOf(doc)) {
    const ofFolder: Record<string, string> = (reasons[report.dir] = {});
    for (const d of report.deferred) if (d.lastError !== undefined) ofFolder[d.orderId] = describeError(asError(d.lastError), lang);
    for (const f of report.failed) if (f.error !== undefined) ofFolder[f.orderId] = describeError(asError(f.error), lang);
  }
  return { lang, at: at.toISOString(), status: doc, alerts: doc.alerts.map((a) => alertLine(a, lang)), reasons };
}

/** `retry <id>` over every folder, as the window answers it (the same as the `retry` command). */
async function retryAnswer(config: Config, id: string, lang: Language): Promise<{ ok: boolean; message: string; report: RetryReport }> {
  const { byFolder, ...report } = await retryEveryFolder(config, { id });
  const ok = matchedAnything(report) && report.errors.length === 0;
  return { ok, message: formatRetryByFolder({ ...report, byFolder }, { id }, lang).trim(), report };
}

/**
 * The trace of `id` as the window answers it: the `trace --json` lines
 * (`entries`) and the `trace` text in `lang` (each folder's under its
 * folder's line when there are several); undefined when no log knows it.
 */
async function traceAnswer(config: Config, id: string, lang: Language): Promise<unknown> {
  const results = await gatherEveryTrace(config, id);
  if (results[0]!.result.entries.length === 0) return undefined;
  const several = foldersOf(config).length > 1;
  const text = results.map(({ dir, result }) => `${several ? `${dir}\n` : ''}${formatTrace(result, lang)}`).join('\n');
  return { orderId: results[0]!.result.orderId, entries: traceJson(results, several), text };
}

/** Feeds the metrics' waiting and failed-24h gauges from a status document. */
function statusGauges(metrics: MailerMetrics, doc: StatusDocument): void {
  metrics.fromStatus(reportsOf(doc).flatMap((r) => r.companies));
}

/**
 * Starts the window when the configuration asks for one (`ui.listen`):
 * undefined when it does not; the exit status 2 when it cannot listen.
 *
 * `run` exits 2 then rather than sending without the window: the operator
 * asked for it, and a mailer that runs without the page its office watches
 * would look healthy while nobody can see failures. The address in use is
 * most often a second mailer or a typo, both fixed in the configuration, like
 * any other configuration error (the line `ui.failed` says which address and why).
 */
export async function startStatusWindow(config: Config, logger: EventLogger): Promise<StatusWindow | number | undefined> {
  const listen = config.ui.listen === null ? undefined : parseListen(config.ui.listen);
  if (listen === undefined) return undefined;
  const metrics = createMailerMetrics();
  const onError = (error: unknown): void => {
    const message = error instanceof Error ? error.message : String(error);
    logger.warn({ event: Events.UI_ERROR, error: message }, `status window: ${message}`);
  };
  const logs = new Set<() => Promise<void>>();
  /** What the answers read from the logs includes every line written so far (the log writes in batches). */
  const flushLogs = async (): Promise<void> => {
    await Promise.all([...logs].map((flush) => flush().catch(() => {})));
  };
  const hub = createStateHub({
    compute: async (): Promise<StateView> => {
      await flushLogs();
      const at = new Date();
      const doc = await gatherEveryStatus(config, at);
      statusGauges(metrics, doc);
      const rendered = new Map<Language, string>();
      return {
        json: (lang) => {
          let text = rendered.get(lang);
          if (text === undefined) rendered.set(lang, (text = JSON.stringify(pageStateOf(doc, lang, at))));
          return text;
        },
      };
    },
    onError,
  });
  try {
    const server = await startUiServer({
      listen,
      token: config.ui.token,
      routes: {
        defaultLanguage: config.language,
        page: pageHtml,
        script: PAGE_SCRIPT,
        style: PAGE_STYLE,
        hub,
        status: async () => {
          await flushLogs();
          return gatherEveryStatus(config);
        },
        order: async (id, lang) => {
          await flushLogs();
          return traceAnswer(config, id, lang);
        },
        retry: async (id, lang) => {
          const answer = await retryAnswer(config, id, lang);
          hub.changed();
          return answer;
        },
        metrics: async () => {
          await hub.current().catch(() => undefined);
          return metrics.render();
        },
        onError,
      },
    });
    const key = config.ui.token === null ? 'ui.started' : 'ui.started_token';
    logger.info({ event: Events.UI_STARTED, address: server.address, url: server.url, token: config.ui.token !== null }, t(key, config.language, { url: server.url }));
    const watchLog = (flush: () => Promise<void>) => {
      logs.add(flush);
      return () => void logs.delete(flush);
    };
    return { inspect: createUiFeed(metrics, hub.changed), address: server.address, watchLog, close: server.close };
  } catch (error) {
    hub.close();
    const code = (error as NodeJS.ErrnoException).code ?? 'UNKNOWN';
    const reason = error instanceof Error ? error.message : String(error);
    const text = code === 'EADDRINUSE' ? t('ui.in_use', config.language, { address: config.ui.listen! }) : t('ui.failed', config.language, { address: config.ui.listen!, reason });
    logger.error({ event: Events.UI_FAILED, address: config.ui.listen, errorCode: code, error: reason }, text);
    return ExitCode.USAGE;
  }
}
