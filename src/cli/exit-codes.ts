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

/**
 * The status of a command over several folders: the worst of theirs, in this
 * order: 3 (another mailer holds a folder) > 2 (a folder missing, not a
 * folder or unreadable) > 1 (an order failed) > 4 (orders left for a later
 * pass) > 0. A status outside the table ranks first.
 */
export function worstExitCode(codes: readonly number[]): number {
  const rank = (code: number): number => (WORST_FIRST as readonly number[]).indexOf(code);
  return codes.reduce<number>((worst, code) => (rank(code) < rank(worst) ? code : worst), ExitCode.OK);
}

const WORST_FIRST = [ExitCode.RUNNING, ExitCode.USAGE, ExitCode.FAILED, ExitCode.QUEUED, ExitCode.OK] as const;
