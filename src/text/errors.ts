/**
 * Sentences about failures, for the people at the company: what went wrong
 * with an order (`describeError`), what to do next, the `<file>.error.txt`
 * note and the failure notification. Spanish by default, English with
 * `language: "en"`. The short command-line messages are in ./messages.ts.
 *
 * Guarantees: every error code has a sentence in both languages (the tables
 * are typed by `ErrorCode`, so a new code does not compile without one); the
 * field and the offending value are always named when the error has them; no
 * SMTP setting other than what the error itself carries is ever printed, so
 * no password can reach a note or an e-mail.
 */
import type { Language } from '../config/types.js';
import { shorten, type ErrorCode, type MailerError, type SerializedError, type SmtpDiagnosis, type XmlProblem, type XmlProblemKind } from '../errors.js';
import type { FailureReport } from '../ports.js';

type AnyError = MailerError | SerializedError;
type Bi = { es: string; en: string };

/** What the templates see of an error: quoted field and value, the server's reply. */
interface Parts {
  field: string;
  value: string;
  reply: string;
  message: string;
  /** The absolute path the mailer looked at (an attachment), or ''. */
  path: string;
  xml?: XmlProblem;
}

const strip = (s: string): string => s.trim().replace(/[.\s]+$/, '');
const withColon = (s: string): string => (s === '' ? '' : `: ${s}`);

/** What was wrong with an order's XML, one phrase per kind of problem, from its data (never from the English message). */
const XML_PROBLEMS: Record<XmlProblemKind, (x: XmlProblem) => Bi> = {
  commentUnclosed: () => ({ es: 'un comentario «<!--» no se cierra con «-->»', en: 'a comment "<!--" is never closed with "-->"' }),
  cdataUnclosed: () => ({ es: 'una sección «<![CDATA[» no se cierra con «]]>»', en: 'a "<![CDATA[" section is never closed with "]]>"' }),
  cdataOutsideRoot: () => ({ es: 'hay una sección CDATA fuera del elemento raíz', en: 'a CDATA section lies outside the root element' }),
  instructionUnclosed: () => ({ es: 'una instrucción «<?» no se cierra con «?>»', en: 'an instruction "<?" is never closed with "?>"' }),
  declarationNotFirst: () => ({ es: 'la declaración «<?xml …?>» solo puede ir al principio del archivo', en: 'the declaration "<?xml …?>" may only stand at the start of the file' }),
  unexpectedBang: () => ({ es: 'se encontró «<!», que aquí no se admite (solo comentarios «<!--» y secciones «<![CDATA[»)', en: 'found "<!", which is not allowed here (only "<!--" comments and "<![CDATA[" sections)' }),
  secondRoot: (x) => ({ es: `después del elemento raíz se encontró otro elemento <${x.name ?? ''}>; todo debe ir dentro de un solo elemento raíz`, en: `after the root element another element <${x.name ?? ''}> was found; everything must be inside one root element` }),
  tooDeep: (x) => ({ es: `los elementos están anidados a más de ${x.count ?? '?'} niveles`, en: `elements are nested more than ${x.count ?? '?'} levels deep` }),
  elementUnclosed: (x) => ({ es: `el elemento <${x.name ?? ''}> se abre aquí y nunca se cierra: falta </${x.name ?? ''}>`, en: `the element <${x.name ?? ''}> opens here and is never closed: </${x.name ?? ''}> is missing` }),
  noRoot: () => ({ es: 'se esperaba un elemento (<OrdenEnvio>) y no hay ninguno', en: 'an element (<OrdenEnvio>) was expected and there is none' }),
  bareAmpersand: () => ({ es: 'se encontró un «&» suelto; dentro del texto se escribe «&amp;»', en: 'found a bare "&"; inside text it is written "&amp;"' }),
  textAfterRoot: () => ({ es: 'hay texto después del cierre del elemento raíz', en: 'there is text after the root element ends' }),
  textBeforeRoot: (x) => ({ es: `se esperaba «<» y se encontró «${x.found ?? ''}» antes del elemento raíz`, en: `expected "<" and found "${x.found ?? ''}" before the root element` }),
  endTagUnterminated: (x) => ({ es: `la etiqueta de cierre </${x.name ?? ''} no termina con «>»`, en: `the closing tag </${x.name ?? ''} does not end with ">"` }),
  endTagJunk: (x) => ({ es: `se esperaba «>» después de </${x.name ?? ''} y se encontró otra cosa (una etiqueta de cierre no lleva atributos)`, en: `expected ">" after </${x.name ?? ''} and found something else (a closing tag takes no attributes)` }),
  endTagUnopened: (x) => ({ es: `se encontró </${x.name ?? ''}> sin ningún elemento abierto`, en: `found </${x.name ?? ''}> with no element open` }),
  endTagMismatch: (x) => ({
    es: `se esperaba </${x.expected ?? ''}> (abierto en la línea ${x.openedLine ?? '?'}, columna ${x.openedColumn ?? '?'}) y se encontró </${x.name ?? ''}>`,
    en: `expected </${x.expected ?? ''}> (opened at line ${x.openedLine ?? '?'}, column ${x.openedColumn ?? '?'}) and found </${x.name ?? ''}>`,
  }),
  tagNameMissing: () => ({ es: 'después de «<» se esperaba el nombre de un elemento; un «<» dentro del texto se escribe «&lt;»', en: 'a "<" must be followed by an element name; a "<" inside text is written "&lt;"' }),
  tagNameInvalid: (x) => ({ es: `«${x.name ?? ''}» no es un nombre de elemento válido`, en: `"${x.name ?? ''}" is not a valid element name` }),
  attributeQuoteOpen: (x) => ({ es: `un atributo de <${x.name ?? ''}> abre comillas y no las cierra`, en: `an attribute of <${x.name ?? ''}> opens a quote and never closes it` }),
  attributeNoSpace: (x) => ({ es: `falta un espacio antes del atributo «${x.name ?? ''}»`, en: `a space is missing before the attribute "${x.name ?? ''}"` }),
  attributeNoValue: (x) => ({ es: `el atributo «${x.name ?? ''}» no tiene valor (se esperaba ${x.name ?? ''}="…")`, en: `the attribute "${x.name ?? ''}" has no value (expected ${x.name ?? ''}="…")` }),
  attributeUnquoted: (x) => ({ es: `el valor del atributo «${x.name ?? ''}» no está entre comillas`, en: `the value of the attribute "${x.name ?? ''}" is not in quotes` }),
  attributeNameInvalid: (x) => ({ es: `«${x.name ?? ''}» no es un nombre de atributo válido`, en: `"${x.name ?? ''}" is not a valid attribute name` }),
  attributeRepeated: (x) => ({ es: `el atributo «${x.name ?? ''}» aparece dos veces`, en: `the attribute "${x.name ?? ''}" appears twice` }),
  referenceUndefined: (x) => ({ es: `${x.name ?? ''} no es una referencia que XML defina (escriba el carácter mismo; «&» se escribe «&amp;»)`, en: `${x.name ?? ''} is not a reference XML defines (write the character itself; "&" is written "&amp;")` }),
  moreReferencesUndefined: (x) => ({ es: `${x.count ?? '?'} elementos más usan referencias que XML no define`, en: `${x.count ?? '?'} more elements use references XML does not define` }),
};

/** What was wrong with the order's XML, in `lang`, without where (see `describeError` for the whole sentence). */
export function describeXmlProblem(problem: XmlProblem, lang: Language): string {
  const phrase = XML_PROBLEMS[problem.kind] ?? (() => ({ es: problem.kind, en: problem.kind }));
  return phrase(problem)[lang === 'en' ? 'en' : 'es'];
}

/** `El XML de la orden está mal formado en la línea 3, columna 15: …`, from the scanner's data. */
function malformedSentence(p: Parts & { xml: XmlProblem }): Bi {
  const x = p.xml;
  const at = x.line !== undefined ? { es: ` en la línea ${x.line}, columna ${x.column ?? '?'}`, en: ` at line ${x.line}, column ${x.column ?? '?'}` } : undefined;
  const inField = p.field !== '' ? { es: ` en el campo «${p.field}»`, en: ` in the field "${p.field}"` } : { es: '', en: '' };
  const where = at ?? inField;
  return { es: `El XML de la orden está mal formado${where.es}: ${describeXmlProblem(x, 'es')}`, en: `The order's XML is malformed${where.en}: ${describeXmlProblem(x, 'en')}` };
}

/** ` (se buscó en /srv/adjuntos/FACT-1.pdf)`: where the mailer looked for an attachment, when it knows. */
const lookedAt = (p: Parts, es: string, en: string): Bi => (p.path === '' ? { es: '', en: '' } : { es: `${es} ${p.path}`, en: `${en} ${p.path}` });

/** Why an envelope cannot be used, by the `value` io/host/envelope.ts gives ENVELOPE_INVALID (else an errno code: not readable). */
const ENVELOPE_PROBLEMS: Record<string, Bi> = {
  'no-marker': { es: 'no contiene la marca {{CUERPO}}, que indica dónde va el cuerpo del mensaje', en: 'does not contain the marker {{CUERPO}}, which says where the message body goes' },
  'many-markers': { es: 'contiene la marca {{CUERPO}} más de una vez; debe aparecer exactamente una', en: 'contains the marker {{CUERPO}} more than once; it must appear exactly once' },
  'not-a-file': { es: 'es una carpeta, no un archivo', en: 'is a folder, not a file' },
};

/** One sentence per code: `[es, en]`, from the error's parts. */
const SENTENCES: Record<ErrorCode, (p: Parts) => Bi> = {
  ORDER_UNREADABLE: (p) => ({ es: `No se pudo leer el archivo de la orden${withColon(p.message)}`, en: `The order file could not be read${withColon(p.message)}` }),
  ORDER_EMPTY: () => ({ es: 'El archivo de la orden está vacío', en: 'The order file is empty' }),
  ORDER_TOO_LARGE: (p) => ({ es: `El archivo de la orden es demasiado grande${p.value === '' ? '' : `: ${p.value} bytes`} (el máximo es 10 MB)`, en: `The order file is too large${p.value === '' ? '' : `: ${p.value} bytes`} (the limit is 10 MB)` }),
  ORDER_INCOMPLETE: (p) => ({ es: `La orden está incompleta: el archivo termina antes de </OrdenEnvio>${p.value === '' ? '' : ` (termina en «${p.value}»)`}; quien la escribía se detuvo a la mitad`, en: `The order is incomplete: the file ends before </OrdenEnvio>${p.value === '' ? '' : ` (it ends with "${p.value}")`}; whatever was writing it stopped half-way` }),
  ORDER_ENCODING: (p) => ({ es: `El texto de la orden no es válido en su codificación${withColon(p.value)}. Guarde el archivo en la codificación que declara (UTF-8, windows-1252 o UTF-16) o corrija la declaración, p. ej. encoding="windows-1252" para un archivo ANSI`, en: `The order's text is not valid in its encoding${withColon(p.value)}. Save the file in the encoding it declares (UTF-8, windows-1252 or UTF-16) or correct the declaration, e.g. encoding="windows-1252" for an ANSI file` }),
  ORDER_NOT_XML: () => ({ es: 'El archivo de la orden no es un documento XML', en: 'The order file is not an XML document' }),
  ORDER_XML_MALFORMED: (p) => (p.xml !== undefined ? malformedSentence({ ...p, xml: p.xml }) : { es: `El XML de la orden está mal formado${withColon(p.value || p.message)}`, en: `The order's XML is malformed${withColon(p.value || p.message)}` }),
  ORDER_DOCTYPE: () => ({ es: 'La orden contiene una declaración DOCTYPE, que no se admite por seguridad', en: 'The order contains a DOCTYPE declaration, which is refused for safety' }),
  ORDER_ROOT: (p) => ({ es: `El elemento raíz debe ser «OrdenEnvio», no «${p.value}»`, en: `The root element must be "OrdenEnvio", not "${p.value}"` }),
  ORDER_FIELD_MISSING: (p) => ({ es: `Falta el campo obligatorio «${p.field}» (no está en la orden ni en la configuración)`, en: `The required field "${p.field}" is missing (neither the order nor the configuration gives it)` }),
  ORDER_FIELD_INVALID: (p) => ({ es: `El campo «${p.field}» tiene un valor no válido: «${p.value}»`, en: `The field "${p.field}" has an invalid value: "${p.value}"` }),
  ORDER_NO_RECIPIENT: (p) => ({ es: `El campo «${p.field || 'Para'}» no tiene ningún destinatario (sin destinatario)`, en: `The field "${p.field || 'Para'}" has no recipient (no recipient)` }),
  ORDER_ADDRESS_INVALID: (p) => ({ es: `El campo «${p.field}» contiene una dirección de correo no válida: «${p.value}»`, en: `The field "${p.field}" contains an invalid e-mail address: "${p.value}"` }),
  ORDER_TOO_COMPLEX: (p) => ({ es: `No se pudo leer la orden dentro de los límites de memoria y tiempo del programa${withColon(p.value)}`, en: `The order could not be read within the mailer's memory and time limits${withColon(p.value)}` }),
  ORDER_CRASHED_MAILER: (p) => ({ es: `El programa se detuvo inesperadamente mientras procesaba esta orden${p.value === '' ? '' : ` (${p.value} veces seguidas)`}; se apartó para que las demás órdenes se envíen`, en: `The mailer stopped unexpectedly while handling this order${p.value === '' ? '' : ` (${p.value} times in a row)`}; it was set aside so that the other orders are sent` }),
  ORDER_HEADER_INJECTION: (p) => ({ es: `El campo «${p.field}» contiene saltos de línea, que no se permiten en un encabezado de correo`, en: `The field "${p.field}" contains line breaks, which an e-mail header cannot carry` }),
  ATTACHMENT_OUTSIDE: (p) => {
    const where = p.path === '' ? { es: 'está fuera', en: 'lies outside' } : { es: `lleva a ${p.path}, fuera`, en: `leads to ${p.path}, outside` };
    return { es: `El adjunto «${p.value}» (campo ${p.field || 'Adjuntos/Archivo'}) ${where.es} de la carpeta de adjuntos y de la de órdenes; no se envió nada`, en: `The attachment "${p.value}" (field ${p.field || 'Adjuntos/Archivo'}) ${where.en} the attachment and order folders; nothing was sent` };
  },
  ATTACHMENT_MISSING: (p) => {
    const at = lookedAt(p, ': se buscó en', ': looked for at');
    return { es: `El adjunto «${p.value}» (campo ${p.field || 'Adjuntos/Archivo'}) no existe${at.es}`, en: `The attachment "${p.value}" (field ${p.field || 'Adjuntos/Archivo'}) does not exist${at.en}` };
  },
  ATTACHMENT_UNREADABLE: (p) => {
    const at = lookedAt(p, ':', ':');
    return { es: `El adjunto «${p.value}» (campo ${p.field || 'Adjuntos/Archivo'}) no se pudo leer${at.es}`, en: `The attachment "${p.value}" (field ${p.field || 'Adjuntos/Archivo'}) could not be read${at.en}` };
  },
  ENVELOPE_MISSING: (p) => ({
    es: `El sobre HTML de la empresa no existe: se buscó en ${p.path || p.value} («${p.field}» en la configuración); no se envió nada`,
    en: `The company's HTML envelope does not exist: looked for at ${p.path || p.value} ("${p.field}" in the configuration); nothing was sent`,
  }),
  ENVELOPE_INVALID: (p) => {
    const why = ENVELOPE_PROBLEMS[p.value] ?? { es: `no se pudo leer (${p.value || p.message})`, en: `could not be read (${p.value || p.message})` };
    return {
      es: `El sobre HTML de la empresa ${p.path} («${p.field}» en la configuración) ${why.es}; no se envió nada`,
      en: `The company's HTML envelope ${p.path} ("${p.field}" in the configuration) ${why.en}; nothing was sent`,
    };
  },
  SMTP_CONNECTION: (p) => ({ es: `No se pudo conectar con el servidor SMTP${withColon(p.reply)}`, en: `Could not connect to the SMTP server${withColon(p.reply)}` }),
  SMTP_TIMEOUT: (p) => ({ es: `El servidor SMTP no respondió a tiempo${withColon(p.reply)}`, en: `The SMTP server did not answer in time${withColon(p.reply)}` }),
  SMTP_TEMPORARY: (p) => ({ es: `El servidor SMTP rechazó el mensaje de forma temporal${withColon(p.reply)}`, en: `The SMTP server refused the message temporarily${withColon(p.reply)}` }),
  SMTP_PERMANENT: (p) => ({ es: `El servidor SMTP rechazó el mensaje de forma permanente${withColon(p.reply)}`, en: `The SMTP server refused the message permanently${withColon(p.reply)}` }),
  SMTP_AUTH: (p) => ({ es: `El servidor SMTP rechazó el usuario o la contraseña${withColon(p.reply)}`, en: `The SMTP server refused the user name or password${withColon(p.reply)}` }),
  SMTP_TLS: (p) => ({ es: `No se pudo establecer una conexión segura (TLS) con el servidor SMTP${withColon(p.reply)}`, en: `No secure (TLS) connection could be made with the SMTP server${withColon(p.reply)}` }),
  SMTP_SMTPUTF8_UNSUPPORTED: (p) => ({ es: `El servidor SMTP no admite direcciones con acentos u otras letras no ASCII antes de la «@» (no ofrece SMTPUTF8); no se envió nada: «${p.value}»`, en: `The SMTP server does not accept addresses with accents or other non-ASCII letters before the "@" (it does not offer SMTPUTF8); nothing was sent: "${p.value}"` }),
  SMTP_ALL_RECIPIENTS_REJECTED: (p) => ({ es: `El servidor SMTP rechazó a todos los destinatarios${withColon(p.reply)}`, en: `The SMTP server refused every recipient${withColon(p.reply)}` }),
  RETRIES_EXHAUSTED: (p) => ({ es: `Se agotaron los reintentos sin que el servidor SMTP aceptara el mensaje${withColon(p.reply)}`, en: `All retries were used up without the SMTP server accepting the message${withColon(p.reply)}` }),
  FS_MOVE_FAILED: (p) => ({ es: `No se pudo mover el archivo de la orden${withColon(p.value || p.message)}`, en: `The order file could not be moved${withColon(p.value || p.message)}` }),
  FS_ACCESS_FAILED: (p) => ({ es: `No se pudo acceder a un archivo o carpeta${withColon(p.value || p.message)}`, en: `A file or folder could not be accessed${withColon(p.value || p.message)}` }),
  FS_HELD: (p) => ({ es: `Otro programa tiene abierto el archivo de la orden${withColon(p.value || p.message)}`, en: `Another program holds the order file open${withColon(p.value || p.message)}` }),
  CLAIM_LOST: () => ({ es: 'Otro proscai-mailer tomó esta orden mientras se procesaba', en: 'Another proscai-mailer took this order while it was being processed' }),
  CONFIG_INVALID: (p) => ({ es: `La configuración no es válida: ${p.message}`, en: `The configuration is invalid: ${p.message}` }),
  USAGE: (p) => ({ es: `Uso incorrecto del comando: ${p.message}`, en: `Wrong use of the command: ${p.message}` }),
  INSTANCE_RUNNING: () => ({ es: 'Ya hay otro proscai-mailer trabajando sobre esta carpeta de órdenes', en: 'Another proscai-mailer is already working on this order folder' }),
  INSTANCE_LOCK_LOST: () => ({ es: 'proscai-mailer perdió el candado de su carpeta de órdenes (la carpeta se borró, se restauró o su recurso de red se volvió a montar); dejó de tomar órdenes hasta volver a tenerlo', en: 'proscai-mailer lost the lock on its order folder (the folder was removed, restored, or its share remounted); it stopped taking orders until it holds the lock again' }),
  INTERNAL: (p) => ({ es: `Error interno del programa: ${p.message}`, en: `Internal error: ${p.message}` }),
};

/**
 * Sentences for what an SMTP failure points at (`smtp.diagnosis`, see
 * REPLY_TABLE in io/smtp/errors.ts), used instead of the code's own
 * sentence for the codes in DIAGNOSED_CODES; each quotes the server's reply.
 */
const DIAGNOSIS_SENTENCES: Record<SmtpDiagnosis, (p: Parts) => Bi> = {
  sender: (p) => ({ es: `El servidor SMTP no acepta ese remitente para la cuenta con la que se envía${withColon(p.reply)}`, en: `The SMTP server does not accept that sender for the account sending${withColon(p.reply)}` }),
  size: (p) => ({ es: `El servidor SMTP rechazó el mensaje por ser demasiado grande${withColon(p.reply)}`, en: `The SMTP server refused the message as too large${withColon(p.reply)}` }),
  mailbox: (p) => ({ es: `El servidor SMTP no reconoce el buzón del destinatario${withColon(p.reply)}`, en: `The SMTP server does not know the recipient's mailbox${withColon(p.reply)}` }),
  relay: (p) => ({ es: `El servidor SMTP se negó a reenviar (relay) el mensaje al destinatario${withColon(p.reply)}`, en: `The SMTP server refused to relay the message to the recipient${withColon(p.reply)}` }),
  policy: (p) => ({ es: `El servidor SMTP rechazó el mensaje por una regla propia${withColon(p.reply)}`, en: `The SMTP server refused the message by a rule of its own${withColon(p.reply)}` }),
  'tls-port': (p) => ({ es: `«Seguridad» y «Puerto» no coinciden${p.value === '' ? '' : ` (${p.value})`}: ese puerto habla TLS desde el primer byte (TLS implícito) y no saluda a quien se conecta sin cifrar`, en: `"Seguridad" and "Puerto" do not match${p.value === '' ? '' : ` (${p.value})`}: that port speaks TLS from the first byte (implicit TLS) and does not greet a client that connects in plain text` }),
  'plain-port': (p) => ({ es: `«Seguridad» y «Puerto» no coinciden: se pidió TLS desde el primer byte (SSL) y ese puerto responde sin cifrar${withColon(p.reply)}`, en: `"Seguridad" and "Puerto" do not match: TLS from the first byte (SSL) was asked for and that port answers in plain text${withColon(p.reply)}` }),
};

/** Codes whose sentence gives way to the diagnosis's (a temporary refusal keeps saying it is temporary). */
const DIAGNOSED_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['SMTP_PERMANENT', 'SMTP_ALL_RECIPIENTS_REJECTED', 'SMTP_TLS']);

/**
 * What to do about each diagnosis. The notes and notices add how to send the
 * order again; the log carries the English text (io/smtp/errors.ts).
 */
const DIAGNOSIS_ADVICE: Record<SmtpDiagnosis, Bi> = {
  sender: {
    es: 'El servidor no deja que la cuenta SMTP envíe con ese remitente: use como remitente («Remitente» de la orden o «from» del perfil) una dirección que la cuenta tenga permitida, o pida al proveedor del correo que autorice ese remitente para la cuenta. Si la respuesta dice «not logged in», falta iniciar sesión: indique el usuario y la contraseña SMTP.',
    en: 'The server does not let the SMTP account send with that sender: use as sender ("Remitente" in the order or "from" in the profile) an address the account may use, or ask the mail provider to allow that sender for the account. If the reply says "not logged in", a login is missing: give the SMTP user name and password.',
  },
  size: {
    es: 'El mensaje con sus adjuntos es más grande de lo que el servidor acepta: reduzca o comprima los adjuntos, o pida al proveedor del correo un límite mayor.',
    en: 'The message with its attachments is larger than the server accepts: make the attachments smaller (or compress them), or ask the mail provider for a higher limit.',
  },
  mailbox: {
    es: 'La dirección del destinatario no existe (o su buzón no puede recibir) en el servidor de su dominio: corrija la dirección en el ERP o en la orden.',
    en: "The recipient's address does not exist (or its mailbox cannot receive) on its domain's server: correct the address in the ERP or in the order.",
  },
  relay: {
    es: 'El servidor no reenvía (relay) correo a otros dominios desde esta conexión: indique el usuario y la contraseña SMTP para que se inicie sesión, o use el servidor del dominio del remitente.',
    en: "The server does not relay mail to other domains from this connection: give the SMTP user name and password so that it logs in, or use the server of the sender's domain.",
  },
  policy: {
    es: 'El servidor rechazó el mensaje por una regla propia (antispam, reputación, política del dominio); la respuesta citada dice cuál: consulte al proveedor del correo con esa respuesta.',
    en: 'The server refused the message by a rule of its own (anti-spam, reputation, domain policy); the quoted reply says which: ask the mail provider, quoting that reply.',
  },
  'tls-port': {
    es: '«SMTP/Seguridad» y «SMTP/Puerto» («security» y «port» del perfil) no coinciden: el puerto habla TLS desde el primer byte (TLS implícito, como el 465), así que con él «Seguridad» debe ser SSL; para STARTTLS use el puerto 587.',
    en: '"SMTP/Seguridad" and "SMTP/Puerto" ("security" and "port" of the profile) do not match: the port speaks TLS from the first byte (implicit TLS, like 465), so with it "Seguridad" must be SSL; for STARTTLS use port 587.',
  },
  'plain-port': {
    es: '«SMTP/Seguridad» y «SMTP/Puerto» («security» y «port» del perfil) no coinciden: el puerto no habla TLS desde el primer byte, así que «Seguridad» SSL no sirve con él; use STARTTLS con el puerto 587, o SSL con el 465.',
    en: '"SMTP/Seguridad" and "SMTP/Puerto" ("security" and "port" of the profile) do not match: the port does not speak TLS from the first byte, so "Seguridad" SSL does not work with it; use STARTTLS with port 587, or SSL with 465.',
  },
};

/** What to do about an SMTP failure's diagnosis, in `lang`. */
export function diagnosisAdvice(diagnosis: SmtpDiagnosis, lang: Language): string {
  return DIAGNOSIS_ADVICE[diagnosis][lang === 'en' ? 'en' : 'es'];
}

/** The server's reply as the operator should see it: `550 5.1.1 User unknown`, else the low-level code. */
function replyOf(error: AnyError): string {
  const smtp = error.smtp;
  if (smtp?.response) return strip(shorten(smtp.response));
  if (smtp?.responseCode !== undefined) return String(smtp.responseCode);
  return smtp?.errno ?? '';
}

/**
 * One sentence in plain words for one error: names the field and the reason,
 * e.g. `El campo «Para» no tiene ningún destinatario (sin destinatario).`
 */
export function describeError(error: AnyError, lang: Language): string {
  const parts: Parts = {
    field: error.field ?? '',
    value: error.value === undefined ? '' : shorten(error.value),
    reply: replyOf(error),
    message: strip(shorten(error.message)),
    path: error.path ?? '',
    ...(error.xml !== undefined && { xml: error.xml }),
  };
  const diagnosis = error.smtp?.diagnosis;
  const template = (diagnosis !== undefined && DIAGNOSED_CODES.has(error.code) ? DIAGNOSIS_SENTENCES[diagnosis] : undefined) ?? SENTENCES[error.code] ?? SENTENCES.INTERNAL;
  let text = strip(template(parts)[lang === 'en' ? 'en' : 'es']);
  // Never lose the field or the value, whatever the template quoted.
  const extra: string[] = [];
  if (parts.field !== '' && !text.includes(parts.field)) extra.push(lang === 'en' ? `field "${parts.field}"` : `campo «${parts.field}»`);
  if (parts.value !== '' && !text.includes(parts.value)) extra.push(lang === 'en' ? `value "${parts.value}"` : `valor «${parts.value}»`);
  return extra.length > 0 ? `${text} (${extra.join(', ')}).` : `${text}.`;
}

type Kind = 'order' | 'attachment' | 'envelope' | 'auth' | 'tls' | 'recipients' | 'server' | 'files' | 'partial' | 'internal' | SmtpDiagnosis;

/** The kind of an error: what its SMTP reply points at when that is known, else its code's. */
function kindOfError(error: AnyError): Kind {
  return error.smtp?.diagnosis ?? kindOf(error.code);
}

function kindOf(code: ErrorCode): Kind {
  if (code === 'ORDER_CRASHED_MAILER') return 'internal'; // nothing to fix in the order as far as anyone knows: why the process stopped is in the log
  if (code.startsWith('ORDER_')) return 'order';
  if (code.startsWith('ATTACHMENT_')) return 'attachment';
  if (code.startsWith('ENVELOPE_')) return 'envelope';
  if (code === 'SMTP_AUTH') return 'auth';
  if (code === 'SMTP_TLS') return 'tls';
  if (code === 'SMTP_PERMANENT' || code === 'SMTP_ALL_RECIPIENTS_REJECTED' || code === 'SMTP_SMTPUTF8_UNSUPPORTED') return 'recipients';
  if (code === 'SMTP_CONNECTION' || code === 'SMTP_TIMEOUT' || code === 'SMTP_TEMPORARY' || code === 'RETRIES_EXHAUSTED') return 'server';
  if (code === 'FS_MOVE_FAILED' || code === 'FS_ACCESS_FAILED' || code === 'FS_HELD') return 'files';
  return 'internal';
}

/** The next step for each kind of failure; `{id}` is the order id. */
const WHAT_TO_DO: Record<Kind, Bi> = {
  order: {
    es: 'Corrija la orden y vuelva a enviarla: corrija el archivo que quedó en errores/ y use «proscai-mailer retry {id}», que lo mueve a la carpeta de órdenes, o muévalo usted (no lo copie): una copia que se quede en errores/ se enviaría otra vez con «proscai-mailer retry --failed». Si el ERP genera la orden de nuevo, borre la que quedó en errores/ por la misma razón.',
    en: 'Fix the order and send it again: fix the file left in errores/ and use "proscai-mailer retry {id}", which moves it back to the order folder, or move it yourself (do not copy it): a copy left in errores/ would be sent again by "proscai-mailer retry --failed". If the ERP writes the order again, delete the one left in errores/ for the same reason.',
  },
  attachment: {
    es: 'Verifique que el archivo adjunto exista en la ruta donde se buscó, se pueda leer y esté dentro de la carpeta de adjuntos; después use «proscai-mailer retry {id}», que mueve la orden de errores/ a la carpeta de órdenes, o muévala usted (no la copie): una copia que se quede en errores/ se enviaría otra vez con «proscai-mailer retry --failed».',
    en: 'Check that the attached file exists at the path where it was looked for, is readable and lies inside the attachment folder; then use "proscai-mailer retry {id}", which moves the order from errores/ back to the order folder, or move it yourself (do not copy it): a copy left in errores/ would be sent again by "proscai-mailer retry --failed".',
  },
  envelope: {
    es: 'Ponga el archivo del sobre HTML en la ruta indicada, con la marca {{CUERPO}} exactamente una vez donde va el cuerpo (o corrija «htmlEnvelope» en el perfil de la empresa y reinicie el servicio); después use «proscai-mailer retry {id}», que mueve la orden de errores/ a la carpeta de órdenes.',
    en: 'Put the HTML envelope file at the path named, with the marker {{CUERPO}} exactly once where the body goes (or correct "htmlEnvelope" in the company\'s profile and restart the service); then use "proscai-mailer retry {id}", which moves the order from errores/ back to the order folder.',
  },
  auth: {
    es: 'Revise el usuario y la contraseña SMTP (en la orden o en el perfil de la empresa en la configuración); después use «proscai-mailer retry {id}».',
    en: "Check the SMTP user name and password (in the order or in the company's profile in the configuration); then use \"proscai-mailer retry {id}\".",
  },
  tls: {
    es: 'Revise «SMTP/Seguridad» y «SMTP/Puerto» (SSL con el puerto 465, STARTTLS con el 587) y el certificado del servidor; después use «proscai-mailer retry {id}».',
    en: 'Check "SMTP/Seguridad" and "SMTP/Puerto" (SSL with port 465, STARTTLS with 587) and the server\'s certificate; then use "proscai-mailer retry {id}".',
  },
  recipients: {
    es: 'Revise las direcciones de los destinatarios y la respuesta del servidor; corrija la orden y use «proscai-mailer retry {id}».',
    en: "Check the recipients' addresses and the server's reply; fix the order and use \"proscai-mailer retry {id}\".",
  },
  server: {
    es: 'Verifique que el servidor SMTP esté en línea y se alcance desde este equipo (nombre, puerto, red, cortafuegos); después use «proscai-mailer retry {id}».',
    en: 'Check that the SMTP server is up and reachable from this machine (name, port, network, firewall); then use "proscai-mailer retry {id}".',
  },
  files: {
    es: 'Verifique que la carpeta de órdenes (o la unidad de red) esté disponible y que este usuario pueda leer y escribir en ella; después use «proscai-mailer retry {id}».',
    en: 'Check that the order folder (or the network share) is available and that this user can read and write in it; then use "proscai-mailer retry {id}".',
  },
  partial: {
    es: 'El mensaje llegó a los demás destinatarios; corrija las direcciones rechazadas y, si hace falta, envíeles el documento de nuevo.',
    en: 'The message reached the other recipients; fix the refused addresses and send them the document again if needed.',
  },
  internal: {
    es: 'Revise el registro (log) del programa para más detalle y avise a sistemas si se repite; después use «proscai-mailer retry {id}».',
    en: 'See the program\'s log for details and tell IT if it happens again; then use "proscai-mailer retry {id}".',
  },
  ...(Object.fromEntries(
    Object.entries(DIAGNOSIS_ADVICE).map(([diagnosis, advice]) => [
      diagnosis,
      { es: `${advice.es} Después use «proscai-mailer retry {id}».`, en: `${advice.en} Then use "proscai-mailer retry {id}".` },
    ]),
  ) as Record<SmtpDiagnosis, Bi>),
};

function whatToDo(kind: Kind, orderId: string, lang: Language): string {
  return WHAT_TO_DO[kind][lang === 'en' ? 'en' : 'es'].replaceAll('{id}', orderId);
}

/** `2026-11-27 09:30:15 (UTC-06:00)` in the machine's local time: what the operator's clock shows. */
export function formatLocalTime(at: Date): string {
  const pad = (n: number): string => String(Math.abs(n)).padStart(2, '0');
  const offset = -at.getTimezoneOffset();
  const zone = `UTC${offset >= 0 ? '+' : '-'}${pad(Math.trunc(offset / 60))}:${pad(offset % 60)}`;
  return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())} ${pad(at.getHours())}:${pad(at.getMinutes())}:${pad(at.getSeconds())} (${zone})`;
}

/** The full text of `<file>.error.txt`: the order, when, every reason, and what to do next. */
export function renderErrorNote(
  input: { fileName: string; orderId: string; errors: AnyError[]; at: Date; attempts?: number },
  lang: Language,
): string {
  const en = lang === 'en';
  const kinds = [...new Set(input.errors.map((e) => kindOfError(e)))];
  const lines = [
    en ? 'proscai-mailer: this send order was not sent.' : 'proscai-mailer: esta orden de envío no se envió.',
    '',
    `${en ? 'File' : 'Archivo'}: ${input.fileName}`,
    `${en ? 'Order' : 'Orden'}: ${input.orderId}`,
    `${en ? 'Date' : 'Fecha'}: ${formatLocalTime(input.at)}`,
    ...(input.attempts !== undefined ? [`${en ? 'Tries' : 'Intentos'}: ${input.attempts}`] : []),
    '',
    input.errors.length === 1 ? (en ? 'Reason:' : 'Motivo:') : en ? 'Reasons:' : 'Motivos:',
    ...input.errors.map((e) => `- ${describeError(e, lang)}`),
    '',
    en ? 'What to do:' : 'Qué hacer:',
    ...kinds.map((k) => `- ${whatToDo(k, input.orderId, lang)}`),
  ];
  return lines.join('\n') + '\n';
}

/**
 * Subject and plain-text body of the failure notification e-mail for one or
 * more failures. `omitted` counts failures of the same recipient that were
 * dropped from the list (kept too long while the mail server was down): the
 * subject counts them and the body says so, so no failure goes unmentioned.
 */
export function renderNotification(
  reports: FailureReport[],
  lang: Language,
  extra: { omitted?: number } = {},
): { subject: string; text: string } {
  const en = lang === 'en';
  const omitted = extra.omitted ?? 0;
  const n = reports.length + omitted;
  const subject = en
    ? `proscai-mailer: ${n} send order${n === 1 ? '' : 's'} failed`
    : `proscai-mailer: ${n} ${n === 1 ? 'orden de envío falló' : 'órdenes de envío fallaron'}`;
  const blocks = reports.map((r, i) => {
    const rejected = r.rejectedRecipients ?? [];
    const kind: Kind = rejected.length > 0 ? 'partial' : kindOfError(r.error);
    return [
      `${i + 1}. ${r.fileName}`,
      ...(r.company ? [`   ${en ? 'Company' : 'Empresa'}: ${r.company}`] : []),
      `   ${en ? 'Reason' : 'Motivo'}: ${r.reason}`,
      ...(rejected.length > 0
        ? [
            `   ${en ? 'Refused recipients' : 'Destinatarios rechazados'}:`,
            ...rejected.map((x) => `   - ${x.address}${x.response ? ` (${strip(shorten(x.response))})` : ''}`),
          ]
        : []),
      `   ${en ? 'What to do' : 'Qué hacer'}: ${whatToDo(kind, r.orderId, lang)}`,
    ].join('\n');
  });
  const intro = en
    ? `proscai-mailer could not deliver ${reports.length === 1 ? 'this send order' : 'these send orders'}:`
    : `proscai-mailer no pudo entregar ${reports.length === 1 ? 'esta orden de envío' : 'estas órdenes de envío'}:`;
  const dropped =
    omitted === 0
      ? []
      : [
          en
            ? `Besides these, ${omitted} earlier failure${omitted === 1 ? ' is' : 's are'} not listed: the notification could not be sent for too long (mail server down). proscai-mailer's log names them; their files are in errores/.`
            : `Además, ${omitted === 1 ? 'una falla anterior no se detalla' : `${omitted} fallas anteriores no se detallan`}: el aviso no se pudo enviar durante demasiado tiempo (servidor de correo caído). El registro (log) de proscai-mailer las nombra; sus archivos están en errores/.`,
          '',
        ];
  return { subject, text: [intro, '', blocks.join('\n\n'), '', ...dropped].join('\n') };
}
