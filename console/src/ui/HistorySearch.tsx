import { useState, type FormEvent } from 'react';
import { ok, type Conversation } from '../api/client';
import { useConsole } from './context';

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
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {items &&
        (items.length === 0 ? (
          <p className="muted">No earlier conversations found.</p>
        ) : (
          <ul className="rows">
            {items.map((c) => (
              <li key={c.id} className="row">
                <time dateTime={c.created_at}>{new Date(c.created_at).toLocaleString()}</time>
                <span className={`badge badge-${c.status}`}>{c.status.replace('_', ' ')}</span>
                <span className="muted">
                  {c.owner ?? '—'}
                  {c.wrap_up_reason ? ` · ${c.wrap_up_reason}` : ''}
                </span>
              </li>
            ))}
          </ul>
        ))}
    </section>
  );
}
