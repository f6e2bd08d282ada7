/**
 * The words of `send-test` (Spanish by default, English with language "en"):
 * what the server answered, and which setting to look at. Pure.
 *
 * Guarantee: the only server data quoted are the host, the port, the user name
 * and the server's reply (already redacted by io/smtp/errors.ts); never a
 * password.
 */
import type { Language } from '../config/types.js';
import { shorten, type MailerError } from '../errors.js';
import { diagnosisAdvice } from './errors.js';

type Bi = { es: string; en: string };

const TEXT = {
  subject: { es: 'proscai-mailer: mensaje de prueba', en: 'proscai-mailer: test message' },
  body: {
    es: 'Este es un mensaje de prueba de proscai-mailer.\n\nServidor: {host}:{port}\nEmpresa: {company}\nEquipo: {machine}\nFecha: {at}\n\nSi lo recibió, la configuración de correo funciona.\n',
    en: 'This is a test message from proscai-mailer.\n\nServer: {host}:{port}\nCompany: {company}\nMachine: {machine}\nDate: {at}\n\nIf you received it, the mail settings work.\n',
  },
  accepted: {
    es: 'Mensaje de prueba aceptado por {host}:{port} (respuesta: {reply}).',
    en: 'Test message accepted by {host}:{port} (reply: {reply}).',
  },
  someRefused: {
    es: 'Pero el servidor rechazó a: {refused}.',
    en: 'But the server refused: {refused}.',
  },
  badAddress: {
    es: 'La dirección de prueba «{to}» no es una dirección de correo válida.',
    en: 'The test address "{to}" is not a valid e-mail address.',
  },
  unknownCompany: {
    es: 'La empresa «{company}» no tiene perfil en la configuración (clave «companies»).',
    en: 'The company "{company}" has no profile in the configuration (key "companies").',
  },
  noServer: {
    es: 'La configuración no indica ningún servidor SMTP: agregue «smtp» con «host» (o use --company con una empresa que lo tenga).',
    en: 'The configuration names no SMTP server: add "smtp" with "host" (or use --company with a company that has one).',
  },
  noServerCompany: {
    es: 'Ni el perfil de la empresa «{company}» ni la configuración indican un servidor SMTP («smtp» con «host»).',
    en: 'Neither the profile of the company "{company}" nor the configuration names an SMTP server ("smtp" with "host").',
  },
  auth: {
    es: 'El servidor rechazó el usuario o la contraseña ({reply}). Revise «user» («{user}») y la contraseña («password» o «passwordEnv») del perfil; algunos proveedores piden una contraseña de aplicación.',
    en: 'The server refused the user name or password ({reply}). Check "user" ("{user}") and the password ("password" or "passwordEnv") of the profile; some providers want an app password.',
  },
  authMissing: {
    es: 'El servidor exige usuario y contraseña ({reply}) y la configuración no da ninguno: agregue «user» y «passwordEnv» (o «password») al perfil.',
    en: 'The server wants a user name and password ({reply}) and the configuration gives none: add "user" and "passwordEnv" (or "password") to the profile.',
  },
  tlsCertificate: {
    es: 'El servidor {host}:{port} presentó un certificado que este equipo no acepta ({reply}). Si el servidor usa un certificado de una autoridad propia de la empresa (o uno autofirmado), guarde el certificado de esa autoridad en un archivo PEM e indíquelo en «ca» del perfil «smtp», p. ej. "ca": "C:\\proscai\\autoridad-empresa.pem"; el nombre del servidor se sigue verificando. Instalarlo en el sistema no basta: proscai-mailer no usa el almacén de certificados del sistema.',
    en: 'The server {host}:{port} presented a certificate this machine does not trust ({reply}). If the server uses a certificate from the company\'s own authority (or a self-signed one), save that authority\'s certificate in a PEM file and name it in "ca" of the "smtp" profile, e.g. "ca": "C:\\proscai\\company-ca.pem"; the server\'s name is still verified. Installing it in the system is not enough: proscai-mailer does not use the system\'s certificate store.',
  },
  tlsName: {
    es: 'El certificado del servidor no corresponde al nombre «{host}» ({reply}). Ponga en «host» el nombre que indica el certificado (el que da el proveedor), no una dirección IP ni otro alias.',
    en: 'The server\'s certificate does not match the name "{host}" ({reply}). Set "host" to the name the certificate gives (the one the provider gives), not an IP address or another alias.',
  },
  tlsPort: {
    es: 'El puerto {port} de {host} habla TLS desde el primer byte (TLS implícito) y no saludó a la conexión sin cifrar que pide «security»: "{security}".',
    en: 'Port {port} of {host} speaks TLS from the first byte (implicit TLS) and did not greet the plain connection that "security": "{security}" asks for.',
  },
  refusedWhy: {
    es: 'El servidor {host}:{port} rechazó el mensaje de prueba en «{command}» ({reply}).',
    en: 'The server {host}:{port} refused the test message at "{command}" ({reply}).',
  },
  tlsNotOffered: {
    es: 'La configuración exige STARTTLS pero el servidor {host}:{port} no lo ofrece ({reply}). Use el puerto de envío seguro del proveedor (normalmente 587 con «security»: "STARTTLS", o 465 con "SSL"); solo en una red interna de confianza, «security»: "NINGUNA".',
    en: 'The configuration requires STARTTLS but the server {host}:{port} does not offer it ({reply}). Use the provider\'s secure submission port (usually 587 with "security": "STARTTLS", or 465 with "SSL"); only on a trusted internal network, "security": "NINGUNA".',
  },
  tlsRequired: {
    es: 'El servidor {host}:{port} exige una conexión segura (TLS) antes de aceptar usuario y contraseña ({reply}). Ponga «security»: "STARTTLS" (puerto 587) o "SSL" (puerto 465).',
    en: 'The server {host}:{port} requires a secure (TLS) connection before it accepts a user name and password ({reply}). Set "security": "STARTTLS" (port 587) or "SSL" (port 465).',
  },
  tlsPlainPort: {
    es: 'El puerto {port} de {host} no usa TLS desde el primer byte ({reply}): «security»: "SSL" va solo con el puerto 465; con 587 o 25 use "STARTTLS".',
    en: 'Port {port} of {host} does not speak TLS from the first byte ({reply}): "security": "SSL" goes with port 465 only; with 587 or 25 use "STARTTLS".',
  },
  tlsHandshake: {
    es: 'No se pudo establecer la conexión segura (TLS) con {host}:{port} ({reply}). Revise «security» y «port»: "SSL" va con el puerto 465 y "STARTTLS" con el 587.',
    en: 'No secure (TLS) connection could be made with {host}:{port} ({reply}). Check "security" and "port": "SSL" goes with port 465 and "STARTTLS" with 587.',
  },
  dns: {
    es: 'No se encontró el servidor «{host}»: el nombre no se pudo resolver (DNS). Revise «host» y la red o el DNS de este equipo.',
    en: 'The server "{host}" was not found: its name could not be resolved (DNS). Check "host" and this machine\'s network or DNS.',
  },
  refused: {
    es: 'El equipo {host} rechazó la conexión en el puerto {port}: ningún servidor de correo escucha ahí. Revise «port» y que el servidor esté en marcha.',
    en: 'The machine {host} refused the connection on port {port}: no mail server listens there. Check "port" and that the server is running.',
  },
  unreachable: {
    es: 'No se pudo conectar con el servidor {host}:{port} ({reply}). Revise el nombre, el puerto, la red y el cortafuegos.',
    en: 'Could not connect to the server {host}:{port} ({reply}). Check the name, the port, the network and the firewall.',
  },
  timeout: {
    es: 'El servidor {host}:{port} no respondió a tiempo. Suele ser un cortafuegos que bloquea el puerto, un puerto equivocado, o «security» "SSL" y "STARTTLS" intercambiados.',
    en: 'The server {host}:{port} did not answer in time. Usually a firewall blocking the port, a wrong port, or "security" "SSL" and "STARTTLS" swapped.',
  },
  relay: {
    es: 'El servidor se negó a entregar a {to} ({reply}): no permite reenviar (relay) correo a esa dirección desde esta conexión. Normalmente hace falta autenticarse («user» y contraseña) o usar el servidor del dominio del remitente.',
    en: 'The server refused to deliver to {to} ({reply}): it does not relay mail to that address from this connection. Usually you need to authenticate ("user" and password) or use the server of the sender\'s domain.',
  },
  recipient: {
    es: 'El servidor rechazó al destinatario {to} ({reply}). Revise la dirección.',
    en: 'The server refused the recipient {to} ({reply}). Check the address.',
  },
  permanent: {
    es: 'El servidor rechazó el mensaje de forma permanente en «{command}» ({reply}). Revise el remitente («from») y la respuesta del servidor.',
    en: 'The server refused the message permanently at "{command}" ({reply}). Check the sender ("from") and the server\'s reply.',
  },
  temporary: {
    es: 'El servidor rechazó el mensaje de forma temporal ({reply}). Intente de nuevo en unos minutos; si se repite, consulte al proveedor del correo.',
    en: 'The server refused the message temporarily ({reply}). Try again in a few minutes; if it happens again, ask the mail provider.',
  },
  other: {
    es: 'El envío de prueba falló: {reply}.',
    en: 'The test send failed: {reply}.',
  },
} as const satisfies Record<string, Bi>;

export type SendTestTextKey = keyof typeof TEXT;

/** One text in `lang` with `{name}` placeholders filled. */
export function sendTestText(key: SendTestTextKey, lang: Language, params: Record<string, string | number> = {}): string {
  const text: string = TEXT[key][lang === 'en' ? 'en' : 'es'];
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => (params[name] !== undefined ? String(params[name]) : whole));
}

export interface SendTestContext {
  host: string;
  port: number;
  security: string;
  user: string;
  /** The test recipients, as one text. */
  to: string;
}

const CERT = /CERT|SELF_SIGNED|UNABLE_TO|DEPTH_ZERO|HOSTNAME|ALTNAME/i;
/**
 * Codes of a host name that could not be resolved. ETIMEOUT is the DNS
 * module's own timeout (nodemailer's DNS deadline uses it too), distinct from a
 * socket's ETIMEDOUT: no DNS server answered in time.
 */
const DNS = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EDNS', 'ENODATA', 'ESERVFAIL', 'ETIMEOUT']);
const RELAY = /relay|5\.7\.1|not permitted|not allowed|authentication required/i;

/** The failure of a test send in plain words: what happened and which setting to look at. */
export function explainSendTestFailure(error: MailerError, ctx: SendTestContext, lang: Language): string {
  const smtp = error.smtp ?? {};
  const reply = shorten(opensslReason((smtp.response ?? error.message).replace(/\s+/g, ' ').trim()));
  const params = { host: ctx.host, port: ctx.port, user: ctx.user, to: ctx.to, reply, command: smtp.command ?? '', security: ctx.security || '—' };
  const errno = smtp.errno ?? '';
  const say = (key: SendTestTextKey): string => sendTestText(key, lang, params);
  const diagnosis = smtp.diagnosis;
  if (diagnosis === 'tls-port') return `${say('tlsPort')} ${diagnosisAdvice(diagnosis, lang)}`;
  if (diagnosis === 'plain-port') return say('tlsPlainPort');
  // What the reply points at decides the advice; the reply is quoted as it came.
  if (diagnosis === 'relay') return say('relay');
  if (diagnosis === 'mailbox') return say('recipient');
  if (diagnosis !== undefined) return `${say('refusedWhy')} ${diagnosisAdvice(diagnosis, lang)}`;
  switch (error.code) {
    case 'SMTP_AUTH':
      return say(ctx.user === '' ? 'authMissing' : 'auth');
    case 'SMTP_TLS':
      if (/ALTNAME|HOSTNAME/i.test(errno) || /does not match certificate|altnames/i.test(error.message)) return say('tlsName');
      if (CERT.test(errno) || /certificate/i.test(error.message)) return say('tlsCertificate');
      if ((smtp.responseCode === 530 || smtp.responseCode === 538) && /tls/i.test(smtp.response ?? '')) return say('tlsRequired');
      if (/STARTTLS/i.test(smtp.command ?? '') || /STARTTLS/.test(error.message)) return say('tlsNotOffered');
      if (/wrong version number|packet length too long|http request/i.test(reply)) return say('tlsPlainPort');
      return say('tlsHandshake');
    case 'SMTP_CONNECTION':
      if (DNS.has(errno)) return say('dns');
      if (errno === 'ECONNREFUSED' || /ECONNREFUSED/.test(error.message)) return say('refused');
      return say('unreachable');
    case 'SMTP_TIMEOUT':
      return say('timeout');
    case 'SMTP_ALL_RECIPIENTS_REJECTED':
      return say(RELAY.test(smtp.response ?? '') ? 'relay' : 'recipient');
    case 'SMTP_PERMANENT':
      return say(/RCPT/i.test(smtp.command ?? '') && RELAY.test(smtp.response ?? '') ? 'relay' : 'permanent');
    case 'SMTP_TEMPORARY':
      return say('temporary');
    default:
      return say('other');
  }
}

/** `80EC…:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:…` → `wrong version number`. */
function opensslReason(text: string): string {
  const match = /(?:^|\s)[0-9A-F]+:error:[0-9A-F]+:[^:]+:[^:]*:([^:]+):/.exec(text);
  return match ? match[1].trim() : text;
}
