import { useCallback, useEffect, useState } from 'react';
import { ok, type Conversation, type ConversationStatus, type Message } from '../api/client';
import { useConsole } from './context';
import { allPages } from '../api/pages';
import type { LiveFeed } from './useLive';
import { NoteForm } from './NoteForm';
import { ErrorAlert } from './ErrorAlert';

const STATUSES: ConversationStatus[] = [
  'bot',
  'unanswered',
  'active',
  'wrap_up',
  'reopened',
  'finished',
];

/** Supervisors: live conversations by status and agent, with internal notes. */
export function SupervisePage({ live }: { live: LiveFeed }) {
  const { client } = useConsole();
  const [status, setStatus] = useState<ConversationStatus | ''>('');
  const [agent, setAgent] = useState('');
  const [items, setItems] = useState<Conversation[]>([]);
  const [openId, setOpenId] = useState<string | null>(null);
  const [messages, setMessages] = useState<Message[]>([]);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      const query: { status?: ConversationStatus[]; agent?: string; limit: number } = {
        limit: 100,
      };
      if (status) query.status = [status];
      if (agent.trim()) query.agent = agent.trim();
      const list = await ok(client.GET('/supervise/conversations', { params: { query } }));
      setItems(list.items);
      setError(null);
      if (openId) {
        setMessages(
          await allPages((cursor) =>
            ok(
              client.GET('/conversations/{id}/messages', {
                params: {
                  path: { id: openId },
                  query: { limit: 100, ...(cursor ? { cursor } : {}) },
                },
              }),
            ),
          ),
        );
      }
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  }, [client, status, agent, openId]);

  useEffect(() => {
    void load();
    return live.subscribe(() => void load());
  }, [live, load]);

  const open = items.find((c) => c.id === openId) ?? null;
  return (
    <div className="supervise">
      <section aria-labelledby="supervise-title">
        <h1 id="supervise-title">Supervise</h1>
        <form className="filters" onSubmit={(e) => e.preventDefault()}>
          <label>
            Filter by status
            <select
              value={status}
              onChange={(e) => setStatus(e.target.value as ConversationStatus | '')}
            >
              <option value="">Every live status</option>
              {STATUSES.map((s) => (
                <option key={s} value={s}>
                  {s.replace('_', ' ')}
                </option>
              ))}
            </select>
          </label>
          <label>
            Filter by agent
            <input
              value={agent}
              onChange={(e) => setAgent(e.target.value)}
              placeholder="agent id"
            />
          </label>
        </form>
        <ErrorAlert error={error} />
        <table className="grid">
          <thead>
            <tr>
              <th scope="col">Customer</th>
              <th scope="col">Status</th>
              <th scope="col">Agent</th>
              <th scope="col">Queue</th>
            </tr>
          </thead>
          <tbody>
            {items.map((c) => (
              <tr key={c.id} aria-selected={c.id === openId}>
                <td>
                  <button type="button" className="link" onClick={() => setOpenId(c.id)}>
                    {c.customer.name ?? `+${c.customer.wa_id}`}
                  </button>
                </td>
                <td>
                  <span className={`badge badge-${c.status}`}>{c.status.replace('_', ' ')}</span>
                </td>
                <td>{c.owner ?? '—'}</td>
                <td>{c.queue_name ?? c.queue}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {items.length === 0 && <p className="muted">No conversations match.</p>}
      </section>
      {open && (
        <section className="conversation" aria-labelledby="sup-conv-title">
          <h2 id="sup-conv-title">{open.customer.name ?? `+${open.customer.wa_id}`}</h2>
          <div className="transcript" role="log" aria-label="Transcript" tabIndex={0}>
            <ol>
              {messages.map((m) => (
                <li key={m.id} className={`msg msg-${m.direction}`}>
                  <span className="msg-who">
                    {m.direction === 'inbound'
                      ? 'Customer'
                      : m.direction === 'note'
                        ? `Internal note by ${m.author ?? 'a supervisor'}`
                        : (m.author ?? m.direction)}
                  </span>
                  {m.text !== null && <span className="msg-text">{m.text}</span>}
                </li>
              ))}
            </ol>
          </div>
          <NoteForm conversationId={open.id} onAdded={load} />
        </section>
      )}
    </div>
  );
}
