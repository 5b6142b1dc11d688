// Live updates: a WebSocket whose text frames are hints ("something about this
// conversation changed"); the console refetches what a hint names. While the
// socket is down the console polls over HTTP, and reconnects with backoff.

export interface LiveHint {
  type: string;
  conversation_id: string | null;
  /** The agent the event is about, if any. */
  agent: string | null;
  /** Every agent the event names (offered, owner, guest, transfer target…). */
  agents: string[];
  at: string;
}

export type LiveMode = 'connecting' | 'live' | 'polling';

/**
 * The keep-alive frame: API Gateway closes a WebSocket idle for 10 minutes, so
 * an open socket sends this every few minutes. The server (API Gateway's
 * `$default` route, or the local runner) answers it with nothing.
 */
export const KEEP_ALIVE_FRAME = '{"action":"ping"}';
export const KEEP_ALIVE_MS = 4 * 60_000;

export interface BackoffOptions {
  baseMs?: number;
  capMs?: number;
  /** 0..1; a full jitter of up to half the delay. */
  random?: () => number;
}

/** The wait before reconnect attempt `attempt` (0-based): doubling from `baseMs`, capped, with jitter. */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const { baseMs = 500, capMs = 10_000, random = Math.random } = options;
  const exp = Math.min(capMs, baseMs * 2 ** Math.max(0, Math.min(attempt, 30)));
  return Math.round(exp / 2 + (exp / 2) * random());
}

/** A hint from one text frame, or null for anything else. */
export function parseHint(data: unknown): LiveHint | null {
  if (typeof data !== 'string') return null;
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  if (typeof v.type !== 'string') return null;
  const str = (x: unknown) => (typeof x === 'string' ? x : null);
  const agent = str(v.agent);
  const agents = Array.isArray(v.agents)
    ? v.agents.filter((a): a is string => typeof a === 'string')
    : agent
      ? [agent]
      : [];
  return {
    type: v.type,
    conversation_id: str(v.conversation_id),
    agent,
    agents,
    at: typeof v.at === 'string' ? v.at : '',
  };
}

/** `live_url` from the configuration, made absolute (ws/wss) with the token. */
export function liveSocketUrl(liveUrl: string, token: string, base: string): string {
  const url = new URL(liveUrl, base);
  if (url.protocol === 'http:') url.protocol = 'ws:';
  if (url.protocol === 'https:') url.protocol = 'wss:';
  url.searchParams.set('token', token);
  return url.toString();
}

export interface LiveOptions {
  url: () => string | null;
  onHint: (hint: LiveHint) => void;
  /** Refetch everything over HTTP: after (re)connecting and after a drop. */
  onResync: () => void;
  onMode: (mode: LiveMode) => void;
  backoff?: BackoffOptions;
  WebSocketImpl?: typeof WebSocket;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
  /** How often an open socket sends the keep-alive frame. */
  keepAliveMs?: number;
  setRepeat?: (fn: () => void, ms: number) => unknown;
  clearRepeat?: (handle: unknown) => void;
}

export class LiveConnection {
  private socket: WebSocket | null = null;
  private attempt = 0;
  private timer: unknown = null;
  private keepAlive: unknown = null;
  private stopped = true;
  private readonly opts: Required<Omit<LiveOptions, 'backoff'>> & { backoff: BackoffOptions };

  constructor(options: LiveOptions) {
    this.opts = {
      WebSocketImpl: globalThis.WebSocket,
      setTimer: (fn, ms) => setTimeout(fn, ms),
      clearTimer: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
      keepAliveMs: KEEP_ALIVE_MS,
      setRepeat: (fn, ms) => setInterval(fn, ms),
      clearRepeat: (h) => clearInterval(h as ReturnType<typeof setInterval>),
      backoff: {},
      ...options,
    };
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) this.opts.clearTimer(this.timer);
    this.timer = null;
    this.stopKeepAlive();
    const s = this.socket;
    this.socket = null;
    if (s) {
      s.onopen = s.onmessage = s.onclose = s.onerror = null;
      s.close();
    }
  }

  /** The number of failed attempts since the last open socket. */
  get failures(): number {
    return this.attempt;
  }

  private connect(): void {
    if (this.stopped) return;
    const url = this.opts.url();
    if (!url || !this.opts.WebSocketImpl) {
      this.opts.onMode('polling');
      return;
    }
    this.opts.onMode(this.attempt === 0 ? 'connecting' : 'polling');
    let socket: WebSocket;
    try {
      socket = new this.opts.WebSocketImpl(url);
    } catch {
      this.dropped();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      this.attempt = 0;
      this.stopKeepAlive();
      this.keepAlive = this.opts.setRepeat(() => {
        try {
          socket.send(KEEP_ALIVE_FRAME);
        } catch {
          // Closing already: the close event reconnects.
        }
      }, this.opts.keepAliveMs);
      this.opts.onMode('live');
      this.opts.onResync();
    };
    socket.onmessage = (event: MessageEvent) => {
      const hint = parseHint(event.data);
      // "Resync": the server dropped hints for this socket (it fell behind).
      if (hint?.type === 'Resync') this.opts.onResync();
      else if (hint) this.opts.onHint(hint);
    };
    socket.onerror = () => {
      // A close event follows; handled there.
    };
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.stopKeepAlive();
      this.dropped();
    };
  }

  private stopKeepAlive(): void {
    if (this.keepAlive !== null) this.opts.clearRepeat(this.keepAlive);
    this.keepAlive = null;
  }

  private dropped(): void {
    if (this.stopped) return;
    this.opts.onMode('polling');
    this.opts.onResync();
    const delay = backoffDelay(this.attempt, this.opts.backoff);
    this.attempt++;
    this.timer = this.opts.setTimer(() => {
      this.timer = null;
      this.connect();
    }, delay);
  }
}
