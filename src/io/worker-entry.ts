/**
 * Where a worker thread's module is: beside the module that starts it once
 * built (`dist/io/<room>/<name>.js`). When running from the TypeScript sources
 * (tests), a bootstrap registers tsx's loader in the worker first, then
 * imports the .ts module.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface WorkerEntry {
  url: URL | string;
  /** True when `url` is code to evaluate (the tsx bootstrap), not a module's URL. */
  eval?: boolean;
}

/** The entry of worker module `name` (without extension) beside the module at `base` (its `import.meta.url`). */
export function workerEntry(name: string, base: string): WorkerEntry {
  const js = new URL(`./${name}.js`, base);
  if (existsSync(fileURLToPath(js))) return { url: js };
  const ts = new URL(`./${name}.ts`, base);
  const bootstrap = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(ts.href)}); });`;
  return { url: bootstrap, eval: true };
}
