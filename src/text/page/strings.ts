/**
 * The status window's own words, in both languages (the catalogue's type
 * demands both). Sentences about orders and alerts come computed from the
 * server (PageState.alerts, PageState.reasons, the trace's text); these are
 * the page's labels, buttons and states. The shell (./html.ts) uses the
 * table of its language; the browser script (./script.ts) carries both and
 * speaks the language of `<html lang>`.
 */
import type { Language } from '../../config/types.js';

export interface PageText {
  title: string;
  heading: string;
  loading: string;
  noScript: string;
  updated: string;
  never: string;
  live: string;
  reconnecting: string;
  unauthorized: string;
  allWell: string;
  attention: string;
  folder: string;
  mailerRunning: string;
  mailerStopped: string;
  folderProblem: string;
  companies: string;
  noCompanies: string;
  unknownCompany: string;
  waiting: string;
  sending: string;
  deferred: string;
  failed24h: string;
  sent24h: string;
  deferredOrders: string;
  attempts: string;
  nextTry: string;
  lastReply: string;
  failedOrders: string;
  noFailed: string;
  order: string;
  company: string;
  failedAt: string;
  recipients: string;
  subject: string;
  reason: string;
  retry: string;
  retrying: string;
  retryFailed: string;
  timeline: string;
  timelineLoading: string;
  timelineFailed: string;
  retried: string;
  retriedQueued: string;
  retriedSent: string;
  retriedFailed: string;
  retriedDeferred: string;
  logGaps: string;
  language: string;
}

export const PAGE_TEXT: Record<Language, PageText> = {
  es: {
    title: 'proscai-mailer: estado de los envíos',
    heading: 'Estado de los envíos',
    loading: 'Cargando…',
    noScript: 'Esta página necesita JavaScript para mostrar el estado; «proscai-mailer status» muestra lo mismo en la consola.',
    updated: 'Actualizado',
    never: 'todavía no',
    live: 'En vivo',
    reconnecting: 'Se perdió la conexión con el mailer; reconectando…',
    unauthorized: 'El mailer ya no acepta el acceso de esta página (¿cambió el token?). Ábrala otra vez con la dirección que incluye ?token=…',
    allWell: 'Todo en orden: nada necesita atención.',
    attention: 'Necesita atención',
    folder: 'Carpeta',
    mailerRunning: 'el mailer está trabajando',
    mailerStopped: 'ningún mailer trabaja sobre esta carpeta',
    folderProblem: 'No se puede trabajar en esta carpeta (vea arriba qué pasa); sus cifras quedan vacías.',
    companies: 'Por empresa',
    noCompanies: 'No hay órdenes en espera ni envíos en las últimas 24 horas.',
    unknownCompany: '(empresa desconocida)',
    waiting: 'En espera',
    sending: 'En curso',
    deferred: 'Diferidas',
    failed24h: 'Fallidas (24 h)',
    sent24h: 'Enviadas (24 h)',
    deferredOrders: 'Diferidas: se reintentarán solas',
    attempts: 'Intentos',
    nextTry: 'Próximo intento',
    lastReply: 'Última respuesta del servidor',
    failedOrders: 'Órdenes que no se enviaron (últimas 24 horas)',
    noFailed: 'Ninguna orden falló en las últimas 24 horas.',
    order: 'Orden',
    company: 'Empresa',
    failedAt: 'Falló',
    recipients: 'Para',
    subject: 'Asunto',
    reason: 'Motivo',
    retry: 'Reintentar',
    retrying: 'Reintentando…',
    retryFailed: 'No se pudo pedir el reintento',
    timeline: 'Historial de la orden',
    timelineLoading: 'Cargando el historial…',
    timelineFailed: 'No se pudo leer el historial',
    retried: 'Reintentos pedidos desde esta página',
    retriedQueued: 'de vuelta en la cola; esperando el envío',
    retriedSent: 'enviada',
    retriedFailed: 'falló otra vez',
    retriedDeferred: 'diferida; se reintentará sola',
    logGaps: 'El registro perdió líneas (disco lleno): las cifras de enviadas pueden quedarse cortas.',
    language: 'English',
  },
  en: {
    title: 'proscai-mailer: sending status',
    heading: 'Sending status',
    loading: 'Loading…',
    noScript: 'This page needs JavaScript to show the status; "proscai-mailer status" shows the same in a console.',
    updated: 'Updated',
    never: 'not yet',
    live: 'Live',
    reconnecting: 'Connection to the mailer lost; reconnecting…',
    unauthorized: 'The mailer no longer accepts this page (was the token changed?). Open it again with the address that includes ?token=…',
    allWell: 'All is well: nothing needs attention.',
    attention: 'Needs attention',
    folder: 'Folder',
    mailerRunning: 'the mailer is working',
    mailerStopped: 'no mailer works on this folder',
    folderProblem: 'This folder cannot be worked on (see above why); its figures stay empty.',
    companies: 'By company',
    noCompanies: 'No orders waiting and no sends in the last 24 hours.',
    unknownCompany: '(unknown company)',
    waiting: 'Waiting',
    sending: 'In progress',
    deferred: 'Deferred',
    failed24h: 'Failed (24 h)',
    sent24h: 'Sent (24 h)',
    deferredOrders: 'Deferred: they will be retried by themselves',
    attempts: 'Tries',
    nextTry: 'Next try',
    lastReply: 'Last server reply',
    failedOrders: 'Orders that were not sent (last 24 hours)',
    noFailed: 'No order failed in the last 24 hours.',
    order: 'Order',
    company: 'Company',
    failedAt: 'Failed',
    recipients: 'To',
    subject: 'Subject',
    reason: 'Reason',
    retry: 'Retry',
    retrying: 'Retrying…',
    retryFailed: 'The retry could not be requested',
    timeline: 'Order timeline',
    timelineLoading: 'Loading the timeline…',
    timelineFailed: 'The timeline could not be read',
    retried: 'Retries requested from this page',
    retriedQueued: 'back in the queue; waiting to be sent',
    retriedSent: 'sent',
    retriedFailed: 'failed again',
    retriedDeferred: 'deferred; it will be retried by itself',
    logGaps: 'The log lost lines (disk full): the sent figures may be short.',
    language: 'Español',
  },
};
