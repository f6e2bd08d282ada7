/**
 * The acuse de envío (proof of sending) of an order: a small JSON record a
 * company can show a customer or an auditor who says the message never
 * arrived. Pure: the io room (io/store/acuse.ts) reads and writes it.
 *
 * Guarantees:
 * - one record per order file, holding every try to hand the message to the
 *   server, oldest first: a re-send after a crash adds a try instead of
 *   replacing the first (both carry the same Message-ID);
 * - a try is written as `unknown` before the message is handed over and
 *   becomes `accepted` once the server's final reply is known, so a process
 *   that ends in between leaves a try that says its outcome is unknown rather
 *   than no trace of it;
 * - the message's size and SHA-256 are those of the exact bytes the server
 *   received after DATA (DKIM-Signature included), the reply is the server's
 *   final reply in full; no secret (password, key) is ever part of it.
 */
import type { DigestedFile, ResolvedOrder, SendProof, SendResult } from '../ports.js';

export const ACUSE_KIND = 'proscai-mailer/acuse';
/** The record's file name suffix, after the order file's own name. */
export const ACUSE_SUFFIX = '.acuse.json';
/** The kept message's suffix (`keepEml`), after the order file's own name. */
export const EML_SUFFIX = '.eml';

export interface AcuseTry {
  /** `unknown`: the message was being handed over when the process ended (the server may have it). */
  outcome: 'accepted' | 'unknown';
  /** ISO time the try began. */
  startedAt: string;
  messageId: string;
  server: { host: string; port: number };
  acceptedAt?: string;
  envelopeFrom?: string;
  accepted?: string[];
  refused?: { address: string; response?: string }[];
  /** The server's final reply to DATA, in full (it usually names the server's queue id). */
  response?: string;
  tls?: { used: boolean; protocol: string | null };
  message?: { size: number; sha256: string };
  attachments?: DigestedFile[];
  /** File name of the kept message (`keepEml`), beside the record. */
  eml?: string;
}

export interface AcuseRecord {
  kind: typeof ACUSE_KIND;
  version: 1;
  orderId: string;
  fileName: string;
  company: string;
  messageId: string;
  /** ISO time the mailer first saw the order; null when unknown. */
  detectedAt: string | null;
  tries: AcuseTry[];
}

/** The order facts every try repeats. */
export interface AcuseOrder {
  resolved: ResolvedOrder;
  /** Epoch ms the order was first seen. */
  detectedAt?: number;
}

const iso = (ms: number): string => new Date(ms).toISOString();

function base(order: AcuseOrder, previous: AcuseRecord | undefined): AcuseRecord {
  const { resolved } = order;
  return {
    kind: ACUSE_KIND,
    version: 1,
    orderId: resolved.order.id,
    fileName: resolved.order.fileName,
    company: resolved.company,
    messageId: resolved.messageId,
    detectedAt: previous?.detectedAt ?? (order.detectedAt === undefined ? null : iso(order.detectedAt)),
    tries: previous?.tries ?? [],
  };
}

/** The record with a try begun at `startedAt` (outcome unknown until `acceptTry`). */
export function beginTry(previous: AcuseRecord | undefined, order: AcuseOrder, startedAt: number): AcuseRecord {
  const record = base(order, previous);
  const { smtp } = order.resolved;
  const attempt: AcuseTry = { outcome: 'unknown', startedAt: iso(startedAt), messageId: order.resolved.messageId, server: { host: smtp.host, port: smtp.port } };
  return { ...record, tries: [...record.tries, attempt] };
}

/** The record with the try begun at `startedAt` accepted (appended when its beginning was never written). */
export function acceptTry(
  previous: AcuseRecord | undefined,
  order: AcuseOrder,
  startedAt: number,
  result: SendResult,
  proof: SendProof | undefined,
  eml?: string,
): AcuseRecord {
  const record = base(order, previous);
  const { smtp } = order.resolved;
  const accepted: AcuseTry = {
    outcome: 'accepted',
    startedAt: iso(startedAt),
    messageId: result.messageId,
    server: proof?.server ?? { host: smtp.host, port: smtp.port },
    acceptedAt: iso(proof?.acceptedAt ?? Date.now()),
    ...(proof !== undefined && { envelopeFrom: proof.envelopeFrom }),
    accepted: result.accepted,
    refused: result.rejected,
    response: result.response,
    ...(proof !== undefined && {
      tls: proof.tls,
      message: { size: proof.size, sha256: proof.sha256 },
      attachments: proof.attachments,
    }),
    ...(eml !== undefined && { eml }),
  };
  const at = pendingIndex(record, startedAt);
  const tries = at === -1 ? [...record.tries, accepted] : record.tries.map((t, i) => (i === at ? accepted : t));
  return { ...record, tries };
}

/** The record without the try begun at `startedAt` (it failed: nothing was sent); undefined when no try is left. */
export function dropTry(previous: AcuseRecord | undefined, startedAt: number): AcuseRecord | undefined {
  if (previous === undefined) return undefined;
  const at = pendingIndex(previous, startedAt);
  const tries = previous.tries.filter((_, i) => i !== at);
  return tries.length === 0 ? undefined : { ...previous, tries };
}

function pendingIndex(record: AcuseRecord, startedAt: number): number {
  const when = iso(startedAt);
  return record.tries.findIndex((t) => t.outcome === 'unknown' && t.startedAt === when);
}

/** The record in `text`, or undefined when it is not one (truncated, another file). */
export function parseAcuse(text: string): AcuseRecord | undefined {
  try {
    const value = JSON.parse(text) as Partial<AcuseRecord> | null;
    if (value === null || typeof value !== 'object' || value.kind !== ACUSE_KIND || !Array.isArray(value.tries)) return undefined;
    return value as AcuseRecord;
  } catch {
    return undefined;
  }
}
