/**
 * Shared parts of the reliability tests: the real CLI as a child process
 * (test/helpers/cli.ts), real temp folders, orders written the way the ERP
 * writes them (a temporary name, then a rename into the order folder), the
 * bitácora read back as JSON lines, the Message-IDs of what a server got, and
 * the spec's bound on repeats after a mailer stopped without a clean stop.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'vitest';
import { eventually, preloadEnv, type RunningCli } from '../helpers/cli.js';
import { scopedCli } from '../helpers/scoped.js';
import { makeTmpDir } from '../helpers/tmp.js';

export const ORDER_NAME = /^_CFD_MAIL_REQ_.*\.XML$/i;

/** Starts `proscai-mailer <command> …`; killed with SIGKILL after the test if still alive. */
export const startMailer = scopedCli;

/** What `run` and `once` print, in either language, once they hold the lock and their supervisor starts (JSON lines carry the event name). */
const START_LINE = /supervisor\.started|vigila |revisa una vez|is watching |makes one pass/;

/** The mailer holds its lock and has started its supervisor once its terminal says so. */
export async function started(cli: RunningCli): Promise<void> {
  await eventually(() => START_LINE.test(cli.stderr()), 15_000, 'daemon start');
}

export interface World {
  /** Parent of everything below. */
  root: string;
  /** The order folder. */
  dir: string;
  /** Where orders are written before their rename into `dir` (same volume). */
  stage: string;
}

export async function makeWorld(prefix = 'proscai-rel-'): Promise<World> {
  const root = await makeTmpDir(prefix);
  const dir = path.join(root, 'envio');
  const stage = path.join(root, 'stage');
  await mkdir(dir);
  await mkdir(stage);
  return { root, dir, stage };
}

export interface OrderOptions {
  /** The order's own SMTP block (127.0.0.1, this port, plain); omit it to use the company profile's server. */
  port?: number;
  company?: string;
  to?: string;
  /** CorreoErrores. */
  errorMail?: string;
  /** RegistrarEnvios SI (so the log has an `order.sent` line with the attempts). */
  logSuccess?: boolean;
  subject?: string;
  body?: string;
}

/** A small valid UTF-8 order for a plain SMTP server on 127.0.0.1. */
export function orderXml(o: OrderOptions): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<OrdenEnvio>
  <Empresa>${o.company ?? 'ACME'}</Empresa>
  ${o.port === undefined ? '' : `<SMTP><Servidor>127.0.0.1</Servidor><Puerto>${o.port}</Puerto><Seguridad>NINGUNA</Seguridad></SMTP>`}
  <Remitente>facturas@acme.example</Remitente>
  <Para>${o.to ?? 'cliente@example.com'}</Para>
  <Asunto>${o.subject ?? 'Factura'}</Asunto>
  <Cuerpo>${o.body ?? 'Adjuntamos su CFDI.'}</Cuerpo>
  ${o.errorMail ? `<CorreoErrores>${o.errorMail}</CorreoErrores>` : ''}
  <RegistrarEnvios>${o.logSuccess ? 'SI' : 'NO'}</RegistrarEnvios>
</OrdenEnvio>
`;
}

export const orderName = (id: string): string => `_CFD_MAIL_REQ_${id}.XML`;
/** The id of an order file name (`orderName`'s inverse). */
export const orderIdOf = (name: string): string => name.replace(/^_CFD_MAIL_REQ_|\.XML$/gi, '');

/** A company profile pointing at a plain SMTP server on 127.0.0.1. */
export function profile(port: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { smtp: { host: '127.0.0.1', port, security: 'NINGUNA' }, ...extra };
}

/** The Message-ID the mailer gives order `id` (stable: derived from the id and the sender's domain). */
export const messageIdFor = (id: string): string => `<proscai.${id}@acme.example>`;

/** Writes one order as the ERP does (temporary name, then rename); resolves at the rename with its time. */
export async function dropOrder(world: World, name: string, xml: string): Promise<number> {
  const tmp = path.join(world.stage, name);
  await writeFile(tmp, xml);
  await rename(tmp, path.join(world.dir, name));
  return Date.now();
}

/**
 * Writes many orders into the stage folder, then renames them all into the
 * order folder as fast as the file system allows ("dropped at once").
 */
export async function dropMany(world: World, orders: { name: string; xml: string }[], into = world.dir): Promise<void> {
  const batch = 64;
  for (let i = 0; i < orders.length; i += batch) {
    await Promise.all(orders.slice(i, i + batch).map((o) => writeFile(path.join(world.stage, o.name), o.xml)));
  }
  for (let i = 0; i < orders.length; i += batch) {
    await Promise.all(orders.slice(i, i + batch).map((o) => rename(path.join(world.stage, o.name), path.join(into, o.name))));
  }
}

/** Order file names in a folder ([] when it does not exist). */
export async function ordersIn(folder: string): Promise<string[]> {
  if (!existsSync(folder)) return [];
  return (await readdir(folder)).filter((n) => ORDER_NAME.test(n));
}

export const workDir = (world: World): string => path.join(world.dir, '.proscai-mailer');
export const claimsDir = (world: World, host: string): string => path.join(workDir(world), 'claims', host);

/** Every order still claimed by any host. */
export async function claimedOrders(world: World): Promise<string[]> {
  const root = path.join(workDir(world), 'claims');
  if (!existsSync(root)) return [];
  const out: string[] = [];
  for (const host of await readdir(root)) {
    const folder = path.join(root, host);
    if ((await stat(folder)).isDirectory()) out.push(...(await ordersIn(folder)));
  }
  return out;
}

/** The bitácora as parsed JSON lines ([] before it exists). */
export async function logLines(world: World): Promise<Record<string, unknown>[]> {
  const file = path.join(workDir(world), 'logs', 'mailer.log');
  if (!existsSync(file)) return [];
  return (await readFile(file, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return []; // a line being written right now
      }
    });
}

/**
 * Waits until the bitácora holds what `check` looks for. For lines read after
 * a stop: the log is written in batches (at least every second), and a
 * mailer terminated the Windows way writes no last batch.
 */
export async function logged(world: World, check: (lines: Record<string, unknown>[]) => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  await eventually(async () => check(await logLines(world)), timeoutMs, `${what} in the log`);
}

/** Writes a JSON configuration file next to the order folder; returns its path. */
export async function writeConfig(world: World, config: Record<string, unknown>, name = 'config.json'): Promise<string> {
  const file = path.join(world.root, name);
  await writeFile(file, JSON.stringify({ dir: world.dir, ...config }, null, 2));
  return file;
}

/** The Message-ID header of a raw message. */
export function messageIdOf(raw: Buffer): string | undefined {
  const head = raw.subarray(0, Math.min(raw.length, 8192)).toString('latin1');
  return /^Message-ID:\s*(\S+)/im.exec(head)?.[1];
}

/** How often each Message-ID arrived, and the figures the reports print. */
export function tally(raws: Buffer[]): { distinct: number; duplicates: number; perId: Map<string, number> } {
  const perId = new Map<string, number>();
  for (const raw of raws) {
    const id = messageIdOf(raw) ?? '(none)';
    perId.set(id, (perId.get(id) ?? 0) + 1);
  }
  return { distinct: perId.size, duplicates: raws.length - perId.size, perId };
}

/**
 * Environment for `startMailer` that makes the mailer write its peak resident
 * memory (kB, `process.resourceUsage().maxRSS`: VmHWM on Linux, the peak
 * working set on Windows) to `file` as it exits; `peakRssKb` reads it back.
 */
export function peakRssEnv(file: string): Record<string, string> {
  return preloadEnv(
    `const { writeFileSync } = await import('node:fs');
process.on('exit', () => writeFileSync(${JSON.stringify(file)}, String(process.resourceUsage().maxRSS)));`,
  );
}

/** The peak resident memory (kB) a mailer started with `peakRssEnv(file)` wrote as it exited (0 when it wrote none). */
export async function peakRssKb(file: string): Promise<number> {
  return Number(await readFile(file, 'utf8').catch(() => '0'));
}

/**
 * The spec's bound after a mailer stopped without a clean stop (kill -9, or
 * terminated as Windows does) and a restart: every order of `ids` arrived,
 * each message with its order's own Message-ID, and only orders claimed (in
 * flight) at that instant arrived twice, never more. Returns what repeated.
 */
export function expectEachSentOnceBeyondInFlight(raws: Buffer[], ids: string[], claimedAtStop: string[]): { duplicates: number; repeated: string[] } {
  const expected = new Set(ids.map(messageIdFor));
  const { distinct, duplicates, perId } = tally(raws);
  for (const id of perId.keys()) expect(expected.has(id), id).toBe(true);
  expect(distinct).toBe(ids.length);
  const inFlight = new Set(claimedAtStop.map((name) => messageIdFor(orderIdOf(name))));
  const repeated = [...perId].filter(([, n]) => n > 1).map(([id]) => id);
  for (const id of repeated) {
    expect(inFlight.has(id), id).toBe(true);
    expect(perId.get(id), id).toBe(2);
  }
  return { duplicates, repeated };
}

export { eventually, expectStopped, stopMailer, stopsCleanly } from '../helpers/cli.js';
export { underWine } from '../helpers/tmp.js';
