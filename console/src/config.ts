// Runtime configuration: `config.json` beside the built files, so one build
// serves the local runner and any AWS stage.

export type AuthConfig =
  { mode: 'local' } | { mode: 'oidc'; authority: string; client_id: string; scope?: string };

export interface ConsoleConfig {
  api_base_url: string;
  live_url: string | null;
  auth: AuthConfig;
  /** Seconds an offer lasts, for the countdown when the API gives no deadline. */
  offer_timeout_seconds: number;
}

export const DEFAULT_CONFIG: ConsoleConfig = {
  api_base_url: '',
  live_url: '/live',
  auth: { mode: 'local' },
  offer_timeout_seconds: 30,
};

/** Reads a parsed `config.json`, keeping defaults for what it leaves out or gets wrong. */
export function parseConfig(raw: unknown): ConsoleConfig {
  if (typeof raw !== 'object' || raw === null) return DEFAULT_CONFIG;
  const r = raw as Record<string, unknown>;
  const config: ConsoleConfig = { ...DEFAULT_CONFIG };
  if (typeof r.api_base_url === 'string') config.api_base_url = r.api_base_url.replace(/\/+$/, '');
  if (typeof r.live_url === 'string' || r.live_url === null) config.live_url = r.live_url || null;
  if (typeof r.offer_timeout_seconds === 'number' && r.offer_timeout_seconds > 0)
    config.offer_timeout_seconds = r.offer_timeout_seconds;
  const auth = r.auth as Record<string, unknown> | undefined;
  if (auth && auth.mode === 'oidc') {
    if (typeof auth.authority !== 'string' || typeof auth.client_id !== 'string')
      throw new Error('config.json: auth.mode "oidc" needs "authority" and "client_id"');
    config.auth = {
      mode: 'oidc',
      authority: auth.authority,
      client_id: auth.client_id,
      scope: typeof auth.scope === 'string' ? auth.scope : 'openid',
    };
  }
  return config;
}

export async function loadConfig(): Promise<ConsoleConfig> {
  const response = await fetch(`${import.meta.env.BASE_URL}config.json`, { cache: 'no-store' });
  if (response.status === 404) return DEFAULT_CONFIG;
  if (!response.ok) throw new Error(`config.json: HTTP ${response.status}`);
  return parseConfig(await response.json());
}
