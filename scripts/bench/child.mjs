/**
 * Child processes for the benchmark: the real CLI (`dist/main.js`) or the
 * baseline client, spawned with `node`, with their memory watched from
 * /proc/<pid>/status (Linux) every 100 ms: the largest VmRSS seen and the
 * last VmHWM read (the kernel's own peak, monotonic, so the last read before
 * exit covers the whole life of the process), and its CPU time (utime +
 * stime), which tells more than wall time on a machine shared with other work.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CLI = path.join(ROOT, 'dist', 'main.js');

/** Newest mtime (ms) of the files under `dir` ending in `ext`. */
function newestMtime(dir, ext) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(p, ext));
    else if (entry.name.endsWith(ext)) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

/** Builds dist/ (`npm run build`) when it is missing or older than any file in src/. Returns false when the build failed. */
export function ensureBuilt(log) {
  const builtAt = existsSync(CLI) ? statSync(CLI).mtimeMs : 0;
  if (builtAt > 0 && builtAt >= newestMtime(path.join(ROOT, 'src'), '.ts')) {
    log('dist/ is up to date with src/');
    return true;
  }
  log('dist/ is missing or older than src/: running npm run build');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const result = spawnSync(npm, ['run', 'build'], { cwd: ROOT, stdio: 'inherit', shell: process.platform === 'win32' });
  return result.status === 0 && existsSync(CLI);
}

/** Environment for a child: nothing inherited that would point the mailer elsewhere. */
function childEnv() {
  const env = { ...process.env };
  for (const key of ['MAILER_DIR', 'MAILER_ATTACHMENT_PATH', 'CFD_MAIL_ERR_MAIL']) delete env[key];
  return env;
}

/** Linux's USER_HZ: the unit of utime/stime in /proc/<pid>/stat. */
const CLOCK_TICKS_PER_S = 100;

/** CPU time (user + system) the process has used so far, ms; undefined when unknown. */
function readCpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is the state (field 3); utime and stime are fields 14 and 15.
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_S;
  } catch {
    return undefined;
  }
}

/**
 * CPU time (ms) of each thread of the process so far, by thread id: the main
 * thread is the one whose id is the pid. Empty when unknown (not Linux).
 */
function readThreadCpuMs(pid) {
  const out = new Map();
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(tid), ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_S);
    }
  } catch {
    // gone, or not Linux
  }
  return out;
}

function readStatus(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key) => {
      const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
      return m ? Number(m[1]) : undefined;
    };
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return undefined; // gone, or not Linux
  }
}

/** Keeps the last `max` characters of a stream (the CLI may print a lot in a long run). */
function tail(stream, max = 8192) {
  let text = '';
  stream?.on('data', (d) => {
    text = (text + d.toString()).slice(-max);
  });
  return () => text;
}

/**
 * @typedef {object} ChildResult
 * @property {number|null} code
 * @property {string|null} signal
 * @property {number} startedAt   performance.now() just before spawn
 * @property {number} wallMs      spawn → exit
 * @property {number|undefined} cpuMs      user + system CPU time at the last sample (up to 100 ms before exit)
 * @property {{ main: number, others: number[] }|undefined} threadCpuMs  the same split by thread: the main thread, then every other thread (worker threads, V8's and libuv's helpers), largest first
 * @property {number|undefined} peakRssMb  max(largest VmRSS seen, last VmHWM), MB
 * @property {string} stdout      last 8 KB
 * @property {string} stderr      last 8 KB
 */

/**
 * Spawns `node [nodeArgs] script args`, watching its memory.
 * @returns {{ pid: number, startedAt: number, exited: Promise<ChildResult>, kill: (signal?: string) => void }}
 */
export function startNode(script, args, { nodeArgs = [], cwd = ROOT } = {}) {
  const startedAt = performance.now();
  const child = spawn(process.execPath, [...nodeArgs, script, ...args], { cwd, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  const stdout = tail(child.stdout);
  const stderr = tail(child.stderr);
  let maxRssKb = 0;
  let hwmKb = 0;
  let cpuMs;
  const threads = new Map();
  const sample = () => {
    cpuMs = readCpuMs(child.pid) ?? cpuMs;
    for (const [tid, ms] of readThreadCpuMs(child.pid)) threads.set(tid, ms);
    const s = readStatus(child.pid);
    if (s === undefined) return;
    if (s.rss !== undefined) maxRssKb = Math.max(maxRssKb, s.rss);
    if (s.hwm !== undefined) hwmKb = Math.max(hwmKb, s.hwm);
  };
  const timer = setInterval(sample, 100);
  const exited = new Promise((resolve) => {
    child.on('exit', () => {
      clearInterval(timer);
    });
    child.on('close', (code, signal) => {
      const wallMs = performance.now() - startedAt;
      const peakKb = Math.max(maxRssKb, hwmKb);
      const threadCpuMs = threads.size === 0 ? undefined : {
        main: threads.get(child.pid) ?? 0,
        others: [...threads].filter(([tid]) => tid !== child.pid).map(([, ms]) => ms).sort((a, b) => b - a),
      };
      resolve({ code, signal, startedAt, wallMs, cpuMs, threadCpuMs, peakRssMb: peakKb > 0 ? peakKb / 1024 : undefined, stdout: stdout(), stderr: stderr() });
    });
  });
  return { pid: child.pid, startedAt, exited, kill: (signal = 'SIGTERM') => child.kill(signal) };
}

/** Resolves with the child's result, killing it (SIGKILL) if it has not exited after `timeoutMs`. */
export async function exitWithin(running, timeoutMs) {
  const timer = setTimeout(() => running.kill('SIGKILL'), timeoutMs);
  try {
    return await running.exited;
  } finally {
    clearTimeout(timer);
  }
}
