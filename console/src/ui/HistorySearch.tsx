import { useState, type FormEvent } from 'react';
import { ok, type Conversation, type Message } from '../api/client';
import { allPages } from '../api/pages';
import { useConsole } from './context';
import { ErrorAlert } from './ErrorAlert';

/** The customer's past conversations the caller may see, searched by keyword. */
export function HistorySearch({ waId, currentId }: { waId: string; currentId: string }) {
  const { client } = useConsole();
  const [q, setQ] = useState('');
  const [items, setItems] = useState<Conversation[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const search = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      const list = await ok(
        client.GET('/customers/{wa_id}/history', {
          params: { path: { wa_id: waId }, query: q.trim() ? { q: q.trim() } : {} },
        }),
      );
      setItems(list.items.filter((c) => c.id !== currentId));
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  };
  return (
    <section className="history" aria-labelledby="history-title">
      <h3 id="history-title">Customer history</h3>
      <form role="search" onSubmit={search}>
        <input
          type="search"
          aria-label="Search history"
          placeholder="Search history"
          value={q}
          onChange={(e) => setQ(e.target.value)}
        />
        <button type="submit">Search</button>
      </form>
      <ErrorAlert error={error} />
      {items &&
        (items.length === 0 ? (
          <p className="muted">No earlier conversations found.</p>
        ) : (
          <ul className="rows">
            {items.map((c) => (
              <PastConversation key={c.id} c={c} />
            ))}
          </ul>
        ))}
    </section>
  );
}

function PastConversation({ c }: { c: Conversation }) {
  const { client } = useConsole();
  const [messages, setMessages] = useState<Message[] | null>(null);
  const [open, setOpen] = useState(false);
  const toggle = async () => {
    setOpen(!open);
    if (messages || open) return;
    const id = c.id;
    setMessages(
      await allPages((cursor) =>
        ok(
          client.GET('/conversations/{id}/messages', {
            params: { path: { id }, query: { limit: 100, ...(cursor ? { cursor } : {}) } },
          }),
        ),
      ).catch(() => []),
    );
  };
  const label = new Date(c.created_at).toLocaleString();
  return (
    <li className="row past">
      <button
        type="button"
        className="link"
        aria-expanded={open}
        onClick={() => void toggle()}
        aria-label={`Chat of ${label}`}
      >
        <time dateTime={c.created_at}>{label}</time>
      </button>
      <span className={`badge badge-${c.status}`}>{c.status.replace('_', ' ')}</span>
      <span className="muted">
        {c.owner ?? '—'}
        {c.wrap_up_reason ? ` · ${c.wrap_up_reason}` : ''}
      </span>
      {open && (
        <ol className="past-transcript" aria-label={`Transcript of ${label}`}>
          {(messages ?? []).map((m) => (
            <li key={m.id} className={`msg msg-${m.direction}`}>
              <span className="msg-who">
                {m.direction === 'inbound' ? 'Customer' : (m.author ?? m.direction)}
              </span>
              {m.text !== null && <span className="msg-text">{m.text}</span>}
            </li>
          ))}
        </ol>
      )}
    </li>
  );
}
