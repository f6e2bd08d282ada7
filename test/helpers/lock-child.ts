/**
 * A separate mailer process for the instance-lock tests:
 * `node --import tsx test/helpers/lock-child.ts <workDir> <hostId> [updateMs]`
 * (`updateMs`: how often it refreshes and checks its lock; default the lock's).
 * Prints one JSON line — `{"locked":<pid>}` or `{"running":{…}}` — then, when
 * it got the lock, stays alive until killed (SIGTERM releases it cleanly on
 * POSIX; on Windows it terminates the process, as Task Scheduler's End does).
 */
import { acquireInstanceLock } from '../../src/io/host/lock.js';

const [workDir, hostId, updateMs] = process.argv.slice(2);
const result = await acquireInstanceLock({ workDir, hostId, ...(updateMs !== undefined && { staleMs: 2 * Number(updateMs), updateMs: Number(updateMs) }) });
if ('running' in result) {
  process.stdout.write(`${JSON.stringify({ running: result.running })}\n`);
  process.exit(3);
}
process.stdout.write(`${JSON.stringify({ locked: process.pid })}\n`);
const keepAlive = setInterval(() => undefined, 1000);
process.on('SIGTERM', () => {
  clearInterval(keepAlive);
  void result.release().then(() => process.exit(0));
});
