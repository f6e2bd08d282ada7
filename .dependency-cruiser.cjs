// The house rules on imports (dependency-cruiser ^17: 18.x needs Node >= 22),
// checked by test/architecture.test.ts on every `npm test`; by hand: npx depcruise src
// Layers, low → high. A module may import its own layer or lower ones; a higher one only for types.
const PURE = '^src/(errors|ports)\\.ts$|^src/(text|config|order|machines)/';
const IO = '^src/io/';
const ACTORS = '^src/actors/';
const MAILER = '^src/mailer\\.ts$';
const CLI = '^src/(cli|service)/';
const MAIN = '^src/main\\.ts$';
const above = (...layers) => ({ path: layers.join('|'), dependencyTypesNot: ['type-only'] });
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', from: { path: '^src/' }, to: { circular: true } },
    { name: 'pure-imports-nothing-above', severity: 'error', from: { path: PURE }, to: above(IO, ACTORS, MAILER, CLI, MAIN) },
    { name: 'pure-touches-no-fs-or-network', severity: 'error', from: { path: PURE },
      to: { dependencyTypes: ['core'], path: '^(node:)?(fs|fs/promises|net|tls|dns|child_process|worker_threads|http|https|os)$' } },
    { name: 'io-imports-nothing-above', severity: 'error', from: { path: IO }, to: above(ACTORS, MAILER, CLI, MAIN) },
    // Within io/, the store room (file calls, order files) is the base the other rooms build on.
    { name: 'io-store-is-the-base-room', severity: 'error', from: { path: '^src/io/store/' }, to: above('^src/io/(smtp|log|host|parse|ui)/') },
    // io/ is rooms only (store, smtp, log, host, parse, ui): a module directly in src/io belongs to none.
    { name: 'io-rooms-only', severity: 'error', from: { path: '^src/io/[^/]+\\.ts$' }, to: {} },
    { name: 'actors-import-nothing-above', severity: 'error', from: { path: ACTORS }, to: above(MAILER, CLI, MAIN) },
    { name: 'mailer-imports-nothing-above', severity: 'error', from: { path: MAILER }, to: above(CLI, MAIN) },
    { name: 'cli-imports-nothing-above', severity: 'error', from: { path: CLI }, to: above(MAIN) },
    { name: 'not-to-unresolvable', severity: 'error', from: { path: '^src/' }, to: { couldNotResolve: true } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'], exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'], mainFields: ['module', 'main', 'types'] },
  },
};
