/**
 * The page's live state, shared by every open window: one computation
 * serves `/api/page-state` and every `/api/events` client (Server-Sent
 * Events, event `state`).
 *
 * Guarantees:
 * - the state is computed at most once per `minIntervalMs` (about a second),
 *   and only while a window is open (a GET of `/api/page-state` computes it
 *   at most once per interval too); concurrent requests share the one
 *   computation in progress;
 * - after `changed()` the clients receive the new state within
 *   `minIntervalMs` plus the time the computation takes, and again after each
 *   of the next `settleRounds - 1` intervals: what the state reads lags
 *   behind the change itself (the log file is written in batches, at the
 *   latest a second after a line); without changes it is refreshed every
 *   `refreshMs` (counts over the last 24 hours age, retries come due);
 * - a client that does not read never holds anything up: when its socket's
 *   buffer is full (`write` returns false) it gets nothing more until it
 *   drains, then only the latest state; one stuck for `stuckMs` is dropped.
 */
import type { ServerResponse } from 'node:http';
import type { Language } from '../../config/types.js';

/** One computed state, rendered per language (as JSON text: one `data:` line). */
export interface StateView {
  json(lang: Language): string;
}

export interface StateHubOptions {
  compute: () => Promise<StateView>;
  /** A computation failed (the previous state stays served). */
  onError?: (error: unknown) => void;
  minIntervalMs?: number;
  /** Computations after a change, `minIntervalMs` apart (default 3). */
  settleRounds?: number;
  refreshMs?: number;
  heartbeatMs?: number;
  stuckMs?: number;
}

export interface StateHub {
  /** Something the state shows may have changed: recompute soon if a window is open. */
  changed(): void;
  /** The state, computed at most `minIntervalMs` ago. */
  current(): Promise<StateView>;
  /** Streams the state to `res` (already answered with the SSE headers) until it closes. */
  attach(res: ServerResponse, lang: Language): void;
  /** Open event streams now. */
  clientCount(): number;
  /** Ends every stream and the timers. */
  close(): void;
}

interface Client {
  res: ServerResponse;
  lang: Language;
  /** Set while the socket's buffer is full: when it filled up. */
  blockedSince?: number;
  /** The state to send once it drains. */
  pending?: string;
}

export function createStateHub(options: StateHubOptions): StateHub {
  const minIntervalMs = options.minIntervalMs ?? 1000;
  const refreshMs = options.refreshMs ?? 15_000;
  const settleRounds = options.settleRounds ?? 3;
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const stuckMs = options.stuckMs ?? 30_000;
  const clients = new Set<Client>();
  let view: StateView | undefined;
  let computedAt = 0;
  let inFlight: Promise<StateView> | undefined;
  /** Computations still due: set by a change, one less per push. */
  let rounds = 0;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const compute = (): Promise<StateView> => {
    inFlight ??= options
      .compute()
      .then((next) => {
        view = next;
        return next;
      })
      .catch((error: unknown) => {
        options.onError?.(error);
        if (view === undefined) throw error;
        return view;
      })
      .finally(() => {
        computedAt = Date.now();
        inFlight = undefined;
      });
    return inFlight;
  };

  const send = (client: Client, text: string): void => {
    if (client.blockedSince !== undefined) {
      if (Date.now() - client.blockedSince > stuckMs) client.res.destroy();
      else client.pending = text;
      return;
    }
    if (!client.res.write(text)) client.blockedSince = Date.now();
  };
  const event = (json: string): string => `event: state\ndata: ${json}\n\n`;

  const push = async (): Promise<void> => {
    rounds = Math.max(0, rounds - 1);
    const next = await compute().catch(() => undefined);
    if (next === undefined) return;
    for (const client of clients) send(client, event(next.json(client.lang)));
  };

  /** Runs `push` once the interval since the last computation has passed, if a window is open and something changed. */
  const schedule = (): void => {
    if (closed || timer !== undefined || rounds === 0 || clients.size === 0) return;
    const wait = Math.max(0, computedAt + minIntervalMs - Date.now());
    timer = setTimeout(() => {
      void (inFlight ?? Promise.resolve())
        .then(push)
        .finally(() => {
          timer = undefined;
          schedule();
        });
    }, wait);
    timer.unref();
  };

  const refresh = setInterval(() => {
    rounds = Math.max(rounds, 1);
    schedule();
  }, refreshMs);
  refresh.unref();
  const heartbeat = setInterval(() => {
    for (const client of clients) {
      if (client.blockedSince === undefined) send(client, ': ping\n\n');
      else if (Date.now() - client.blockedSince > stuckMs) client.res.destroy();
    }
  }, heartbeatMs);
  heartbeat.unref();

  return {
    changed: () => {
      rounds = settleRounds;
      schedule();
    },
    current: () => (view !== undefined && Date.now() - computedAt < minIntervalMs && inFlight === undefined ? Promise.resolve(view) : compute()),
    attach: (res, lang) => {
      const client: Client = { res, lang };
      clients.add(client);
      res.on('drain', () => {
        client.blockedSince = undefined;
        const pending = client.pending;
        client.pending = undefined;
        if (pending !== undefined) send(client, pending);
      });
      res.on('close', () => clients.delete(client));
      res.write('retry: 2000\n\n');
      void (view !== undefined && Date.now() - computedAt < minIntervalMs ? Promise.resolve(view) : compute())
        .then((current) => {
          if (clients.has(client)) send(client, event(current.json(lang)));
        })
        .catch(() => {});
      // Changes seen while no window was open still owe their follow-up pushes (the log is written in batches).
      schedule();
    },
    clientCount: () => clients.size,
    close: () => {
      closed = true;
      clearInterval(refresh);
      clearInterval(heartbeat);
      if (timer !== undefined) clearTimeout(timer);
      for (const client of clients) client.res.end();
      clients.clear();
    },
  };
}
