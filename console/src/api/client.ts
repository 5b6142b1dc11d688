import createClient, { type Middleware } from 'openapi-fetch';
import type { components, paths } from './schema';
import { ServerClock } from '../logic/time';

export type Schemas = components['schemas'];
export type Conversation = Schemas['Conversation'];
export type Message = Schemas['Message'];
export type Agent = Schemas['Agent'];
export type Figures = Schemas['Figures'];
export type DayFigures = Schemas['DayFigures'];
export type ConversationStatus = Schemas['ConversationStatus'];
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
