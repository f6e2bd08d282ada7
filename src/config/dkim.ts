/**
 * The DKIM keys a configuration names (`companies.<Empresa>.dkim`), over
 * every folder. Pure: io/host/dkim-keys.ts reads the key files and checks
 * every key, then hands the keys back through `withDkimKeys`.
 */
import type { CompanyProfile, Config, DkimProfile } from './types.js';
import { foldersOf } from './folders.js';

/** One company's DKIM settings and the key naming them (`companies.ACME.dkim`). */
export interface DkimEntry {
  key: string;
  company: string;
  dkim: DkimProfile;
}

/** Every company's DKIM settings, top level and folders; a file named by several companies or folders is listed once per company. */
export function dkimEntriesOf(config: Config): DkimEntry[] {
  const out: DkimEntry[] = [];
  const seen = new Set<DkimProfile>();
  for (const folder of [config, ...foldersOf(config)]) {
    for (const [company, profile] of Object.entries(folder.companies)) {
      if (profile.dkim === undefined || seen.has(profile.dkim)) continue;
      seen.add(profile.dkim);
      out.push({ key: `companies.${company}.dkim`, company, dkim: profile.dkim });
    }
  }
  return out;
}

/**
 * The configuration with every `privateKeyFile`'s key (PEM text, by absolute
 * path) in `privateKey`; frozen like the one it came from.
 */
export function withDkimKeys(config: Config, keys: ReadonlyMap<string, string>): Config {
  const profile = (p: Readonly<CompanyProfile>): Readonly<CompanyProfile> => {
    const file = p.dkim?.privateKeyFile;
    const key = file === undefined ? undefined : keys.get(file);
    return key === undefined ? p : Object.freeze({ ...p, dkim: Object.freeze({ ...p.dkim!, privateKey: key }) });
  };
  const companies = Object.freeze(Object.fromEntries(Object.entries(config.companies).map(([name, p]) => [name, profile(p)])));
  return Object.freeze({
    ...config,
    companies,
    ...(config.folders !== undefined && { folders: Object.freeze(config.folders.map((folder) => withDkimKeys(folder, keys))) }),
  });
}
