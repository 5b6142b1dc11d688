import createClient, { type Middleware } from 'openapi-fetch';
import type { components, paths } from './schema';
import { ServerClock } from '../logic/time';
import { declaredType } from '../logic/compose';

export type Schemas = components['schemas'];
export type Conversation = Schemas['Conversation'];
export type Message = Schemas['Message'];
export type Agent = Schemas['Agent'];
export type Figures = Schemas['Figures'];
export type DayFigures = Schemas['DayFigures'];
export type ConversationStatus = Schemas['ConversationStatus'];
export type UploadTarget = Schemas['UploadTarget'];
export type View = 'offered' | 'unanswered' | 'active' | 'reopened' | 'archive';

/** An error answer of the API, as `{"error": {"code", "message"}}` says it. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function toApiError(status: number, body: unknown): ApiError {
  const e = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  if (e && typeof e.code === 'string')
    return new ApiError(status, e.code, typeof e.message === 'string' ? e.message : e.code);
  return new ApiError(status, 'http_' + status, `The server answered HTTP ${status}.`);
}

/** Unwraps an openapi-fetch result: the data, or an ApiError. */
export async function ok<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  const { data, error, response } = await call;
  if (error !== undefined || !response.ok) throw toApiError(response.status, error);
  return data as T;
}

export interface ApiSession {
  token: () => Promise<string | null>;
  onUnauthenticated: () => void;
  /**
   * Where the server's time comes from: the `Date` header of every answer, or
   * (the local runner, whose clock tests move forward while the `Date` header
   * keeps wall time) its `GET /_local/clock`.
   */
  clock: 'date-header' | 'local-runner';
}

export const serverClock = new ServerClock();

export function makeClient(baseUrl: string, session: ApiSession) {
  const client = createClient<paths>({ baseUrl: baseUrl || window.location.origin });
  const auth: Middleware = {
    async onRequest({ request }) {
      const token = await session.token();
      if (token) request.headers.set('Authorization', `Bearer ${token}`);
      return request;
    },
    onResponse({ response }) {
      if (session.clock === 'date-header') serverClock.observe(response.headers.get('date'));
      if (response.status === 401) session.onUnauthenticated();
      return response;
    },
  };
  client.use(auth);
  return client;
}

/** Reads the local runner's clock into `serverClock`. */
export async function syncLocalClock(client: ReturnType<typeof makeClient>): Promise<void> {
  const sentAt = Date.now();
  const { data } = await client.GET('/_local/clock');
  if (data) serverClock.set(data.now, sentAt, Date.now());
}

export type Client = ReturnType<typeof makeClient>;

/** Why an upload target refused the file: its message (JSON locally, S3's XML on AWS). */
export function uploadFailure(status: number, body: string): Error {
  let message: string | undefined;
  try {
    const e = (JSON.parse(body) as { error?: { message?: unknown } }).error;
    if (typeof e?.message === 'string') message = e.message;
  } catch {
    message = /<Message>([^<]*)<\/Message>/.exec(body)?.[1];
  }
  return new Error(`The upload failed (HTTP ${status})${message ? `: ${message}` : '.'}`);
}

/**
 * Sends a file as an attachment: `POST /uploads` for a short-lived upload
 * target (an S3 presigned POST on AWS, the runner's form endpoint locally),
 * the form to that target (every field as given, then the file; never the
 * bearer token), then `{"attachment": {"upload_id", "caption"}}` to
 * `POST /conversations/{id}/messages`. Answers the message as sent.
 */
export async function sendAttachment(
  client: Client,
  conversationId: string,
  file: File,
  caption: string,
): Promise<Message> {
  const target = await ok(
    client.POST('/uploads', {
      body: {
        filename: file.name,
        mime_type: file.type || declaredType(file.name),
        size_bytes: file.size,
      },
    }),
  );
  const form = new FormData();
  for (const [name, value] of Object.entries(target.fields)) form.append(name, value);
  form.append('file', file);
  const uploaded = await fetch(target.url, { method: 'POST', body: form });
  if (!uploaded.ok) throw uploadFailure(uploaded.status, await uploaded.text().catch(() => ''));
  return ok(
    client.POST('/conversations/{id}/messages', {
      params: { path: { id: conversationId } },
      body: { attachment: { upload_id: target.upload_id, ...(caption ? { caption } : {}) } },
    }),
  );
}

/** The ids in a message's `media_url` (`/conversations/{id}/messages/{message_id}/media`). */
export function mediaPath(mediaUrl: string): { id: string; message_id: string } | null {
  const m = /^\/conversations\/([^/]+)\/messages\/([^/]+)\/media$/.exec(mediaUrl);
  return m ? { id: decodeURIComponent(m[1]!), message_id: decodeURIComponent(m[2]!) } : null;
}

/**
 * A message's file, read at its `media_url` with the caller's token (on AWS
 * the API redirects to a short-lived link, which fetch follows). Throws an
 * ApiError: 404 while a customer's file is not fetched yet, 410 after the
 * retention.
 */
export async function fetchMedia(
  client: Client,
  mediaUrl: string,
  signal?: AbortSignal,
): Promise<Blob> {
  const path = mediaPath(mediaUrl);
  if (!path) throw new Error(`Not a media address: ${mediaUrl}`);
  return ok(
    client.GET('/conversations/{id}/messages/{message_id}/media', {
      params: { path },
      parseAs: 'blob',
      signal,
    }),
  );
}
