import { useRef, useState, type KeyboardEvent } from 'react';
import { ApiError, ok, type Conversation } from '../api/client';
import { formatDuration, windowTimeLeft } from '../logic/time';
import { useConsole } from './context';
import { useNow } from './hooks';
import type { Desk } from './useDesk';
import { ConversationView } from './ConversationView';

type Tab = 'Unanswered' | 'Active' | 'Archive';
const TABS: Tab[] = ['Unanswered', 'Active', 'Archive'];

export function DeskPage({ desk }: { desk: Desk }) {
  const [tab, setTab] = useState<Tab>('Active');
  const tabRefs = useRef<Record<string, HTMLButtonElement | null>>({});
  const { lists } = desk.state;
  const counts: Record<Tab, number> = {
    Unanswered: lists.unanswered.length,
    Active: lists.active.length + lists.reopened.length,
    Archive: lists.archive.length,
  };
  const onKey = (e: KeyboardEvent) => {
    const i = TABS.indexOf(tab);
    const next =
      e.key === 'ArrowRight' ? TABS[(i + 1) % 3] : e.key === 'ArrowLeft' ? TABS[(i + 2) % 3] : null;
    if (next) {
      setTab(next);
      tabRefs.current[next]?.focus();
    }
  };
  return (
    <div className="desk">
      <section className="lists" aria-label="Conversations">
        <div role="tablist" aria-label="Lists" onKeyDown={onKey}>
          {TABS.map((t) => (
            <button
              key={t}
              ref={(el) => {
                tabRefs.current[t] = el;
              }}
              role="tab"
              id={`tab-${t}`}
              aria-selected={tab === t}
              aria-controls={`panel-${t}`}
              tabIndex={tab === t ? 0 : -1}
              onClick={() => setTab(t)}
            >
              {t}
              <span className="count" aria-hidden="true">
                {counts[t]}
              </span>
            </button>
          ))}
        </div>
        <div role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`} tabIndex={0}>
          {tab === 'Unanswered' && <UnansweredList desk={desk} />}
          {tab === 'Active' && (
            <ConversationList
              desk={desk}
              items={[...lists.active, ...lists.reopened]}
              empty="No active chats."
            />
          )}
          {tab === 'Archive' && <ArchiveList desk={desk} />}
        </div>
      </section>
      <section className="conversation-pane" aria-label="Conversation">
        {desk.state.openId ? (
          <ConversationView desk={desk} />
        ) : (
          <p className="muted">Choose a chat, or go Available to receive offers.</p>
        )}
      </section>
    </div>
  );
}

function who(c: Conversation): string {
  return c.customer.name ?? `+${c.customer.wa_id}`;
}

function ConversationList(props: { desk: Desk; items: Conversation[]; empty: string }) {
  if (props.items.length === 0) return <p className="muted">{props.empty}</p>;
  return (
    <ul className="rows">
      {props.items.map((c) => (
        <li key={c.id} className={props.desk.state.openId === c.id ? 'row selected' : 'row'}>
          <button type="button" className="link" onClick={() => props.desk.open(c.id)}>
            {who(c)}
          </button>
          <span className={`badge badge-${c.status}`}>{c.status.replace('_', ' ')}</span>
        </li>
      ))}
    </ul>
  );
}

function UnansweredList({ desk }: { desk: Desk }) {
  const { client } = useConsole();
  const now = useNow();
  const [error, setError] = useState<{ id: string; text: string; owner?: string } | null>(null);
  const items = desk.state.lists.unanswered;
  if (items.length === 0) return <p className="muted">No chats waiting.</p>;
  const take = async (id: string, force: boolean) => {
    setError(null);
    const r = await client.POST('/conversations/{id}/take', {
      params: { path: { id } },
      body: { force },
    });
    if (r.data) {
      desk.apply(r.data);
      desk.open(id);
      await desk.refresh();
    } else {
      const e = r.error as { error?: { code?: string; message?: string; owner?: string } };
      setError({
        id,
        text: e?.error?.message ?? `HTTP ${r.response.status}`,
        owner: e?.error?.owner,
      });
    }
  };
  return (
    <ul className="rows">
      {items.map((c) => (
        <li key={c.id} className="row">
          <button type="button" className="link" onClick={() => desk.open(c.id)}>
            {who(c)}
          </button>
          <span className="muted">
            {c.queue_name ?? c.queue}
            {c.waiting_seconds !== null &&
              ` · waiting ${formatDuration(c.waiting_seconds + Math.max(0, Math.floor((now - desk.state.listsAt) / 1000)))}`}
          </span>
          <button
            type="button"
            onClick={() => void take(c.id, false)}
            aria-label={`Take ${who(c)}`}
          >
            Take
          </button>
          {error?.id === c.id && (
            <span role="alert" className="error">
              {error.text}{' '}
              {error.owner && (
                <button type="button" onClick={() => void take(c.id, true)}>
                  Overtake from {error.owner}
                </button>
              )}
            </span>
          )}
        </li>
      ))}
    </ul>
  );
}

export function useArchiveActions(desk: Desk) {
  const { client } = useConsole();
  const [error, setError] = useState<{ id: string; text: string } | null>(null);
  const run = async (id: string, action: 'reopen' | 'push' | 'done') => {
    setError(null);
    try {
      const path =
        action === 'reopen'
          ? '/conversations/{id}/reopen'
          : action === 'push'
            ? '/conversations/{id}/push'
            : '/conversations/{id}/done';
      const c = await ok(client.POST(path, { params: { path: { id } } }));
      desk.apply(c);
      if (action !== 'done') desk.open(id);
    } catch (e) {
      setError({ id, text: e instanceof ApiError ? e.message : String(e) });
    } finally {
      await desk.refresh().catch(() => undefined);
    }
  };
  return { error, run };
}

function ArchiveList({ desk }: { desk: Desk }) {
  const now = useNow();
  const { error, run } = useArchiveActions(desk);
  const items = desk.state.lists.archive;
  if (items.length === 0) return <p className="muted">The archive is empty.</p>;
  return (
    <ul className="rows">
      {items.map((c) => (
        <li key={c.id} className="row archive-row" aria-label={`Archived chat with ${who(c)}`}>
          <button type="button" className="link" onClick={() => desk.open(c.id)}>
            {who(c)}
          </button>
          <span className="window" data-testid="window-left">
            {windowTimeLeft(c.window_expires_at, now)}
          </span>
          <span className="actions">
            <button type="button" disabled={!c.can_reopen} onClick={() => void run(c.id, 'reopen')}>
              Reopen
            </button>
            <button type="button" disabled={!c.can_push} onClick={() => void run(c.id, 'push')}>
              Send template
            </button>
            <button type="button" onClick={() => void run(c.id, 'done')}>
              Mark done
            </button>
          </span>
          {error?.id === c.id && (
            <span role="alert" className="error">
              {error.text}
            </span>
          )}
        </li>
      ))}
    </ul>
  );
}
