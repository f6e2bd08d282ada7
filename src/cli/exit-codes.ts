/**
 * Exit statuses that schedulers and scripts rely on (spec section 4).
 */
import type { Counts } from '../machines/supervisor-types.js';

export const ExitCode = {
  OK: 0,
  FAILED: 1,
  USAGE: 2,
  RUNNING: 3,
  QUEUED: 4,
} as const;

/**
 * `once`: 1 when any order failed for good, else 4 when any is left for a
 * later pass (queued for a retry, held, unreadable) or an entry named like an
 * order is not a file (ignored), else 0: 0 only when every order present was sent.
 */
export function onceExitCode(counts: Counts): number {
  if (counts.failed > 0) return ExitCode.FAILED;
  if (counts.queued > 0 || counts.ignored > 0) return ExitCode.QUEUED;
  return ExitCode.OK;
}
