import type { ConsoleConfig } from '../config';
import { toApiError } from '../api/client';

/** Who is signed in and how to get a fresh bearer token. */
export interface Session {
  subject: string;
  token: () => Promise<string | null>;
  signOut: () => Promise<void>;
}

/** Local runner sign-in: `POST /_local/token {"sub"}` → `{"token"}`. */
export async function localSignIn(config: ConsoleConfig, agentId: string): Promise<Session> {
  const response = await fetch(`${config.api_base_url}/_local/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sub: agentId }),
  });
  const body: unknown = await response.json().catch(() => undefined);
  if (!response.ok) throw toApiError(response.status, body);
  const token = (body as { token?: unknown }).token;
  if (typeof token !== 'string') throw new Error('The runner answered without a token.');
  let current: string | null = token;
  return {
    subject: agentId,
    token: async () => current,
    signOut: async () => {
      current = null;
    },
  };
}
