/**
 * The store and the sender as the order machines see them, with what they
 * meet recorded in the health file (io/host/health.ts): a claim that fails because
 * the claims folder refuses writes, the last SMTP failure of each company.
 * The wrapped calls behave exactly as the originals (same results, same
 * errors); the recording never waits for the disk.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';

import type { OrderStore, ResolvedAttachment, ResolvedOrder, Sender, SendResult } from '../../ports.js';
import { mayBeFolderProblem, probeWritable, type HealthRecorder, type SendFailure } from './health.js';

/** A probe result is reused this long: a burst of refused claims probes the folder once. */
const PROBE_REUSE_MS = 1000;

export interface ClaimWatchOptions {
  health: HealthRecorder;
  /** This machine's claims folder, and the work area (probed when the claims folder does not exist). */
  claimsDir: string;
  workDir: string;
  /** Told once per outage, with the folder and the error, when claims fail because the folder refuses writes. */
  onFailing(dir: string, error: Error): void;
  /** Told when a claim succeeds after `onFailing`. */
  onRecovered(dir: string): void;
}

/**
 * `store` whose `claim` (and `listClaimed`) records in the health file whether
 * claims work: a refused claim (or listing) whose error may come from the folder (permission, read-only,
 * full disk) has the folder probed (a file created and removed); a folder
 * that refuses it is a problem for a person, an order file held by another
 * program is not.
 */
export function watchClaims<S extends OrderStore>(store: S, opts: ClaimWatchOptions): S {
  let failingDir: string | undefined;
  let probe: { at: number; result: Promise<{ dir: string; error?: Error }> } | undefined;
  const probeFolder = (): Promise<{ dir: string; error?: Error }> => {
    if (probe !== undefined && Date.now() - probe.at < PROBE_REUSE_MS) return probe.result;
    const result = (async () => {
      // The claims folder, or, while it does not exist, the nearest folder a claim would create it in.
      for (const dir of [...new Set([opts.claimsDir, path.dirname(opts.claimsDir), opts.workDir])]) {
        const info = await stat(dir).catch((error: unknown) => error as NodeJS.ErrnoException);
        if (info instanceof Error) {
          if (info.code === 'ENOENT' || info.code === 'ENOTDIR') continue; // not there, or below a file: the folder above says which
          return { dir, error: info };
        }
        if (!info.isDirectory()) return { dir, error: Object.assign(new Error('ENOTDIR: it is a file, not a folder'), { code: 'ENOTDIR' }) };
        const error = await probeWritable(dir);
        return error === undefined ? { dir } : { dir, error };
      }
      return { dir: opts.workDir };
    })();
    probe = { at: Date.now(), result };
    return result;
  };
  const refused = async (error: unknown): Promise<void> => {
    if (!mayBeFolderProblem(error)) return;
    const found = await probeFolder();
    if (found.error === undefined) return;
    opts.health.claimsFailing(found.dir, found.error);
    if (failingDir === undefined) opts.onFailing(found.dir, found.error);
    failingDir = found.dir;
  };
  const watched = Object.create(store) as S;
  watched.listClaimed = async (): Promise<string[]> => {
    try {
      return await store.listClaimed();
    } catch (error) {
      await refused(error).catch(() => undefined);
      throw error;
    }
  };
  watched.claim = async (fileName: string): Promise<boolean> => {
    let won: boolean;
    try {
      won = await store.claim(fileName);
    } catch (error) {
      await refused(error).catch(() => undefined);
      throw error;
    }
    if (won) {
      opts.health.claimsWork();
      if (failingDir !== undefined) opts.onRecovered(failingDir);
      failingDir = undefined;
    }
    return won;
  };
  return watched;
}

/** `sender` whose `send` records each company's last SMTP failure in the health file, and clears it at its next success. */
export function watchSends<S extends Sender>(sender: S, health: HealthRecorder): S {
  const watched = Object.create(sender) as S;
  watched.send = async (resolved: ResolvedOrder, attachments: ResolvedAttachment[]): Promise<SendResult> => {
    try {
      const result = await sender.send(resolved, attachments);
      health.smtpWorks(resolved.company);
      return result;
    } catch (error) {
      if (typeof (error as SendFailure | undefined)?.code === 'string') health.smtpFailed(resolved.company, error as SendFailure, resolved.order.id);
      throw error;
    }
  };
  return watched;
}
