/**
 * Every order folder this configuration serves, each as a complete
 * configuration of its own: what `run`, `status`, `trace`, `retry` and the
 * status window iterate over.
 *
 * A `folders` list in the configuration file names one order folder per
 * entry (one ERP, usually one company). Each entry is the top level with the
 * entry's own keys over it:
 * - `companies` merge by name (ignoring case): a company the entry names is
 *   the entry's profile, whole; the others are inherited;
 * - `pathMap` merges by prefix, the entry's target winning;
 * - every other key (`smtp`, `notify`, `retry`, …) is replaced whole;
 * - an inherited `logDir` becomes `<logDir>/<the folder's path as one name>`
 *   (`/srv/acme/envio` → `srv_acme_envio`), so that two folders never write
 *   one mailer.log;
 * - `hostId` and `ui` belong to the process (schema.ts PROCESS_WIDE_KEYS);
 * - MAILER_DIR and MAILER_ATTACHMENT_PATH are not used: they name one ERP's
 *   folder, and the list names them all (`--dir` narrows, see load.ts);
 *   CFD_MAIL_ERR_MAIL stands for the top-level `errorMail`, so an entry's
 *   own `errorMail` wins over it; flags (but `--dir`) apply to every folder.
 *
 * Guarantees (`checkFolders`): no two folders share an order folder, a work
 * area (the lock, claims and state) or a log file, and no order folder lies
 * inside another folder's order folder or work area; else a CONFIG_INVALID
 * error names the entry (`folders[1].dir: …`).
 */
import path from 'node:path';
import type { Config } from './types.js';
import { configError } from './schema.js';

/** The per-folder configurations; a configuration without a `folders` list serves its one folder. */
export function foldersOf(config: Config): readonly Config[] {
  return config.folders ?? [config];
}

/** The folder a path names among `folders` (compared as the system compares paths), if any. */
export function folderAt(folders: readonly Config[], dir: string): Config | undefined {
  return folders.find((folder) => samePath(folder.dir, dir));
}

/**
 * One entry's layer of the (validated) configuration file: the top level with
 * the entry over it, as the module comment says. Paths stay as written: the
 * caller resolves them against the file's folder.
 */
export function entryLayer(top: Readonly<Record<string, unknown>>, entry: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...top, ...entry };
  if (isRecord(top.companies) && isRecord(entry.companies)) {
    const own = new Set(Object.keys(entry.companies).map((name) => name.trim().toUpperCase()));
    const inherited = Object.entries(top.companies).filter(([name]) => !own.has(name.trim().toUpperCase()));
    out.companies = { ...Object.fromEntries(inherited), ...entry.companies };
  }
  if (isRecord(top.pathMap) && isRecord(entry.pathMap)) out.pathMap = { ...top.pathMap, ...entry.pathMap };
  if (entry.logDir === undefined && typeof top.logDir === 'string' && typeof entry.dir === 'string') {
    out.logDir = path.join(top.logDir, folderName(entry.dir));
  }
  return out;
}

/** A folder's path as one file name, as written (`C:\\Empresas\\ACME\\Envio` → `C_Empresas_ACME_Envio`). */
function folderName(dir: string): string {
  return dir.replace(/[\\/:]+/g, '_').replace(/^_+|_+$/g, '') || 'folder';
}

/** The mailer.log a folder writes (io/log/reader.ts `logFileOf` reads the same). */
function logFile(config: Config): string {
  return path.join(config.logDir ?? path.join(config.workDir, 'logs'), 'mailer.log');
}

/** Throws CONFIG_INVALID naming the later of two folders that would collide (see the module comment). */
export function checkFolders(folders: readonly Config[]): void {
  folders.forEach((b, j) => {
    for (let i = 0; i < j; i++) {
      const a = folders[i]!;
      const at = `folders[${j}]`;
      const other = `folders[${i}] (${a.dir})`;
      if (samePath(a.dir, b.dir)) configError(`${at}.dir`, `same order folder as ${other}`);
      if (isInside(b.dir, a.dir)) configError(`${at}.dir`, `is inside the order folder of ${other}`);
      if (isInside(a.dir, b.dir)) configError(`${at}.dir`, `contains the order folder of ${other}`);
      if (samePath(b.dir, a.workDir) || isInside(b.dir, a.workDir)) configError(`${at}.dir`, `is inside the work area of ${other}: ${a.workDir}`);
      if (samePath(a.dir, b.workDir) || isInside(a.dir, b.workDir)) configError(`${at}.workDir`, `contains the order folder of ${other}`);
      if (samePath(a.workDir, b.workDir) || isInside(a.workDir, b.workDir) || isInside(b.workDir, a.workDir)) {
        configError(`${at}.workDir`, `shares the work area of ${other}: ${b.workDir} (each folder needs its own lock and claims)`);
      }
      if (samePath(logFile(a), logFile(b))) {
        configError(`${at}.logDir`, `writes the same log file as ${other}: ${logFile(b)} (give each folder its own "logDir")`);
      }
    }
  });
}

/** Equal as paths (case-insensitive on Windows, where path.relative is). */
function samePath(a: string, b: string): boolean {
  return path.relative(a, b) === '';
}

/** `child` lies strictly inside `parent`. */
function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
