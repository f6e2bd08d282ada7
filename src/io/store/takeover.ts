/**
 * Taking over the claims of a machine that stopped: several machines may share
 * one order folder, each claiming orders into `<workDir>/claims/<host>/`. A
 * machine that died (or lost the share for good) leaves its claimed orders
 * there; once its heartbeat is older than the stale time, any other machine
 * gives them back to the order folder, where they are claimed again as usual.
 *
 * Clock skew between machines is sidestepped: "now" is the modification time
 * the file server gave to our own heartbeat an instant ago, so both times come
 * from the same clock.
 *
 * The machine presumed dead may in fact be alive but cut off: then an order it
 * was sending may be sent again (at-least-once, same Message-ID), and its own
 * archiving finds the file gone (CLAIM_LOST). That is why the stale time is long.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { MailerError } from '../../errors.js';
import { accessError, errnoOf, exists, listOrderFiles, moveError, renameRetrying } from './files.js';

export const HEARTBEAT = '.heartbeat';
const STATE_SUFFIX = '.state.json';

export interface TakeoverInput {
  /** The order folder. */
  dir: string;
  /** `<workDir>/claims`. */
  claimsRoot: string;
  /** This machine (its folder is never taken over). */
  hostId: string;
  /** Where the state of a given-back order waits for the next claim. */
  handoverDir: string;
  staleMs: number;
  /** Told of each order that had to stay put, and why. */
  warn: (err: MailerError) => void;
}

/**
 * Touches `<claimsDir>/.heartbeat` (its content says who and when, for people
 * looking at the folder). A missing claims folder is made by `makeClaimsDir`
 * (the store's: it never makes the order folder, nor a claims folder that
 * vanished under a running mailer).
 */
export async function writeHeartbeat(claimsDir: string, hostId: string, makeClaimsDir: () => Promise<void>): Promise<void> {
  const file = path.join(claimsDir, HEARTBEAT);
  const body = JSON.stringify({ host: hostId, pid: process.pid, at: new Date().toISOString() });
  try {
    await fs.writeFile(file, body);
  } catch (err) {
    if (errnoOf(err) !== 'ENOENT') throw moveError('write heartbeat', file, err);
    await makeClaimsDir();
    await fs.writeFile(file, body).catch((again: unknown) => {
      throw moveError('write heartbeat', file, again);
    });
  }
}

/** The file server's current time, read from our just-written heartbeat; the local clock if that fails. */
async function serverNow(ownHeartbeat: string): Promise<number> {
  try {
    return (await fs.stat(ownHeartbeat)).mtimeMs;
  } catch {
    return Date.now();
  }
}

/** When a machine last showed life: its heartbeat file, or its claims folder when it never wrote one. */
async function lastBeat(hostDir: string): Promise<number> {
  try {
    return (await fs.stat(path.join(hostDir, HEARTBEAT))).mtimeMs;
  } catch (err) {
    if (errnoOf(err) !== 'ENOENT') throw err;
    return (await fs.stat(hostDir)).mtimeMs;
  }
}

/** Other machines' claims folders. */
async function otherHosts(claimsRoot: string, hostId: string): Promise<string[]> {
  let entries;
  try {
    entries = await fs.readdir(claimsRoot, { withFileTypes: true });
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return [];
    throw accessError('list', claimsRoot, err);
  }
  // Entries of unknown type (some network file systems) are kept: lastBeat's stat sorts them out.
  return entries.filter((e) => e.name !== hostId && !e.isFile()).map((e) => e.name);
}

/** Gives one order back; false when it stays put (reported through warn unless another machine took it first). */
async function giveBack(input: TakeoverInput, hostDir: string, name: string): Promise<boolean> {
  const from = path.join(hostDir, name);
  const to = path.join(input.dir, name);
  try {
    if (await exists(to)) throw Object.assign(new Error('an order of this name is waiting in the order folder'), { code: 'EEXIST' });
    // The state first, so that whoever claims the order next finds it.
    await fs.mkdir(input.handoverDir, { recursive: true });
    await renameRetrying(from + STATE_SUFFIX, path.join(input.handoverDir, name + STATE_SUFFIX)).catch((err) => {
      if (errnoOf(err) !== 'ENOENT') throw err;
    });
    await renameRetrying(from, to);
    return true;
  } catch (err) {
    if (errnoOf(err) !== 'ENOENT') input.warn(moveError('take over', `${from} -> ${to}`, err));
    return false;
  }
}

/** See the module comment. Returns the names given back to the order folder. */
export async function takeOverStaleClaims(input: TakeoverInput): Promise<string[]> {
  const hosts = await otherHosts(input.claimsRoot, input.hostId);
  if (hosts.length === 0) return [];
  const now = await serverNow(path.join(input.claimsRoot, input.hostId, HEARTBEAT));
  const given: string[] = [];
  for (const host of hosts) {
    const hostDir = path.join(input.claimsRoot, host);
    let names: string[];
    try {
      if (now - (await lastBeat(hostDir)) <= input.staleMs) continue;
      names = await listOrderFiles(hostDir);
    } catch (err) {
      if (errnoOf(err) !== 'ENOENT' && errnoOf(err) !== 'ENOTDIR') input.warn(accessError('inspect claims', hostDir, err));
      continue;
    }
    for (const name of names) {
      if (await giveBack(input, hostDir, name)) given.push(name);
    }
  }
  return given;
}
