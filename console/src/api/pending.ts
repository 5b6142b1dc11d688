// Calls to routes the OpenAPI document does not have yet. Each is untyped and
// tolerant of the route being absent; when the contract gains the route, move
// the call to the typed client (src/api/client.ts) and delete it here.

import { toApiError } from './client';

export interface PendingApi {
  baseUrl: string;
  token: () => Promise<string | null>;
}

/**
 * The configured wrap-up reasons, for the "Wrap up" dialog: `GET /wrap-up-reasons`
 * → `{"reasons": [...]}`. Null when the API does not serve the route yet.
 */
export async function wrapUpReasons(api: PendingApi): Promise<string[] | null> {
  const token = await api.token();
  const response = await fetch(`${api.baseUrl}/wrap-up-reasons`, {
    headers: token ? { Authorization: `Bearer ${token}` } : {},
  });
  if (response.status === 404 || response.status === 405) return null;
  const body: unknown = await response.json().catch(() => undefined);
  if (!response.ok) throw toApiError(response.status, body);
  const reasons = (body as { reasons?: unknown }).reasons;
  return Array.isArray(reasons) ? reasons.filter((r): r is string => typeof r === 'string') : null;
}
