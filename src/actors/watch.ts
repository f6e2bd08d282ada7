/**
 * The supervisor's view of the order folder: the `scan` it runs at start
 * (stale claims given back, this machine's claims and the waiting orders
 * listed) and the `watcher` that runs while it watches (new orders, batched
 * per tick; this machine's heartbeat; other machines' stale claims given back
 * at the rescan pace). The heartbeat and takeover timers live and end with the
 * watcher, so a stopping mailer (STOP, a lost lock) stops beating with it.
 */
import { fromCallback, fromPromise } from 'xstate';
import type { Config } from '../config/types.js';
import type { MailerError } from '../errors.js';
import type { ScanResult } from '../machines/supervisor-types.js';
import type { NotAFile } from '../io/store/files.js';
import { Events } from '../io/log/events.js';
import type { EventLogger } from '../io/log/transitions.js';
import type { FsOrderStore } from '../io/store/store.js';
import { watchOrders } from '../io/store/watcher.js';

export interface WatchDeps {
  config: Pick<Config, 'dir' | 'poll' | 'staleClaimSeconds'>;
  store: Pick<FsOrderStore, 'takeOverStaleClaims' | 'heartbeat' | 'scanInbox'>;
  /** This machine's claims (through the claims-folder health watch). */
  listClaimed: () => Promise<string[]>;
  logger: Pick<EventLogger, 'warn' | 'error'>;
  /** Told when the scan missed part of the folder or the claims (said at error level as `scan.failed`). */
  onScanIncomplete: () => void;
}

/** The `scan` and `watcher` actors of the supervisor over the real order folder. */
export function createWatchActors(deps: WatchDeps) {
  const { config, store, logger } = deps;
  const staleMs = config.staleClaimSeconds * 1000;

  /** Claims of machines that stopped beating go back to the order folder (several mailers on one share). */
  const housekeeping = async () => {
    try {
      const taken = await store.takeOverStaleClaims(staleMs);
      if (taken.length > 0) logger.warn({ event: Events.CLAIMS_TAKEN_OVER, count: taken.length, fileNames: taken }, `${taken.length} stale claims given back`);
    } catch (error) {
      logger.warn({ event: Events.CLAIMS_TAKEOVER_FAILED, error: String((error as Error)?.message ?? error) }, 'stale-claim takeover failed');
    }
  };

  /** Entries named like an order that are not files, each warned about once per process: never taken, never followed. */
  const notFilesWarned = new Set<string>();
  const warnNotAFile = ({ fileName, kind }: NotAFile) => {
    if (notFilesWarned.has(fileName)) return;
    notFilesWarned.add(fileName);
    const what = kind === 'link' ? 'a symbolic link' : kind === 'folder' ? 'a folder' : 'not a regular file';
    logger.warn(
      { event: Events.ORDER_NOT_A_FILE, fileName, kind },
      `${fileName}: named like an order but it is ${what}, not a file; it is left alone and never sent (put the order file itself in the order folder)`,
    );
  };

  const scan = fromPromise<ScanResult, void>(async () => {
    const say = (error: MailerError): void => {
      deps.onScanIncomplete();
      logger.error({ event: Events.SCAN_FAILED, errorCode: error.code, error: error.message }, error.message);
    };
    const failed = (error: MailerError): never => {
      say(error);
      throw error;
    };
    await housekeeping().catch(failed);
    // Claims that cannot be listed are said at error level (and in `status`); the waiting orders are still tried.
    const claimed = await deps.listClaimed().catch((error: MailerError) => {
      say(error);
      return [] as string[];
    });
    const { files, notFiles } = await store.scanInbox().catch(failed);
    for (const entry of notFiles) warnNotAFile(entry);
    return { claimed, inbox: files, notFiles: notFiles.map((e) => e.fileName) };
  });

  const watcher = fromCallback(({ sendBack }) => {
    // Names are gathered for one tick and sent as one event: a rescan of a
    // folder with 100,000 orders is one event for the supervisor, not 100,000.
    let batch: string[] = [];
    let stopped = false;
    const seen = (fileName: string) => {
      if (batch.length === 0) {
        setImmediate(() => {
          const fileNames = batch;
          batch = [];
          if (!stopped) sendBack({ type: 'FILE.SEEN', fileNames });
        });
      }
      batch.push(fileName);
    };
    const watcher = watchOrders({
      dir: config.dir,
      pollSeconds: config.poll,
      onOrder: (fileName) => seen(fileName),
      onNotAFile: warnNotAFile,
      onError: (error) => logger.warn({ event: Events.WATCH_ERROR, errorCode: error.code, error: error.message }, error.message),
    });
    // Heartbeat well within the stale time; takeover checks at the rescan pace.
    const beat = setInterval(() => void store.heartbeat().catch(() => {}), Math.max(1000, Math.min(staleMs / 4, 30_000)));
    const takeover = setInterval(() => void housekeeping(), Math.max(1000, Math.min(staleMs, config.poll * 1000)));
    return () => {
      stopped = true;
      clearInterval(beat);
      clearInterval(takeover);
      void watcher.close();
    };
  });

  return { scan, watcher };
}
