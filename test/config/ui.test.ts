/**
 * The `ui` configuration (issue 16): `ui.listen` / `run --ui`, and the token
 * that an address off this machine requires.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildConfig, maskConfig } from '../../src/config/load.js';
import { formatListen, isLoopbackHost, parseListen } from '../../src/config/ui-listen.js';
import { configReason } from '../../src/text/config-errors.js';
import { configErrorOf } from '../helpers/config-error.js';

const cwd = path.resolve('/srv/cwd');
const build = (file: Record<string, unknown> | undefined, flags: Record<string, unknown> = {}, env: Record<string, string> = {}) =>
  buildConfig({ file: { dir: '/srv/orders', ...file }, env, flags, cwd });

describe('ui configuration', () => {
  it('is off unless asked for; --ui without a value is 127.0.0.1:8025; a bare port is on loopback', () => {
    expect(build(undefined).ui).toEqual({ listen: null, token: null });
    expect(build(undefined, { ui: true }).ui).toEqual({ listen: '127.0.0.1:8025', token: null });
    expect(build(undefined, { ui: '9000' }).ui.listen).toBe('127.0.0.1:9000');
    expect(build({ ui: { listen: '8025' } }).ui.listen).toBe('127.0.0.1:8025');
    expect(build({ ui: { listen: '[::1]:8025' } }).ui.listen).toBe('[::1]:8025');
    expect(build({ ui: { listen: 'localhost:0' } }).ui.listen).toBe('localhost:0');
    // The flag wins over the file.
    expect(build({ ui: { listen: '127.0.0.1:8025' } }, { ui: '127.0.0.2:7000' }).ui.listen).toBe('127.0.0.2:7000');
  });

  it('an address off this machine needs a token, inline or from the variable tokenEnv names', () => {
    const open = configErrorOf(() => build({ ui: { listen: '0.0.0.0:8025' } }));
    expect(open.message).toContain('ui.listen: a status window on an address other than 127.0.0.1, ::1 or localhost needs "ui.token" or "ui.tokenEnv"');
    expect(configReason(open.message, 'es')).toContain('una ventana de estado en una dirección distinta de 127.0.0.1, ::1 o localhost necesita "ui.token" o "ui.tokenEnv"');
    expect(configErrorOf(() => build(undefined, { ui: '192.168.1.20:8025' })).message).toMatch(/^--ui: a status window/);
    expect(build({ ui: { listen: '0.0.0.0:8025', token: 's3cret' } }).ui).toEqual({ listen: '0.0.0.0:8025', token: 's3cret' });
    expect(build({ ui: { listen: '0.0.0.0:8025', tokenEnv: 'UI_TOKEN' } }, {}, { UI_TOKEN: 'from-env' }).ui.token).toBe('from-env');
    expect(configErrorOf(() => build({ ui: { listen: '0.0.0.0:8025', tokenEnv: 'UI_TOKEN' } })).message).toContain('ui.tokenEnv: the environment variable UI_TOKEN is not set');
    expect(configErrorOf(() => build({ ui: { token: 'a', tokenEnv: 'B' } }, {}, { B: 'b' })).message).toContain('give either "token" or "tokenEnv", not both');
  });

  it('refuses what is not an address, and unknown keys', () => {
    for (const listen of ['host:port', '99999', ':8025', 'a b:80', '::1:8025']) {
      const error = configErrorOf(() => build({ ui: { listen } }));
      expect(error.message).toContain('ui.listen: must be PORT or HOST:PORT');
      expect(configReason(error.message, 'es')).toContain('debe ser PUERTO o HOST:PUERTO');
    }
    expect(configErrorOf(() => build({ ui: { listn: '8025' } })).message).toContain('ui: unknown key "listn" (did you mean "listen"?)');
    expect(configErrorOf(() => build({ ui: { token: '' } })).message).toContain('ui.token: must be a non-empty text');
  });

  it('the token is masked in `config` output', () => {
    const config = build({ ui: { listen: '0.0.0.0:8025', token: 's3cret-token' } });
    expect(JSON.stringify(maskConfig(config))).not.toContain('s3cret-token');
    expect((maskConfig(config) as { ui: { token: string } }).ui.token).toBe('********');
  });

  it('parses, prints and classifies listen addresses', () => {
    expect(parseListen('8025')).toEqual({ host: '127.0.0.1', port: 8025 });
    expect(parseListen('[::]:80')).toEqual({ host: '::', port: 80 });
    expect(formatListen({ host: '::1', port: 1 })).toBe('[::1]:1');
    expect(['127.0.0.1', '127.8.9.10', '::1', 'LOCALHOST', '[::1]'].every(isLoopbackHost)).toBe(true);
    expect(['0.0.0.0', '::', '192.168.1.2', 'example.com', '128.0.0.1'].some(isLoopbackHost)).toBe(false);
  });
});
