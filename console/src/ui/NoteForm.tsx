import { useState } from 'react';
import { ok } from '../api/client';
import { useConsole } from './context';
import { ErrorAlert } from './ErrorAlert';

/** A supervisor's internal note on a conversation, from the desk or the supervision page. */
export function NoteForm({
  conversationId,
  onAdded,
}: {
  conversationId: string;
  onAdded: () => Promise<void>;
}) {
  const { client } = useConsole();
  const [text, setText] = useState('');
  const [error, setError] = useState<string | null>(null);
  return (
    <form
      className="note-form"
      onSubmit={async (e) => {
        e.preventDefault();
        setError(null);
        try {
          await ok(
            client.POST('/conversations/{id}/notes', {
              params: { path: { id: conversationId } },
              body: { text },
            }),
          );
          setText('');
          await onAdded();
        } catch (err) {
          setError(err instanceof Error ? err.message : String(err));
        }
      }}
    >
      <label>
        Internal note
        <textarea value={text} rows={2} onChange={(e) => setText(e.target.value)} required />
      </label>
      <p className="muted">
        Notes are for agents and supervisors only; the customer never sees them.
      </p>
      <button type="submit">Add note</button>
      <ErrorAlert error={error} />
    </form>
  );
}
