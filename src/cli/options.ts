/**
 * The options shared by the commands that build a configuration (`run`,
 * `once`, `config`, …), and their mapping onto `buildConfig`'s flags.
 */
import type { Flags } from '../config/load.js';

export interface CommonOptions {
  dir?: string;
  attachments?: string;
  errorMail?: string;
  config?: string;
  poll?: string;
  retry?: string;
  verbose?: boolean;
  language?: string;
}

const FLAG_KEYS = ['dir', 'attachments', 'errorMail', 'config', 'poll', 'retry', 'verbose', 'language'] as const;

/** The flags given on the command line (unset options are left out, so lower layers apply). */
export function flagsOf(options: CommonOptions): Partial<Flags> {
  const flags: Partial<Flags> = {};
  for (const key of FLAG_KEYS) if (options[key] !== undefined) Object.assign(flags, { [key]: options[key] });
  return flags;
}
