/**
 * A worker thread run from the TypeScript sources: production loads the built
 * `worker.js` beside the module that starts it, which the sources do not
 * have, so in-process tests pass this as the `entry`/`worker` option. The
 * bootstrap registers tsx's loader in the worker, then imports the .ts module.
 */
export interface SourceWorker {
  url: string;
  eval: true;
}

/** The worker of `rel` (a path under src/, such as `io/smtp/worker.ts`), loaded through tsx. */
export function sourceWorker(rel: string): SourceWorker {
  const ts = new URL(`../../src/${rel}`, import.meta.url);
  return { url: `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(ts.href)}); });`, eval: true };
}
