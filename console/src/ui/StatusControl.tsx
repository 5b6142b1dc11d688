import { useState } from 'react';
import type { Agent } from '../api/client';

const LABELS: Record<Agent['state'], string> = {
  available: 'Available',
  not_ready: 'Not ready',
  rona: 'RONA (missed an offer)',
};

/** The agent's state: Available / Not ready; RONA is shown and cleared by choosing a state. */
export function StatusControl(props: {
  state: Agent['state'];
  onChange: (state: 'available' | 'not_ready') => Promise<void>;
}) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <span className={`status status-${props.state}`}>
      <label>
        Status
        <select
          value={props.state}
          disabled={busy}
          onChange={async (e) => {
            const next = e.target.value as 'available' | 'not_ready';
            setBusy(true);
            setError(null);
            try {
              await props.onChange(next);
            } catch (err) {
              setError(err instanceof Error ? err.message : String(err));
            } finally {
              setBusy(false);
            }
          }}
        >
          <option value="available">{LABELS.available}</option>
          <option value="not_ready">{LABELS.not_ready}</option>
          {props.state === 'rona' && (
            <option value="rona" disabled>
              {LABELS.rona}
            </option>
          )}
        </select>
      </label>
      {props.state === 'rona' && (
        <span role="status" className="rona">
          RONA: an offer timed out. Choose Available to take chats again.
        </span>
      )}
      {error && (
        <span role="alert" className="error">
          {error}
        </span>
      )}
    </span>
  );
}
