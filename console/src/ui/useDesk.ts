import { useCallback, useEffect, useMemo, useReducer, useRef } from 'react';
import { coalesce } from '../logic/coalesce';
import { allPages } from '../api/pages';
import { ok, serverClock, type Client, type Conversation } from '../api/client';
import { deskReducer, initialDesk, refetchFor, type DeskState, type ListView } from '../logic/desk';
import type { LiveFeed } from './useLive';

const VIEWS: ListView[] = ['offered', 'unanswered', 'active', 'reopened', 'archive'];

export interface Desk {
  state: DeskState;
  open: (id: string | null) => void;
  refresh: () => Promise<void>;
  refreshOpen: () => Promise<void>;
  /** Puts an action's answer in place at once, ahead of the next refetch. */
  apply: (c: Conversation) => void;
}

export function useDesk(
  client: Client,
  live: LiveFeed,
  me: string,
  onAgentChange: () => void,
): Desk {
  const [state, dispatch] = useReducer(deskReducer, initialDesk);
  const openRef = useRef<string | null>(null);
  openRef.current = state.openId;
  // Each refetch runs one at a time, and once more when a hint came in while
  // it ran, so no hint is lost and answers cannot arrive out of order.
  const refreshLists = useMemo(
    () =>
      coalesce(async () => {
        const results = await Promise.all(
          VIEWS.map((view) =>
            ok(
              client.GET('/conversations', { params: { query: { view: [view], limit: 100 } } }),
            ).then((list) => [view, list.items] as const),
          ),
        );
        dispatch({ type: 'lists', lists: Object.fromEntries(results), at: serverClock.now() });
      }),
    [client],
  );

  const refreshOpen = useMemo(
    () =>
      coalesce(async () => {
        const id = openRef.current;
        if (!id) return;
        const params = { params: { path: { id } } };
        const [c, messages] = await Promise.all([
          client.GET('/conversations/{id}', params),
          allPages((cursor) =>
            ok(
              client.GET('/conversations/{id}/messages', {
                params: { path: { id }, query: { limit: 100, ...(cursor ? { cursor } : {}) } },
              }),
            ),
          ).catch(() => null),
        ]);
        if (c.response.status === 403 || c.response.status === 404) {
          dispatch({ type: 'gone', id });
          return;
        }
        if (c.data) dispatch({ type: 'conversation', conversation: c.data });
        if (messages) dispatch({ type: 'messages', id, messages });
      }),
    [client],
  );

  const refresh = useCallback(async () => {
    await Promise.all([refreshLists(), refreshOpen()]);
  }, [refreshLists, refreshOpen]);

  useEffect(() => {
    void refresh().catch(() => undefined);
    return live.subscribe((hint) => {
      if (hint === null) {
        void refresh().catch(() => undefined);
        return;
      }
      const what = refetchFor(hint, openRef.current, me);
      if (what.lists) void refreshLists().catch(() => undefined);
      if (what.open) void refreshOpen().catch(() => undefined);
      if (what.me) onAgentChange();
    });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [client]);

  const open = useCallback(
    (id: string | null) => {
      openRef.current = id;
      dispatch({ type: 'open', id });
      if (id) void refreshOpen().catch(() => undefined);
    },
    [refreshOpen],
  );

  const apply = useCallback(
    (c: Conversation) => dispatch({ type: 'conversation', conversation: c }),
    [],
  );

  return { state, open, refresh, refreshOpen, apply };
}
