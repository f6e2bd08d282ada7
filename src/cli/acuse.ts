/**
 * `proscai-mailer acuse <id>`: the acuse de envío (proof of sending) of one
 * order, what a company shows a customer or an auditor who says the invoice
 * never arrived. Read from every folder the configuration serves (`--dir`
 * narrows to one): beside the archived order (`enviados/`) or in the work
 * area (`acuses/`), io/store/acuse.ts. The order is named by its id or its
 * file name (a path to it too), ignoring case; when several folders have one,
 * the most recent is shown. `--json` prints the record as it is kept.
 */
import path from 'node:path';

import { foldersOf } from '../config/folders.js';
import type { Config } from '../config/types.js';
import { ACUSES_FOLDER, findAcuses, type FoundAcuse } from '../io/store/acuse.js';
import { acuseNotFound, renderAcuse } from '../text/acuse.js';
import { orderIdOfRef } from './trace.js';

export interface AcuseLookup {
  orderId: string;
  /** The folders looked in. */
  places: string[];
  /** The record shown (the one with the latest try), if any. */
  found?: FoundAcuse;
}

/** Looks for the acuse of the order `ref` names in every folder of `config`. */
export async function lookUpAcuse(config: Config, ref: string): Promise<AcuseLookup> {
  const orderId = orderIdOfRef(ref);
  const folders = foldersOf(config);
  const places = folders.flatMap((f) => [path.join(f.dir, 'enviados'), path.join(f.workDir, ACUSES_FOLDER)]);
  const [found] = await findAcuses(folders, orderId);
  return { orderId, places, ...(found !== undefined && { found }) };
}

/** What the command prints: the text (or JSON) of the record on stdout, or the sentence on stderr; and its exit status. */
export function formatAcuse(lookup: AcuseLookup, json: boolean, lang: Config['language']): { stdout?: string; stderr?: string; found: boolean } {
  if (lookup.found === undefined) return { stderr: acuseNotFound(lookup.orderId, lookup.places, lang), found: false };
  const { record, file } = lookup.found;
  return { stdout: json ? `${JSON.stringify(record, null, 2)}\n` : renderAcuse(record, file, lang), found: true };
}
