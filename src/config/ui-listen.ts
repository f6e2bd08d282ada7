/**
 * The status window's listen address (`ui.listen`, `run --ui`): `PORT`,
 * `HOST:PORT` or `[IPV6]:PORT`, and whether a host is this machine only.
 * A window on any other address must have a token (config/load.ts refuses
 * it otherwise), because anyone on the network could open it.
 */

/** Where `run --ui` without a value listens: this machine only, port 8025. */
export const DEFAULT_UI_LISTEN = '127.0.0.1:8025';

export interface ListenAddress {
  /** A host name or IP address, IPv6 without brackets. */
  host: string;
  /** 0 = any free port (the one chosen is logged). */
  port: number;
}

/** `8025`, `0.0.0.0:8025`, `[::1]:8025`, `localhost:8025` → host and port; undefined when it is none of those. */
export function parseListen(text: string): ListenAddress | undefined {
  const s = text.trim();
  const match = /^(?:\[([0-9a-fA-F:.]+)\]:|([^\s:[\]/]+):)?(\d{1,5})$/.exec(s);
  if (!match) return undefined;
  const port = Number(match[3]);
  if (port > 65535) return undefined;
  return { host: match[1] ?? match[2] ?? '127.0.0.1', port };
}

/** `host:port`, with an IPv6 host in brackets: the form the configuration keeps and the log shows. */
export function formatListen(address: ListenAddress): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

/** True for the addresses only this machine can reach: 127.0.0.0/8, ::1 and `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || /^::ffff:127\./.test(h);
}
