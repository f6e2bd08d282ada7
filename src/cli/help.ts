/**
 * The command line in the operator's language: every command's `--help`
 * (descriptions, option texts, commander's headings "Usage/Options/Commands"
 * and its "(default: …)", "(choices: …)" notes) and commander's own errors
 * ("unknown option", "missing required argument"…) in Spanish by default,
 * English with `--language en`.
 *
 * The language has to be known before commander parses anything (it prints
 * the help and its errors while parsing), so `cliLanguage` looks for it the
 * way the configuration would find it: `--language` on the command line, else
 * `language` in the `--config` file, else Spanish.
 */
import { readFileSync } from 'node:fs';
import { type Command, type Help, type Option } from 'commander';
import type { Language } from '../config/types.js';
import { HELP_TEXT, type HelpKey } from '../text/help.js';

/** One help text in `lang`. */
export function h(key: HelpKey, lang: Language): string {
  return HELP_TEXT[key][lang === 'en' ? 'en' : 'es'];
}

/** The value of `--name VALUE` or `--name=VALUE` in argv (the last one wins, as commander takes it). */
function argValue(argv: readonly string[], name: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') break;
    if (arg === name && i + 1 < argv.length) value = argv[++i];
    else if (arg.startsWith(`${name}=`)) value = arg.slice(name.length + 1);
  }
  return value;
}

/**
 * The language of the command line's own texts (help, usage errors, and the
 * messages printed before the configuration is loaded): `--language` when
 * given and valid, else the `language` key of the `--config` file when it can
 * be read, else Spanish. A file that cannot be read is not reported here: the
 * command reports it itself, in this language.
 */
export function cliLanguage(argv: readonly string[]): Language {
  const flag = argValue(argv, '--language');
  if (flag === 'es' || flag === 'en') return flag;
  const file = argValue(argv, '--config');
  if (file !== undefined) {
    try {
      const parsed = JSON.parse(readFileSync(file, 'utf8').replace(/^\uFEFF/, '')) as { language?: unknown };
      if (parsed.language === 'es' || parsed.language === 'en') return parsed.language;
    } catch {
      // Unreadable or invalid: the command says so when it loads the configuration.
    }
  }
  return 'es';
}

/** Commander's headings and usage words in Spanish. */
const TITLES_ES: Record<string, string> = {
  'Usage:': 'Uso:',
  'Options:': 'Opciones:',
  'Commands:': 'Comandos:',
  'Arguments:': 'Argumentos:',
  'Global Options:': 'Opciones globales:',
};
const USAGE_WORDS_ES: Record<string, string> = { '[options]': '[opciones]', '[command]': '[comando]' };

function usageWords(text: string, lang: Language): string {
  return lang === 'en' ? text : text.split(' ').map((word) => USAGE_WORDS_ES[word] ?? word).join(' ');
}

/** `(default: "x", choices: "es", "en")` in the operator's language. */
function optionExtras(option: Option, lang: Language): string[] {
  const extras: string[] = [];
  if (option.argChoices) extras.push(`${h('help.choices', lang)}: ${option.argChoices.map((c) => JSON.stringify(c)).join(', ')}`);
  if (option.defaultValue !== undefined && (option.required || option.optional)) {
    extras.push(`${h('help.default', lang)}: ${option.defaultValueDescription ?? JSON.stringify(option.defaultValue)}`);
  }
  return extras;
}

/**
 * Commander's error lines translated: each of its messages (commander 14)
 * has a Spanish form; a message it may add in a later version passes through
 * unchanged rather than being lost.
 */
const ERRORS_ES: [RegExp, (...groups: string[]) => string][] = [
  [/^error: unknown option '(.*?)'/, (flag) => `error: opción desconocida «${flag}»`],
  [/^error: unknown command '(.*?)'/, (name) => `error: comando desconocido «${name}»`],
  [/^error: missing required argument '(.*?)'/, (name) => `error: falta el argumento obligatorio «${name}»`],
  [/^error: option '(.*?)' argument missing/, (flags) => `error: falta el valor de la opción «${flags}»`],
  [/^error: required option '(.*?)' not specified/, (flags) => `error: falta la opción obligatoria «${flags}»`],
  [
    /^error: too many arguments(?: for '(.*?)')?\. Expected (\d+) arguments? but got (\d+)\./,
    (name, expected, got) => `error: demasiados argumentos${name ? ` para «${name}»` : ''}: se esperaban ${expected} y se recibieron ${got}.`,
  ],
  [
    /^error: option '(.*?)' argument '(.*?)' is invalid\. Allowed choices are (.*)\./,
    (flags, value, choices) => `error: el valor «${value}» de la opción «${flags}» no es válido. Valores permitidos: ${choices}.`,
  ],
  [
    /^error: command-argument value '(.*?)' is invalid for argument '(.*?)'\. Allowed choices are (.*)\./,
    (value, name, choices) => `error: el valor «${value}» del argumento «${name}» no es válido. Valores permitidos: ${choices}.`,
  ],
  [/^error: (.*) cannot be used with (.*)$/, (a, b) => `error: ${a} no se puede usar junto con ${b}`],
];

/** One of commander's error texts (possibly several lines) in the operator's language. */
export function translateCommanderError(text: string, lang: Language): string {
  if (lang === 'en') return text;
  const [first = '', ...rest] = text.split('\n');
  let line = first;
  for (const [pattern, spanish] of ERRORS_ES) {
    const match = pattern.exec(first);
    if (match) {
      line = spanish(...match.slice(1).map((g) => g ?? '')) + first.slice(match[0].length);
      break;
    }
  }
  const more = rest.map((l) =>
    l
      .replace(/^\(Did you mean one of (.*)\?\)$/, '(¿Quiso decir alguno de estos: $1?)')
      .replace(/^\(Did you mean (.*)\?\)$/, '(¿Quiso decir $1?)'),
  );
  return [line, ...more].join('\n');
}

/**
 * Sets the operator's language on the program before any subcommand is
 * declared (subcommands inherit commander's help, output and help-option
 * settings from their parent): headings, usage words, option notes, the help
 * option and help command, commander's errors, and a one-line hint after an
 * error instead of the whole help.
 */
export function localizeProgram(program: Command, lang: Language): Command {
  const helpConfig: Partial<Help> = {
    styleTitle: (title: string) => (lang === 'en' ? title : (TITLES_ES[title] ?? title)),
    styleUsage: (usage: string) => usageWords(usage, lang),
    styleSubcommandTerm: (term: string) => usageWords(term, lang),
    optionDescription: (option: Option) => {
      const extras = optionExtras(option, lang);
      return extras.length === 0 ? option.description : `${option.description} (${extras.join(', ')})`.trim();
    },
  };
  return program
    .configureHelp(helpConfig)
    .configureOutput({ outputError: (text, write) => write(translateCommanderError(text, lang)) })
    .helpOption('-h, --help', h('help.help', lang))
    .helpCommand(h('help.help_command_name', lang), h('help.help_command', lang))
    .showHelpAfterError(h('help.after_error', lang));
}
