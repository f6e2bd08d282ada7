/**
 * Why a configuration is invalid, in the operator's language. The
 * configuration module words its CONFIG_INVALID messages in English (they are
 * also the `error` field of log lines and of `--json` output); the command
 * line shows them in Spanish by default: each phrase those messages are made
 * of has its Spanish form here, and the key, value and file they name are
 * kept as they are (keys in JSON's double quotes, as the file writes them).
 *
 * Guarantees: nothing is dropped (a phrase without a Spanish form stays as it
 * is); in English the message is shown as written, except the order-folder
 * message, which carries both languages and shows only the operator's.
 */
import type { Language } from '../config/types.js';

const SPANISH: [RegExp, string][] = [
  [/configuration file (.+) does not exist/, 'el archivo de configuración $1 no existe'],
  [/configuration file (.+) is a folder, not a file/, 'el archivo de configuración $1 es una carpeta, no un archivo'],
  [/configuration file (.+) cannot be read \((.+)\)/, 'el archivo de configuración $1 no se puede leer ($2)'],
  [/configuration file (.+) is not valid JSON at line (\d+), column (\d+):/, 'el archivo de configuración $1 no es JSON válido en la línea $2, columna $3:'],
  [/must be a non-empty text/, 'debe ser un texto no vacío'],
  [/must be true or false/, 'debe ser true o false'],
  [/must be a whole number of seconds/, 'debe ser un número entero de segundos'],
  [/must be a whole number/, 'debe ser un número entero'],
  [/ from (\d+) to (\d+)/, ' de $1 a $2'],
  [/must be one of (.+)/, 'debe ser uno de estos valores: $1'],
  [/must be one e-mail address, `address` or `Name <address>`/, 'debe ser una dirección de correo, `dirección` o `Nombre <dirección>`'],
  [/must be one or more e-mail addresses separated by "," or ";"/, 'debe ser una o más direcciones de correo separadas por «,» o «;»'],
  [/must be a list/, 'debe ser una lista'],
  [/must be an object/, 'debe ser un objeto'],
  [/unknown key "(.+?)"/, 'clave desconocida "$1"'],
  [/ \(did you mean "(.+?)"\?\)/, ' (¿quiso decir "$1"?)'],
  [/a profile needs "(.+?)"/, 'un perfil necesita "$1"'],
  [/unknown option/, 'opción desconocida'],
  [/give either "password" or "passwordEnv", not both/, 'indique "password" o "passwordEnv", no ambos'],
  [/the environment variable (\S+) is not set/, 'la variable de entorno $1 no está definida'],
  [/same company as "(.+?)" \(names are matched ignoring case\)/, 'es la misma empresa que "$1" (los nombres se comparan sin distinguir mayúsculas y minúsculas)'],
  [/ \(in ([^()]+)\)$/, ' (en $1)'],
];

/** The order-folder message (config/load.ts) says it in both languages: `English (Spanish)`. */
const BOTH = /^(dir: )?(the order folder is required: .*?) \((falta la carpeta de órdenes: .*)\)$/;

/** A CONFIG_INVALID message in `lang`. */
export function configReason(message: string, lang: Language): string {
  const both = BOTH.exec(message);
  if (both) return `${both[1] ?? ''}${lang === 'en' ? both[2] : both[3]}`;
  if (lang === 'en') return message;
  return SPANISH.reduce((text, [pattern, spanish]) => text.replace(pattern, spanish), message);
}
