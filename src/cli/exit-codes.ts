/**
 * Exit statuses that schedulers and scripts rely on (spec section 4).
 */
import type { Counts } from '../machines/supervisor.js';

export const ExitCode = {
  OK: 0,
  FAILED: 1,
  USAGE: 2,
  RUNNING: 3,
  QUEUED: 4,
} as const;

/** `once`: 1 when any order failed for good, else 4 when any is left queued for a retry, else 0. */
export function onceExitCode(counts: Counts): number {
  if (counts.failed > 0) return ExitCode.FAILED;
  if (counts.queued > 0 || counts.skipped > 0) return ExitCode.QUEUED;
  return ExitCode.OK;
}
