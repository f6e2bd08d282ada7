/**
 * Runs the real, built CLI (`dist/main.js`) as a child process, as a
 * scheduler or a person would. `npm test` builds before vitest runs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

export const CLI = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" first (npm test does)`);

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface RunningCli {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves when the process exits. */
  exited: Promise<CliResult>;
}

/** Environment for the child: no inherited MAILER_* variables, plus the given ones. */
function childEnv(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const base = { ...process.env };
  delete base.MAILER_DIR;
  delete base.MAILER_ATTACHMENT_PATH;
  delete base.CFD_MAIL_ERR_MAIL;
  return { ...base, ...env };
}

/** The POSIX account a child runs as (default: this process's). */
export interface Account {
  uid: number;
  gid: number;
}

/** `nodeArgs` go to node before the script (e.g. the service's SERVICE_NODE_FLAGS, which NODE_OPTIONS cannot all carry). */
export function startCli(args: string[], env: Record<string, string | undefined> = {}, account?: Account, nodeArgs: readonly string[] = []): RunningCli {
  const started = Date.now();
  const child = spawn(process.execPath, [...nodeArgs, CLI, ...args], { env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'], ...account });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<CliResult>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, ms: Date.now() - started }));
  });
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

/**
 * True where stopping the daemon lets it shut down cleanly: on POSIX a service
 * manager (systemd) sends SIGTERM, the mailer finishes its in-flight sends,
 * releases its lock and exits 0. On Windows, Task Scheduler's "End" and its
 * time limit terminate the process (TerminateProcess): no handler runs, and
 * what a clean stop would do is done by the next start instead.
 */
export const stopsCleanly = process.platform !== 'win32';

/**
 * Stops a running daemon the way this system's service manager does, and
 * resolves when it is gone. `kill('SIGTERM')` is exactly that on both: a
 * SIGTERM on POSIX, TerminateProcess on Windows (what Task Scheduler does).
 */
export function stopMailer(cli: RunningCli): Promise<CliResult> {
  cli.child.kill('SIGTERM');
  return cli.exited;
}

/**
 * Asserts how a daemon stopped by `stopMailer` ended on this system: exit 0
 * after a clean shutdown on POSIX; terminated (no exit code, reported as
 * SIGTERM) on Windows.
 */
export function expectStopped(result: Pick<CliResult, 'code' | 'signal'>): void {
  expect({ code: result.code, signal: result.signal }).toEqual(
    stopsCleanly ? { code: 0, signal: null } : { code: null, signal: 'SIGTERM' },
  );
}


/**
 * Environment for `startCli` that runs the ES module `code` in the child's
 * main thread before the CLI (`--import` of a data: URL, so no file is needed).
 */
export function preloadEnv(code: string): Record<string, string> {
  const module = `import { isMainThread } from 'node:worker_threads';\nif (isMainThread) {\n${code}\n}`;
  const preload = `--import=data:text/javascript;base64,${Buffer.from(module).toString('base64')}`;
  return { NODE_OPTIONS: [process.env.NODE_OPTIONS, preload].filter(Boolean).join(' ') };
}

/**
 * Environment for `startCli` that makes the child emit `signal` on itself once
 * the file `trigger` exists, as Node does when a console's Ctrl+C (SIGINT) or,
 * on Windows, Ctrl+Break (SIGBREAK) is pressed: a test cannot press keys in
 * another process's console, and on Windows `kill` cannot send either.
 */
export function consoleKeyEnv(signal: NodeJS.Signals, trigger: string): Record<string, string> {
  const [file, name] = [JSON.stringify(trigger), JSON.stringify(signal)];
  return preloadEnv(
    `const { existsSync } = await import('node:fs');
const timer = setInterval(() => { if (existsSync(${file})) { clearInterval(timer); process.emit(${name}, ${name}); } }, 25);
timer.unref();`,
  );
}

/** Runs the CLI to completion (killed after `timeoutMs`). */
export async function runCli(
  args: string[],
  env: Record<string, string | undefined> = {},
  timeoutMs = 60_000,
  account?: Account,
  nodeArgs: readonly string[] = [],
): Promise<CliResult> {
  const running = startCli(args, env, account, nodeArgs);
  const timer = setTimeout(() => running.child.kill('SIGKILL'), timeoutMs);
  try {
    return await running.exited;
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `check` every 25 ms until it returns truthy, or throws after `timeoutMs`. */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 10_000, what = 'condition'): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
