/**
 * The texts of the command line's `--help`, in both languages (see ./help.ts):
 * command and argument descriptions, option flags (their value placeholders
 * are words too: `--dir <carpeta>`) and option descriptions. Spanish in
 * Mexican usage ("predeterminado").
 */
export const HELP_TEXT = {
  // Commander's own words.
  'help.help': { es: 'muestra la ayuda del comando', en: 'display help for command' },
  'help.help_command_name': { es: 'help [comando]', en: 'help [command]' },
  'help.help_command': { es: 'muestra la ayuda de un comando', en: 'display help for a command' },
  'help.version': { es: 'muestra la versión del programa', en: 'output the version number' },
  'help.after_error': { es: '(añada --help para ver las opciones)', en: '(add --help for additional information)' },
  'help.default': { es: 'predeterminado', en: 'default' },
  'help.choices': { es: 'valores', en: 'choices' },

  // Commands.
  'cmd.program': {
    es: 'Envía por SMTP las órdenes de envío del ERP (_CFD_MAIL_REQ_<id>.XML).',
    en: "Sends the ERP's send orders (_CFD_MAIL_REQ_<id>.XML) by SMTP.",
  },
  'cmd.run': { es: 'vigila la carpeta de órdenes y envía cada orden que aparece', en: 'watch the order folder and send orders as they appear' },
  'cmd.once': { es: 'una pasada sobre las órdenes presentes ahora, y termina', en: 'one pass over the orders present now, then exit' },
  'cmd.status': {
    es: 'órdenes en espera, en curso, pospuestas, fallidas y enviadas, por empresa, y lo que requiere atención',
    en: 'orders waiting, in progress, deferred, failed and sent, per company, and what needs attention',
  },
  'cmd.trace': { es: 'la historia de una orden según el registro (log)', en: 'the timeline of one order from the log' },
  'cmd.acuse': {
    es: 'el acuse de envío de una orden enviada: qué servidor la aceptó, cuándo, con qué respuesta, y la huella SHA-256 del mensaje y sus adjuntos',
    en: 'the proof of sending (acuse) of a sent order: which server accepted it, when, with what reply, and the SHA-256 of the message and its attachments',
  },
  'cmd.check': { es: 'valida una orden y muestra lo que se enviaría, sin enviar', en: 'validate an order and show what would be sent, without sending' },
  'cmd.retry': { es: 'devuelve a la cola una orden fallida (o pospuesta)', en: 'put a failed (or deferred) order back in the queue' },
  'cmd.send_test': {
    es: 'envía un mensaje de prueba con la configuración SMTP y explica el resultado',
    en: 'send one test message with the configured SMTP settings and explain the outcome',
  },
  'cmd.config': {
    es: 'muestra la configuración efectiva, con las contraseñas ocultas; estado de salida 2 si no es válida',
    en: 'print the effective configuration, passwords masked; exit 2 when it is invalid',
  },
  'cmd.service': {
    es: 'ejecuta el programa al arrancar el equipo: unidad de systemd (Linux) o tarea programada (Windows)',
    en: 'run the mailer at boot: systemd unit (Linux) or scheduled task (Windows)',
  },
  'cmd.service_print': {
    es: 'muestra la unidad de systemd o el XML de la tarea de Windows (--out ARCHIVO lo escribe)',
    en: 'print the systemd unit or the Windows task XML (--out FILE writes it)',
  },
  'cmd.service_install': {
    es: 'Linux: escribe la unidad en /etc/systemd/system y muestra la línea de systemctl que hay que ejecutar',
    en: 'Linux: write the unit to /etc/systemd/system and print the systemctl line to run',
  },

  // Arguments.
  'arg.id': { es: 'id de la orden o nombre del archivo', en: 'order id or file name' },
  'arg.file': { es: 'archivo de la orden, o su id (se busca en la carpeta de órdenes, errores/ y enviados/)', en: 'order file, or its id (looked for in the order folder, errores/ and enviados/)' },
  'arg.id_name': { es: 'id', en: 'id' },
  'arg.file_name': { es: 'archivo', en: 'file' },

  // Options shared by every command that reads the folder or the configuration.
  'flags.dir': { es: '--dir <carpeta>', en: '--dir <folder>' },
  'opt.dir': {
    es: 'carpeta de órdenes (MAILER_DIR); si la configuración tiene varias, solo esa',
    en: 'order folder (MAILER_DIR); when the configuration lists several, that one only',
  },
  'flags.attachments': { es: '--attachments <carpeta>', en: '--attachments <folder>' },
  'opt.attachments': {
    es: 'carpeta de adjuntos (MAILER_ATTACHMENT_PATH; predeterminada: la de órdenes)',
    en: 'attachment folder (MAILER_ATTACHMENT_PATH; default: the order folder)',
  },
  'flags.error_mail': { es: '--error-mail <dirección>', en: '--error-mail <address>' },
  'opt.error_mail': { es: 'a quién se avisa de cada falla (CFD_MAIL_ERR_MAIL)', en: 'address told of every failure (CFD_MAIL_ERR_MAIL)' },
  'flags.config': { es: '--config <archivo>', en: '--config <file>' },
  'opt.config': { es: 'archivo de configuración JSON', en: 'JSON configuration file' },
  'flags.language': { es: '--language <idioma>', en: '--language <lang>' },
  'opt.language': { es: 'idioma de los mensajes y las notas', en: 'language of messages and notes' },

  // Options of run and once.
  'flags.poll': { es: '--poll <segundos>', en: '--poll <seconds>' },
  'opt.poll': {
    es: 'segundos entre revisiones completas de la carpeta de órdenes (predeterminado: 300)',
    en: 'seconds between safety-net rescans of the order folder (default 300)',
  },
  'flags.retry': { es: '--retry <segundos,...>', en: '--retry <seconds,...>' },
  'opt.retry': {
    es: 'segundos de espera antes de cada nuevo intento de una orden que falló de forma temporal',
    en: 'seconds before each further try of a temporarily failed order',
  },
  'opt.verbose': { es: 'muestra en la terminal cada paso de cada orden', en: 'print every state transition of every order' },
  'flags.ui': { es: '--ui [[host:]puerto]', en: '--ui [[host:]port]' },
  'opt.service_ui': {
    es: 'el servicio sirve la ventana de estado en esa dirección (sin valor: 127.0.0.1:8025)',
    en: 'the service serves the status window on that address (without a value: 127.0.0.1:8025)',
  },
  'opt.ui': {
    es: 'sirve la ventana de estado en esa dirección (sin valor: 127.0.0.1:8025); fuera de este equipo exige ui.token',
    en: 'serve the status window on that address (without a value: 127.0.0.1:8025); off this machine it needs ui.token',
  },

  // Options of the other commands.
  'opt.json': { es: 'imprime un documento JSON, para scripts', en: 'print one JSON document for scripts' },
  'opt.config_json': { es: 'imprime JSON en lugar de líneas clave = valor', en: 'print JSON instead of key = value lines' },
  'opt.failed': { es: 'todas las órdenes de errores/', en: 'every order in errores/' },
  'flags.to': { es: '--to <dirección>', en: '--to <address>' },
  'opt.to': { es: 'quién recibe el mensaje de prueba', en: 'who receives the test message' },
  'flags.company': { es: '--company <nombre>', en: '--company <name>' },
  'opt.company': {
    es: 'usa el perfil de esta empresa en lugar de smtp/from generales',
    en: "use this company's profile instead of the top-level smtp/from",
  },

  // Options of service print / install.
  'flags.platform': { es: '--platform <sistema>', en: '--platform <platform>' },
  'opt.platform': {
    es: 'linux (unidad de systemd) o windows (XML del Programador de tareas); predeterminado: el de este equipo',
    en: 'linux (systemd unit) or windows (Task Scheduler XML); default: this machine',
  },
  'opt.service_config': { es: 'archivo de configuración con que corre el servicio', en: 'configuration file the service runs with' },
  'opt.service_dir': {
    es: 'carpeta de órdenes del servicio (cuando el archivo de configuración no la indica)',
    en: 'order folder the service runs on (when the configuration file does not name it)',
  },
  'opt.service_attachments': { es: 'carpeta de adjuntos del servicio', en: 'attachment folder the service runs with' },
  'opt.service_error_mail': { es: 'a quién avisa el servicio de cada falla', en: 'address the service tells of every failure' },
  'opt.service_language': {
    es: 'idioma de estos mensajes y del servicio',
    en: 'language of these messages and of the service',
  },
  'flags.name': { es: '--name <nombre>', en: '--name <name>' },
  'opt.name': { es: 'nombre del servicio de systemd o de la tarea de Windows', en: 'name of the systemd service or of the Windows task' },
  'flags.user': { es: '--user <usuario>', en: '--user <user>' },
  'opt.user': {
    es: 'cuenta con que corre el servicio (Linux: User=; Windows: predeterminada SYSTEM)',
    en: 'account the service runs as (Linux: User=; Windows: default SYSTEM)',
  },
  'flags.node': { es: '--node <ruta>', en: '--node <path>' },
  'opt.node': {
    es: 'programa node que ejecuta el servicio (predeterminado: el que ejecuta este comando)',
    en: 'node binary the service runs (default: the one running this command)',
  },
  'flags.script': { es: '--script <ruta>', en: '--script <path>' },
  'opt.script': { es: 'el dist/main.js del programa (predeterminado: el de esta instalación)', en: "the program's dist/main.js (default: this installation's)" },
  'flags.env_file': { es: '--env-file <archivo>', en: '--env-file <file>' },
  'opt.env_file': {
    es: 'Linux: EnvironmentFile= con las variables que nombra passwordEnv',
    en: 'Linux: EnvironmentFile= with the variables named by passwordEnv',
  },
  'flags.working_dir': { es: '--working-dir <carpeta>', en: '--working-dir <folder>' },
  'opt.working_dir': {
    es: 'carpeta en que arranca el servicio (Linux: WorkingDirectory=; Windows: «Iniciar en» de la tarea, predeterminada la del programa)',
    en: "folder the service starts in (Linux: WorkingDirectory=; Windows: the task's Start in, default the program's folder)",
  },
  'flags.out': { es: '--out <archivo>', en: '--out <file>' },
  'opt.out': {
    es: 'escribe en ARCHIVO en lugar de la terminal (Windows: UTF-16, como lo lee schtasks)',
    en: 'write to FILE instead of the terminal (Windows: UTF-16, as schtasks reads it)',
  },
  'flags.unit_dir': { es: '--unit-dir <carpeta>', en: '--unit-dir <folder>' },
  'opt.unit_dir': { es: 'carpeta donde se escribe la unidad', en: 'folder to write the unit to' },
} as const satisfies Record<string, { es: string; en: string }>;

export type HelpKey = keyof typeof HELP_TEXT;
