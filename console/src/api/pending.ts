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
 * (or `GET /admin/wrap-up-reasons`, where the caller may read it) →
 * `{"reasons": [...]}`. Null when the API serves neither to this caller.
 */
export async function wrapUpReasons(api: PendingApi): Promise<string[] | null> {
  const token = await api.token();
  for (const path of ['/wrap-up-reasons', '/admin/wrap-up-reasons']) {
    const response = await fetch(`${api.baseUrl}${path}`, {
      headers: token ? { Authorization: `Bearer ${token}` } : {},
    });
    if ([403, 404, 405].includes(response.status)) continue;
    const body: unknown = await response.json().catch(() => undefined);
    if (!response.ok) throw toApiError(response.status, body);
    const reasons = (body as { reasons?: unknown }).reasons;
    if (Array.isArray(reasons)) return reasons.filter((r): r is string => typeof r === 'string');
  }
  return null;
}
