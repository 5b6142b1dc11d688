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

export interface UploadTarget {
  upload_id: string;
  url: string;
  fields: Record<string, string>;
  expires_at: string;
}

/**
 * Sends a file as an attachment: `POST /uploads` for a short-lived upload
 * target (an S3 presigned POST on AWS), the file to that target, then
 * `POST /conversations/{id}/messages` with `{"attachment": {"upload_id", "caption"}}`.
 * Throws a plain-language error when the API has no upload route yet.
 */
export async function sendAttachment(
  api: PendingApi,
  conversationId: string,
  file: File,
  caption: string,
): Promise<void> {
  const token = await api.token();
  const auth: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};
  const created = await fetch(`${api.baseUrl}/uploads`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({
      filename: file.name,
      mime_type: file.type || 'application/octet-stream',
      size_bytes: file.size,
    }),
  });
  if (created.status === 404 || created.status === 405)
    throw new Error('This server does not accept attachments yet.');
  const body: unknown = await created.json().catch(() => undefined);
  if (!created.ok) throw toApiError(created.status, body);
  const target = body as UploadTarget;
  const form = new FormData();
  for (const [k, v] of Object.entries(target.fields ?? {})) form.append(k, v);
  form.append('file', file);
  const uploaded = await fetch(target.url, { method: 'POST', body: form });
  if (!uploaded.ok) throw new Error(`The upload failed (HTTP ${uploaded.status}).`);
  const sent = await fetch(
    `${api.baseUrl}/conversations/${encodeURIComponent(conversationId)}/messages`,
    {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({
        attachment: { upload_id: target.upload_id, ...(caption ? { caption } : {}) },
      }),
    },
  );
  if (!sent.ok) throw toApiError(sent.status, await sent.json().catch(() => undefined));
}
