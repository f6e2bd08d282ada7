/**
 * The command line's short messages, Spanish by default, English with
 * `language: "en"`: one entry per message, each in both languages (the
 * catalogue's type demands both). Sentences about a failed order are in
 * ./errors.ts.
 */
import type { Language } from '../config/types.js';

type Bi = { es: string; en: string };

/** Messages of the command line; `{name}` placeholders are filled from `params`. */
export const MESSAGES = {
  'instance.running': {
    es: 'Ya hay otro proscai-mailer trabajando sobre la carpeta {dir}; este termina sin tocar nada (estado de salida 3).',
    en: 'Another proscai-mailer is already working on the folder {dir}; this one exits without touching anything (exit status 3).',
  },
  'instance.lock_lost': {
    es: 'proscai-mailer perdió el candado de la carpeta {dir} ({reason}): no toma órdenes nuevas y termina los envíos en curso.',
    en: 'proscai-mailer lost the lock on the folder {dir} ({reason}): it takes no new orders and finishes the sends in progress.',
  },
  'instance.lock_waiting': {
    es: 'Se espera a que la carpeta {dir} exista otra vez para volver a tomar su candado (se revisa cada segundo).',
    en: 'Waiting for the folder {dir} to exist again, to take its lock again (checked every second).',
  },
  'instance.lock_regained': {
    es: 'proscai-mailer volvió a tomar el candado de la carpeta {dir}, perdido a las {lostAt} ({reason}); sigue trabajando.',
    en: 'proscai-mailer took the lock on the folder {dir} again, lost at {lostAt} ({reason}); it carries on.',
  },
  'instance.lock_taken': {
    es: 'Mientras tanto otro proscai-mailer tomó la carpeta {dir} (pid {pid} en {host}, desde {since}); este termina (estado de salida 3).',
    en: 'Meanwhile another proscai-mailer took the folder {dir} (pid {pid} on {host}, since {since}); this one exits (exit status 3).',
  },
  'folder.missing_once': {
    es: 'La carpeta de órdenes {dir} no existe; no se creó ni se envió nada (estado de salida 2). Revise --dir, MAILER_DIR o «dir» en la configuración, o que la unidad de red esté conectada.',
    en: 'The order folder {dir} does not exist; nothing was created or sent (exit status 2). Check --dir, MAILER_DIR or "dir" in the configuration, or that the network share is mounted.',
  },
  'folder.missing_run': {
    es: 'La carpeta de órdenes {dir} no existe: no se envía nada hasta que aparezca (se revisa cada {every} s; proscai-mailer no la crea). Revise --dir, MAILER_DIR o «dir» en la configuración, o que la unidad de red esté conectada.',
    en: 'The order folder {dir} does not exist: nothing is sent until it appears (checked every {every} s; proscai-mailer does not create it). Check --dir, MAILER_DIR or "dir" in the configuration, or that the network share is mounted.',
  },
  'folder.appeared': {
    es: 'La carpeta de órdenes {dir} ya existe (faltaba desde las {since}); proscai-mailer empieza a trabajar.',
    en: 'The order folder {dir} exists now (missing since {since}); proscai-mailer starts working.',
  },
  'folder.unusable_run': {
    es: 'No se puede usar la carpeta de órdenes {dir} ({reason}): no se envía nada de ella hasta que se pueda (se revisa cada {every} s); las demás carpetas siguen trabajando.',
    en: 'The order folder {dir} cannot be used ({reason}): nothing is sent from it until it can (checked every {every} s); the other folders carry on.',
  },
  'folder.unreadable_once': {
    es: 'No se puede leer la carpeta de órdenes {dir} ({reason}); no se envió nada de ella (estado de salida 2).',
    en: 'The order folder {dir} cannot be read ({reason}); nothing was sent from it (exit status 2).',
  },
  'folder.is_file': { es: 'es un archivo, no una carpeta', en: 'it is a file, not a folder' },
  'retry.in_folder': { es: 'En la carpeta de órdenes {dir}:', en: 'In the order folder {dir}:' },
  'folder.not_a_folder': {
    es: 'La ruta de la carpeta de órdenes {dir} es un archivo, no una carpeta; no se envió nada (estado de salida 2). Indique la carpeta con --dir, MAILER_DIR o «dir» en la configuración.',
    en: 'The order folder path {dir} is a file, not a folder; nothing was sent (exit status 2). Give the folder with --dir, MAILER_DIR or "dir" in the configuration.',
  },
  'claims.failing': {
    es: 'No se pueden tomar órdenes: la carpeta {dir} no admite escritura ({reason}); las órdenes esperan en la carpeta de órdenes. Dé permiso de escritura a la cuenta del servicio sobre el área de trabajo (o libere espacio en el disco).',
    en: 'Orders cannot be claimed: the folder {dir} refuses writes ({reason}); the orders wait in the order folder. Give the service account write permission on the work area (or free disk space).',
  },
  'claims.recovered': {
    es: 'Se vuelven a tomar órdenes en {dir}.',
    en: 'Orders are claimed again in {dir}.',
  },
  'eventlog.failed': {
    es: 'No se pudo escribir en el registro de eventos de Windows ({reason}); los errores siguen en este registro. Registre el origen de eventos como administrador (vea docs/operations.md).',
    en: 'The Windows event log could not be written ({reason}); errors are still in this log. Register the event source as administrator (see docs/operations.md).',
  },
  'acuse.missing': {
    es: 'La orden {fileName} se envió, pero su acuse de envío no se pudo guardar ({reason}): no tendrá comprobante. Libere espacio en el disco o dé permiso de escritura a la cuenta del servicio.',
    en: 'The order {fileName} was sent, but its proof of sending (acuse) could not be saved ({reason}): it will have none. Free disk space or give the service account write permission.',
  },
  'acuse.problem': {
    es: 'No se pudo escribir un archivo del acuse de envío de {fileName} ({reason}); el envío sigue.',
    en: 'A file of the proof of sending (acuse) of {fileName} could not be written ({reason}); sending goes on.',
  },
  'health.write_failed': {
    es: 'No se pudo escribir el archivo de estado que lee «proscai-mailer status» ({reason}); status revisa las carpetas por su cuenta.',
    en: 'The state file that "proscai-mailer status" reads could not be written ({reason}); status checks the folders itself.',
  },
  'config.invalid': {
    es: 'La configuración no es válida: {reason}',
    en: 'The configuration is invalid: {reason}',
  },
  'config.dkim_signed': {
    es: '# Firma DKIM de {company}: d={domain} s={selector} (la clave no se muestra)',
    en: '# DKIM signature of {company}: d={domain} s={selector} (the key is not shown)',
  },
  'config.dkim_none': {
    es: '# Sin firma DKIM: {companies}',
    en: '# No DKIM signature: {companies}',
  },
  usage: {
    es: [
      'Uso: proscai-mailer <comando> [opciones]',
      '  run           vigila la carpeta de órdenes y envía cada orden que aparece',
      '  once          una pasada: intenta cada orden presente y termina',
      '  retry <id>    devuelve a la cola una orden que quedó en errores/',
      'Opciones:',
      '  --dir CARPETA             carpeta de órdenes (MAILER_DIR)',
      '  --attachments CARPETA     carpeta de adjuntos (MAILER_ATTACHMENT_PATH; predeterminada: la de órdenes)',
      '  --error-mail DIRECCIÓN    a quién avisar de cada falla (CFD_MAIL_ERR_MAIL)',
      '  --config ARCHIVO          archivo de configuración JSON',
      '  --poll SEGUNDOS           cada cuánto se revisa la carpeta (300)',
      '  --retry LISTA             esperas entre reintentos en segundos, p. ej. 60,120,300',
      '  --language es|en          idioma de los mensajes',
      '  --verbose                 muestra cada paso en la terminal',
      '  --ui [HOST:]PUERTO        run: sirve la ventana de estado (sin valor: 127.0.0.1:8025)',
      'Estado de salida de once: 0 todo enviado, 1 alguna falló, 4 alguna quedó para otra pasada (el registro dice por qué),',
      '2 error de uso o de configuración, 3 otro proscai-mailer ya trabaja sobre la carpeta.',
    ].join('\n'),
    en: [
      'Usage: proscai-mailer <command> [options]',
      '  run           watch the order folder and send every order that appears',
      '  once          one pass: try every order present, then exit',
      '  retry <id>    put an order left in errores/ back in the queue',
      'Options:',
      '  --dir FOLDER              order folder (MAILER_DIR)',
      '  --attachments FOLDER      attachment folder (MAILER_ATTACHMENT_PATH; default: the order folder)',
      '  --error-mail ADDRESS      who is told of every failure (CFD_MAIL_ERR_MAIL)',
      '  --config FILE             JSON configuration file',
      '  --poll SECONDS            how often the folder is rescanned (300)',
      '  --retry LIST              seconds to wait between retries, e.g. 60,120,300',
      '  --language es|en          language of the messages',
      '  --verbose                 show every step on the terminal',
      '  --ui [HOST:]PORT          run: serve the status window (without a value: 127.0.0.1:8025)',
      'Exit status of once: 0 all sent, 1 some failed, 4 some left for a later pass (the log says why),',
      '2 usage or configuration error, 3 another proscai-mailer is working on the folder.',
    ].join('\n'),
  },
  'run.started': {
    es: 'proscai-mailer vigila {dir} (revisión completa cada {poll} s).',
    en: 'proscai-mailer is watching {dir} (full rescan every {poll} s).',
  },
  'ui.started': {
    es: 'ventana de estado en {url}',
    en: 'status window at {url}',
  },
  'ui.started_token': {
    es: 'ventana de estado en {url} (pide el token de ui.token: ábrala como {url}?token=…)',
    en: 'status window at {url} (it asks for the ui.token token: open it as {url}?token=…)',
  },
  'ui.unauthorized': {
    es: 'Esta ventana de estado pide el token de acceso (ui.token): ábrala como /?token=<token>, o pídalo al administrador.',
    en: 'This status window asks for its access token (ui.token): open it as /?token=<token>, or ask the administrator for it.',
  },
  'ui.in_use': {
    es: 'no se puede abrir la ventana de estado en {address}: la dirección ya está en uso (¿otro proscai-mailer con --ui, u otro programa?). Elija otro puerto con --ui o ui.listen.',
    en: 'cannot open the status window on {address}: the address is already in use (another proscai-mailer with --ui, or another program?). Choose another port with --ui or ui.listen.',
  },
  'ui.failed': {
    es: 'no se puede abrir la ventana de estado en {address}: {reason}. Revise --ui o ui.listen.',
    en: 'cannot open the status window on {address}: {reason}. Check --ui or ui.listen.',
  },
  'log.file_failing': {
    es: 'no se puede escribir el archivo de registro {file}: {reason}',
    en: 'cannot write the log file {file}: {reason}',
  },
  'log.file_recovered': {
    es: 'el archivo de registro {file} vuelve a recibir líneas',
    en: 'the log file {file} takes lines again',
  },
  'log.file_recovered_lost': {
    es: 'el archivo de registro {file} vuelve a recibir líneas; se perdieron {lines} líneas (su línea log.lines_lost dice qué envíos)',
    en: 'the log file {file} takes lines again; {lines} lines were lost (its log.lines_lost line says which sends)',
  },
  'log.unwritten': {
    es: '{lines} líneas del registro entre {since} y {until} no se pudieron escribir en {file} ({reason})',
    en: '{lines} log lines logged between {since} and {until} could not be written to {file} ({reason})',
  },
  'log.housekeeping_failed': {
    es: 'limpieza del registro en {file}: {reason}',
    en: 'log housekeeping in {file}: {reason}',
  },
  'once.started': {
    es: 'proscai-mailer revisa una vez las órdenes de {dir}.',
    en: 'proscai-mailer makes one pass over the orders in {dir}.',
  },
  'run.stopping_none': {
    es: 'Deteniendo: no hay envíos en curso.',
    en: 'Stopping: no sends in progress.',
  },
  'run.stopping_one': {
    es: 'Deteniendo: se espera a que termine 1 envío en curso, como máximo {bound}. Pulse Ctrl+C otra vez para detener ya: la orden queda tomada y se envía al siguiente inicio.',
    en: 'Stopping: waiting for 1 send in progress to finish, at most {bound}. Press Ctrl+C again to stop now: the order stays claimed and is sent at the next start.',
  },
  'run.stopping': {
    es: 'Deteniendo: se espera a que terminen {count} envíos en curso, como máximo {bound}. Pulse Ctrl+C otra vez para detener ya: esas órdenes quedan tomadas y se envían al siguiente inicio.',
    en: 'Stopping: waiting for {count} sends in progress to finish, at most {bound}. Press Ctrl+C again to stop now: those orders stay claimed and are sent at the next start.',
  },
  'run.stopped_now': {
    es: 'Detenido sin esperar; órdenes que quedan tomadas para el siguiente inicio: {count} (estado de salida 4).',
    en: 'Stopped without waiting; orders left claimed for the next start: {count} (exit status 4).',
  },
  'run.stopped': { es: 'proscai-mailer se detuvo.', en: 'proscai-mailer stopped.' },
  'once.summary': {
    es: 'Enviadas: {sent}; fallidas: {failed}; en espera de reintento: {queued}.',
    en: 'Sent: {sent}; failed: {failed}; queued for a retry: {queued}.',
  },
  'once.ignored': {
    es: 'Ignoradas: {ignored} (con nombre de orden, pero no son archivos: enlaces o carpetas; el registro las nombra).',
    en: 'Ignored: {ignored} (named like orders, but not files: links or folders; the log names them).',
  },
} as const satisfies Record<string, Bi>;

export type MessageKey = keyof typeof MESSAGES;

/** One CLI message in `lang`; unknown placeholders stay visible so a missing parameter is noticed. */
export function t(key: MessageKey, lang: Language, params: Record<string, string | number> = {}): string {
  const text: string = MESSAGES[key][lang === 'en' ? 'en' : 'es'];
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => (params[name] !== undefined ? String(params[name]) : whole));
}
