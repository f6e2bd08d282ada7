/**
 * The bin: runs the command line and turns its result into the process's
 * exit status (70 and the stack for a failure no command caught). Everything
 * else lives in src/cli (the commands) and src/mailer.ts (the wiring).
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { runCli } from './cli/program.js';

/** True when this module is the program being run (also through npm's bin symlink). */
function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  runCli(process.argv).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`proscai-mailer: ${(error as Error)?.stack ?? String(error)}\n`);
      process.exitCode = 70;
    },
  );
}
