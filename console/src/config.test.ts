import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, parseConfig } from './config';

describe('runtime configuration', () => {
  it('reads the local runner configuration', () => {
    expect(parseConfig({ api_base_url: '', live_url: '/live', auth: { mode: 'local' } })).toEqual(
      DEFAULT_CONFIG,
    );
  });
  it('reads an OIDC configuration and trims the API base', () => {
    const c = parseConfig({
      api_base_url: 'https://api.example.test/',
      auth: { mode: 'oidc', authority: 'https://idp.example.test', client_id: 'abc' },
    });
    expect(c.api_base_url).toBe('https://api.example.test');
    expect(c.auth).toEqual({
      mode: 'oidc',
      authority: 'https://idp.example.test',
      client_id: 'abc',
      scope: 'openid',
    });
  });
  it('refuses OIDC without its settings', () => {
    expect(() => parseConfig({ auth: { mode: 'oidc' } })).toThrow(/authority/);
  });
  it('turns live updates off with a null live_url', () => {
    expect(parseConfig({ live_url: null }).live_url).toBeNull();
  });
});
