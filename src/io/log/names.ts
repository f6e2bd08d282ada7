/**
 * The names of the log files: the current one and its rotated parts, and
 * listing or deleting them. Used by the rotating file (./log-files.ts) and by
 * the log reader (`trace`, `status`).
 *
 * Naming (every name sorts in time order, oldest first, with a plain string sort):
 * - `mailer.log`                  the current file (always the newest: `.` sorts after `-`);
 * - `mailer-YYYY-MM-DD.NNN.log`   the NNN-th part of that day, cut when it reached `maxBytes`
 *                                 (NNN zero-padded to 3 digits: 001, 002, …);
 * - `mailer-YYYY-MM-DD.log`       the last part of that day, cut when the day changed
 *                                 (`.log` sorts after `.NNN.log`).
 * YYYY-MM-DD is the machine's LOCAL date of the lines in the file (the day the
 * operator sees); the lines themselves carry UTC ISO times. `listLogFiles`
 * returns them in this order.
 */
import { readdir, unlink } from 'node:fs/promises';
import path from 'node:path';

/** `2026-11-27` in local time. */
export function localDay(at: Date): string {
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}`;
}

/** The folder, stem and extension of a log file's path. */
function parts(file: string): { dir: string; stem: string; ext: string } {
  const ext = path.extname(file);
  return { dir: path.dirname(file), stem: path.basename(file, ext), ext };
}

/** `mailer-2026-11-27.log` (part undefined) or `mailer-2026-11-27.003.log`, in the current file's folder. */
export function rotatedName(file: string, day: string, part?: number): string {
  const { dir, stem, ext } = parts(file);
  const suffix = part === undefined ? '' : `.${String(part).padStart(3, '0')}`;
  return path.join(dir, `${stem}-${day}${suffix}${ext}`);
}

/** Matches rotated names of `file`; groups: day, part. */
function rotatedPattern(file: string): RegExp {
  const { stem, ext } = parts(file);
  const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${esc(stem)}-(\\d{4}-\\d{2}-\\d{2})(?:\\.(\\d{3,}))?${esc(ext)}$`);
}

/** Sort key: day, then numbered parts in order, then the un-numbered last part of the day. */
function sortKey(match: RegExpExecArray): string {
  return `${match[1]}|${match[2] === undefined ? '~' : match[2].padStart(9, '0')}`;
}

/**
 * Every log file of `file`, absolute paths, oldest first: the rotated ones,
 * then the current one (when it exists). For `proscai-mailer trace`.
 */
export async function listLogFiles(file: string): Promise<string[]> {
  const { dir } = parts(file);
  const pattern = rotatedPattern(file);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const rotated = names
    .map((n) => ({ n, m: pattern.exec(n) }))
    .filter((x): x is { n: string; m: RegExpExecArray } => x.m !== null)
    .sort((a, b) => (sortKey(a.m) < sortKey(b.m) ? -1 : sortKey(a.m) > sortKey(b.m) ? 1 : 0))
    .map((x) => path.join(dir, x.n));
  return names.includes(path.basename(file)) ? [...rotated, file] : rotated;
}

/** Deletes rotated files whose date is more than `keepDays` days before `today`; returns the deleted paths. */
export async function deleteOldLogFiles(file: string, keepDays: number, today: Date): Promise<string[]> {
  const cutoff = localDay(new Date(today.getFullYear(), today.getMonth(), today.getDate() - keepDays, 12));
  const pattern = rotatedPattern(file);
  const { dir } = parts(file);
  const deleted: string[] = [];
  for (const name of await readdir(dir)) {
    const m = pattern.exec(name);
    if (m === null || m[1] >= cutoff) continue;
    try {
      await unlink(path.join(dir, name));
      deleted.push(path.join(dir, name));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return deleted;
}

/** The name a rotation of the current file (holding lines of `day`) moves it to. */
export async function freeRotatedName(file: string, day: string, bySize: boolean): Promise<string> {
  const taken = new Set(await readdir(parts(file).dir));
  const plain = rotatedName(file, day);
  if (!bySize && !taken.has(path.basename(plain))) return plain;
  let part = 1;
  while (taken.has(path.basename(rotatedName(file, day, part)))) part += 1;
  return rotatedName(file, day, part);
}

