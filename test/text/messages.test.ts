import { describe, expect, it } from 'vitest';
import { MESSAGES, t } from '../../src/text/messages.js';

describe('t', () => {
  it('has every CLI message in both languages', () => {
    for (const key of ['instance.running', 'config.invalid', 'usage', 'run.started', 'run.stopping', 'once.summary'] as const) {
      expect(MESSAGES[key].es.length).toBeGreaterThan(5);
      expect(MESSAGES[key].en.length).toBeGreaterThan(5);
      expect(MESSAGES[key].es).not.toBe(MESSAGES[key].en);
    }
  });

  it('fills parameters and leaves unknown ones visible', () => {
    expect(t('once.summary', 'es', { sent: 3, failed: 1, queued: 0 })).toBe('Enviadas: 3; fallidas: 1; en espera de reintento: 0.');
    expect(t('once.summary', 'en', { sent: 3, failed: 1, queued: 0 })).toBe('Sent: 3; failed: 1; queued for a retry: 0.');
    expect(t('instance.running', 'es', { dir: '/srv/envio' })).toContain('/srv/envio');
    expect(t('instance.running', 'es')).toContain('{dir}');
    expect(t('usage', 'en')).toContain('--error-mail');
  });
});
