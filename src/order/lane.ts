/**
 * The lane key: which company's queue (and which `perMinute`/connection
 * budget) an order belongs to, and the name `status` counts it under.
 *
 * Guarantees:
 * - One rule everywhere: `<Empresa>`, else the SMTP user that applies to the
 *   order, else the sender's address; trimmed and upper-cased, so `acme`,
 *   ` ACME ` and `Acme` share one lane. Accents are kept as written (only
 *   case changes: `Compañía` → `COMPAÑÍA`).
 * - The key is '' when none of the three is given; `laneLabel` shows such an
 *   order (and one whose key is unknown) as `?`.
 *
 * Which SMTP user and sender apply is the resolver's business: the lane of a
 * parsed order is `laneOfParsed` in order/resolve.ts (which fills `company`
 * with this rule, so it cannot be imported from here without a cycle). The
 * cheap scan of an order's bytes (order/company-scan.ts) applies the same
 * rule to `<Empresa>` alone. Pure.
 */
import type { Address } from './types.js';

/** The name under which `status` shows an order with no lane key, or one whose file could not be read. */
export const UNKNOWN_LANE = '?';

/** `Empresa`, else the SMTP user, else the sender's address; trimmed and upper-cased ('' when none is given). */
export function laneKey(company: string | undefined, user?: string, from?: Address): string {
  const key = [company, user, from?.address].find((k) => k !== undefined && k.trim() !== '');
  return (key ?? '').trim().toUpperCase();
}

/** The lane as shown to the operator: a blank or missing key is `?`. */
export function laneLabel(key: unknown): string {
  return typeof key === 'string' && key.trim() !== '' ? key : UNKNOWN_LANE;
}
