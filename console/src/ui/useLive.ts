import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { LiveConnection, liveSocketUrl, type LiveHint, type LiveMode } from '../live';
import type { ConsoleConfig } from '../config';
import type { Session } from '../auth/session';

/** A hint, or null for "resynchronise everything". */
export type LiveListener = (hint: LiveHint | null) => void;

export interface LiveFeed {
  mode: LiveMode;
  subscribe: (fn: LiveListener) => () => void;
}

/** Polling period while the socket is down: offers must show within 2 s. */
const POLL_MS = 1000;

export function useLive(config: ConsoleConfig, session: Session): LiveFeed {
  const [mode, setMode] = useState<LiveMode>('connecting');
  const listeners = useRef(new Set<LiveListener>());
  const tokenRef = useRef<string | null>(null);

  useEffect(() => {
    const emit = (h: LiveHint | null) => {
      listeners.current.forEach((fn) => fn(h));
      // Keep the socket's token fresh for the next reconnect (OIDC refreshes it).
      if (h === null) void session.token().then((t) => (tokenRef.current = t));
    };
    let cancelled = false;
    let conn: LiveConnection | null = null;
    void session.token().then((token) => {
      if (cancelled) return;
      tokenRef.current = token;
      conn = new LiveConnection({
        url: () =>
          config.live_url && tokenRef.current
            ? liveSocketUrl(config.live_url, tokenRef.current, window.location.href)
            : null,
        onHint: emit,
        onResync: () => emit(null),
        onMode: setMode,
      });
      conn.start();
    });
    return () => {
      cancelled = true;
      conn?.stop();
    };
  }, [config.live_url, session]);

  useEffect(() => {
    if (mode === 'live') return;
    const t = setInterval(() => listeners.current.forEach((fn) => fn(null)), POLL_MS);
    return () => clearInterval(t);
  }, [mode]);

  const subscribe = useCallback((fn: LiveListener) => {
    listeners.current.add(fn);
    return () => {
      listeners.current.delete(fn);
    };
  }, []);
  return useMemo(() => ({ mode, subscribe }), [mode, subscribe]);
}
