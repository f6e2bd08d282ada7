/**
 * The benchmark's measurements. Every one runs its client as a child process
 * against the same sink, and takes its times from the sink's acceptance
 * timestamps (so polling here never adds to a measured figure).
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { CLI, exitWithin, startNode } from './child.mjs';
import { makeOrderFolder, orderName, orderXml } from './orders.mjs';

const BASELINE = fileURLToPath(new URL('./baseline-client.mjs', import.meta.url));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every `everyMs` until true; false after `timeoutMs`. */
async function until(check, timeoutMs, everyMs = 10) {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) return false;
    await sleep(everyMs);
  }
  return true;
}

/**
 * ms this process's main thread (the sink's event loop) has spent runnable
 * but waiting for a core, from /proc/self/schedstat; undefined where unknown.
 * Shows how much the client under test and the sink compete for the cores.
 */
function sinkWaitMs() {
  try {
    return Number(readFileSync('/proc/self/schedstat', 'utf8').split(' ')[1]) / 1e6;
  } catch {
    return undefined;
  }
}

/** A gap between two acceptances longer than this is a stall (the steady pace is a few ms per message). */
export const STALL_MS = 10;

/**
 * Waits until the sink has accepted `n` messages or the child has exited (a
 * child that gave up cannot send more; 2 s more for the last replies), then
 * for the child's exit.
 */
async function drain(sink, running, n, timeoutMs) {
  let exited = false;
  const sinkCpu = process.cpuUsage();
  const waitBefore = sinkWaitMs();
  const exit = exitWithin(running, timeoutMs).finally(() => (exited = true));
  await until(() => sink.count() >= n || exited, timeoutMs);
  if (sink.count() < n) await until(() => sink.count() >= n, 2_000);
  const result = await exit;
  const { user, system } = process.cpuUsage(sinkCpu);
  const waitAfter = sinkWaitMs();
  const times = sink.times();
  const accepted = Math.min(times.length, n);
  const lastAt = accepted === n ? times[n - 1] : undefined;
  return {
    result,
    accepted,
    /** CPU ms of the client per accepted message, and of this process (the sink) per message. */
    cpuPerMsg: result.cpuMs === undefined || accepted === 0 ? undefined : result.cpuMs / accepted,
    sinkCpuPerMsg: accepted === 0 ? undefined : (user + system) / 1000 / accepted,
    bytes: sink.bytes(),
    /** ms the sink waited for a core while this client ran (Linux). */
    sinkWaitMs: waitBefore === undefined || waitAfter === undefined ? undefined : waitAfter - waitBefore,
    /** Gaps longer than STALL_MS between consecutive acceptances of the first `n`. */
    stalls: times.slice(1, accepted).filter((t, i) => t - times[i] > STALL_MS).length,
    /** spawn → n-th acceptance, ms (undefined when not all arrived). */
    elapsedMs: lastAt === undefined ? undefined : lastAt - running.startedAt,
    /** spawn → first acceptance, ms. */
    firstMs: times.length > 0 ? times[0] - running.startedAt : undefined,
    /** messages/s between the first and the n-th acceptance (the steady pace, start-up left out). */
    steadyPerS: lastAt === undefined || n < 2 ? undefined : ((n - 1) * 1000) / (lastAt - times[0]),
  };
}

/** Generous bound for draining `n` orders (about 20 per second would still finish). */
const boundFor = (n) => 60_000 + n * 50;

/**
 * The node flags the mailer runs with: those of its service definitions
 * (src/service/systemd.ts, SERVICE_NODE_FLAGS: the V8 heap cap, so that RSS
 * reflects live data rather than uncollected garbage, single-threaded GC and
 * one V8 helper thread), read from dist/ so the benchmark never drifts from
 * the unit.
 * `--no-service-flags` measures plain `node` (as `npx proscai-mailer run`).
 */
export async function mailerNodeArgs() {
  if (process.argv.includes('--no-service-flags')) return [];
  const { SERVICE_NODE_FLAGS } = await import(new URL('../../dist/service/systemd.js', import.meta.url).href);
  return [...SERVICE_NODE_FLAGS];
}

/**
 * Throughput of the real CLI: `n` orders already waiting, `once`, from the
 * child's spawn to the sink's n-th acceptance.
 */
export async function measureCli(sink, root, n, { name = 'throughput', nodeArgs = [] } = {}) {
  const { dir, attachments } = makeOrderFolder(root, name, { port: sink.port, count: n });
  sink.reset();
  const running = startNode(CLI, ['once', '--dir', dir], { nodeArgs: [...(await mailerNodeArgs()), ...nodeArgs] });
  const drained = await drain(sink, running, n, boundFor(n));
  rmSync(dir, { recursive: true, force: true });
  return { ...drained, n, attachments, perS: drained.elapsedMs === undefined ? 0 : (n * 1000) / drained.elapsedMs };
}

/** The same messages through a raw nodemailer pool (2 connections), measured the same way. */
export async function measureBaseline(sink, root, n) {
  const { dir, attachments } = makeOrderFolder(root, 'baseline', { port: sink.port, count: 0 });
  sink.reset();
  const running = startNode(BASELINE, [String(sink.port), String(n), attachments.xml, attachments.pdf, '2']);
  const drained = await drain(sink, running, n, boundFor(n));
  rmSync(dir, { recursive: true, force: true });
  return { ...drained, n, perS: drained.elapsedMs === undefined ? 0 : (n * 1000) / drained.elapsedMs };
}

/** Drops order `n` into `dir` the way an ERP closes it: written under a temporary name, then renamed. Returns the rename instant. */
function dropOrder(dir, port, n) {
  const tmp = path.join(dir, `bench-${n}.tmp`);
  writeFileSync(tmp, orderXml(port, n));
  renameSync(tmp, path.join(dir, orderName(n)));
  return performance.now();
}

/**
 * Latency of the running daemon: `count` orders dropped one at a time, each
 * after the previous was accepted plus `gapMs`; rename → acceptance.
 * `warmup` orders go first and are not counted (the first one opens the
 * pooled connection, which costs smtp-server's 100 ms greeting delay).
 */
export async function measureLatency(sink, root, { count, warmup = 2, gapMs = 50, log }) {
  const { dir } = makeOrderFolder(root, 'latency', { port: sink.port, count: 0 });
  sink.reset();
  const running = startNode(CLI, ['run', '--dir', dir, '--poll', '300'], { nodeArgs: await mailerNodeArgs() });
  let exited = false;
  void running.exited.then(() => (exited = true));
  const latencies = [];
  const warmupMs = [];
  let lost = 0;
  for (let n = 1; n <= warmup + count && !exited; n++) {
    const before = sink.count();
    const renamedAt = dropOrder(dir, sink.port, n);
    const ok = await until(() => sink.count() > before || exited, n <= warmup ? 30_000 : 10_000, 2);
    if (!ok || sink.count() <= before) {
      lost++;
      log(`  order ${n}: not accepted within ${n <= warmup ? 30 : 10} s`);
      continue;
    }
    const ms = sink.times()[before] - renamedAt;
    (n <= warmup ? warmupMs : latencies).push(ms);
    await sleep(gapMs);
  }
  running.kill('SIGTERM');
  const result = await exitWithin(running, 15_000);
  rmSync(dir, { recursive: true, force: true });
  const sorted = [...latencies].sort((a, b) => a - b);
  return { latencies, warmupMs, lost, result, p50: percentile(sorted, 50), p95: percentile(sorted, 95), max: sorted.at(-1) };
}

/** Nearest-rank percentile of an ascending array (undefined when empty). */
export function percentile(sorted, p) {
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/**
 * Peak RSS and time per order while `once` drains `size` waiting orders.
 * The folder is written before the clock starts and removed afterwards.
 */
export async function measureMemory(sink, root, size, { kind, log }) {
  const made = performance.now();
  const { dir } = makeOrderFolder(root, `memory-${size}`, { port: sink.port, count: size, kind });
  log(`  wrote ${size} orders in ${((performance.now() - made) / 1000).toFixed(1)} s`);
  sink.reset();
  const running = startNode(CLI, ['once', '--dir', dir], { nodeArgs: await mailerNodeArgs() });
  const drained = await drain(sink, running, size, boundFor(size));
  rmSync(dir, { recursive: true, force: true });
  return { ...drained, size, msPerOrder: drained.result.wallMs / size };
}
