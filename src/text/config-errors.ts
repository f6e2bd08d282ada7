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
  [/give either "token" or "tokenEnv", not both/, 'indique "token" o "tokenEnv", no ambos'],
  [/must be PORT or HOST:PORT \(an IPv6 host in brackets: (.+?)\)/, 'debe ser PUERTO o HOST:PUERTO (una dirección IPv6 entre corchetes: $1)'],
  [
    /a status window on an address other than 127\.0\.0\.1, ::1 or localhost needs "ui\.token" or "ui\.tokenEnv"/,
    'una ventana de estado en una dirección distinta de 127.0.0.1, ::1 o localhost necesita "ui.token" o "ui.tokenEnv"',
  ],
  [/the environment variable (\S+) is not set/, 'la variable de entorno $1 no está definida'],
  [/same company as "(.+?)" \(names are matched ignoring case\)/, 'es la misma empresa que "$1" (los nombres se comparan sin distinguir mayúsculas y minúsculas)'],
  [/every folder needs "dir"/, 'cada carpeta necesita "dir"'],
  [/must list at least one folder/, 'debe indicar al menos una carpeta'],
  [/is set for the whole process, at the top level, not per folder/, 'vale para todo el proceso: va en el nivel superior, no por carpeta'],
  [/with a "folders" list, each folder gives its own "dir"/, 'con una lista "folders", cada carpeta indica su propio "dir"'],
  [/same order folder as (folders\[\d+\])/, 'es la misma carpeta de órdenes que $1'],
  [/is inside the order folder of (folders\[\d+\])/, 'está dentro de la carpeta de órdenes de $1'],
  [/contains the order folder of (folders\[\d+\])/, 'contiene la carpeta de órdenes de $1'],
  [/is inside the work area of (folders\[\d+\] \(.*?\)):/, 'está dentro del área de trabajo de $1:'],
  [/shares the work area of (folders\[\d+\] \(.*?\)): (.+?) \(each folder needs its own lock and claims\)/, 'comparte el área de trabajo de $1: $2 (cada carpeta necesita su propio candado y sus propias tomas)'],
  [/writes the same log file as (folders\[\d+\] \(.*?\)): (.+?) \(give each folder its own "logDir"\)/, 'escribe el mismo archivo de registro que $1: $2 (dé a cada carpeta su propio "logDir")'],
  // DKIM keys (io/host/dkim-keys.ts) and HTML envelopes (io/host/envelope.ts)
  [/must be a domain of letters, digits, "-" and "\." \(an accented domain in its xn-- form\)/, 'debe ser un dominio de letras, dígitos, «-» y «.» (un dominio con acentos, en su forma xn--)'],
  [/must be a selector of letters, digits, "-" and "\." \(an accented domain in its xn-- form\)/, 'debe ser un selector de letras, dígitos, «-» y «.»'],
  [/give either "privateKeyFile" or "privateKeyEnv", not both/, 'indique "privateKeyFile" o "privateKeyEnv", no ambos'],
  [/needs "privateKeyFile" or "privateKeyEnv"/, 'necesita "privateKeyFile" o "privateKeyEnv"'],
  [/the DKIM key file (.+?) does not exist/, 'el archivo de clave DKIM $1 no existe'],
  [/the DKIM key file (.+?) is a folder, not a file/, 'el archivo de clave DKIM $1 es una carpeta, no un archivo'],
  [/the DKIM key file (.+?) cannot be read \((.+?)\)/, 'el archivo de clave DKIM $1 no se puede leer ($2)'],
  [/the DKIM key file (.+?) (is protected|does not hold|holds)/, 'el archivo de clave DKIM $1 $2'],
  [/the environment variable (\S+) (is protected|does not hold|holds)/, 'la variable de entorno $1 $2'],
  [/ is protected with a passphrase; save the key without one \((.+?)\)/, ' está protegida con una contraseña; guarde la clave sin ella ($1)'],
  [/ does not hold a PEM private key \((.+?)\)/, ' no contiene una clave privada PEM ($1)'],
  [/ holds a (\S+) key; DKIM signing here needs an RSA key/, ' contiene una clave $1; la firma DKIM necesita una clave RSA'],
  [/ holds an RSA key of (\d+) bits; at least (\d+) are needed \(2048 recommended\)/, ' contiene una clave RSA de $1 bits; se necesitan al menos $2 (se recomiendan 2048)'],
  [/the HTML envelope (.+?) has no (\S+) marker where the body goes/, 'el sobre HTML $1 no tiene la marca $2 donde va el cuerpo'],
  [/the HTML envelope (.+?) has the (\S+) marker more than once \(it must appear exactly once\)/, 'el sobre HTML $1 tiene la marca $2 más de una vez (debe aparecer exactamente una)'],
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
