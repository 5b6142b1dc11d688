import { useCallback, useEffect, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { ApiError, ok, type Agent } from '../api/client';
import type { components } from '../api/schema';
import { fieldForError } from '../logic/fieldErrors';
import { useConsole } from './context';
import { ErrorAlert } from './ErrorAlert';

type Errors = Record<string, string>;

/** Runs a save; a validation error goes to the field it names. */
function useSave(fields: string[], hints: Record<string, RegExp>, onSaved?: () => void) {
  const [errors, setErrors] = useState<Errors>({});
  const [saved, setSaved] = useState<string | null>(null);
  const save = async (
    call: () => Promise<{ error?: unknown; response: Response }>,
    what: string,
  ) => {
    setErrors({});
    setSaved(null);
    try {
      const { error, response } = await call();
      if (!response.ok) {
        const e = (error as { error?: { message?: string } } | undefined)?.error;
        const message = e?.message ?? `HTTP ${response.status}`;
        const field = fieldForError(message, fields, hints);
        setErrors({ [field ?? 'form']: message });
        return;
      }
      setSaved(`${what} saved.`);
      onSaved?.();
    } catch (err) {
      setErrors({
        form: err instanceof ApiError || err instanceof Error ? err.message : String(err),
      });
    }
  };
  return { errors, saved, save };
}

function Field(props: {
  id: string;
  label: string;
  error?: string;
  children: (a: { id: string; 'aria-invalid': boolean; 'aria-describedby'?: string }) => ReactNode;
}) {
  const errId = `${props.id}-error`;
  return (
    <div className="field">
      <label htmlFor={props.id}>{props.label}</label>
      {props.children({
        id: props.id,
        'aria-invalid': !!props.error,
        'aria-describedby': props.error ? errId : undefined,
      })}
      {props.error && (
        <span id={errId} className="error field-error" role="alert">
          {props.error}
        </span>
      )}
    </div>
  );
}

function Outcome({ errors, saved }: { errors: Errors; saved: string | null }) {
  return (
    <>
      <ErrorAlert error={errors.form} />
      {saved && <p role="status">{saved}</p>}
    </>
  );
}

const ID_HINT = /\bid\b|characters|may only|invalid/i;

function AgentForm({ onSaved }: { onSaved: () => void }) {
  const { client } = useConsole();
  const [id, setId] = useState('');
  const [name, setName] = useState('');
  const [role, setRole] = useState<'agent' | 'supervisor' | 'admin'>('agent');
  const [queues, setQueues] = useState('default');
  const [max, setMax] = useState('2');
  const { errors, saved, save } = useSave(
    ['name', 'role', 'queues', 'max_concurrent', 'id'],
    {
      queues: /no queue/i,
      id: ID_HINT,
    },
    onSaved,
  );
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void save(
      () =>
        client.PUT('/admin/agents/{id}', {
          params: { path: { id: id.trim() } },
          body: {
            name,
            role,
            queues: queues
              .split(',')
              .map((q) => q.trim())
              .filter(Boolean),
            max_concurrent: Number(max),
          },
        }),
      `Agent ${id.trim()}`,
    );
  };
  return (
    <form className="card admin-form" aria-labelledby="admin-agent" onSubmit={submit} noValidate>
      <h2 id="admin-agent">Agent</h2>
      <Field id="agent-id" label="Agent id (sign-in subject)" error={errors.id}>
        {(a) => <input {...a} value={id} onChange={(e) => setId(e.target.value)} />}
      </Field>
      <Field id="agent-name" label="Name" error={errors.name}>
        {(a) => <input {...a} value={name} onChange={(e) => setName(e.target.value)} />}
      </Field>
      <Field id="agent-role" label="Role" error={errors.role}>
        {(a) => (
          <select {...a} value={role} onChange={(e) => setRole(e.target.value as typeof role)}>
            <option value="agent">agent</option>
            <option value="supervisor">supervisor</option>
            <option value="admin">admin</option>
          </select>
        )}
      </Field>
      <Field id="agent-queues" label="Queues (comma-separated ids)" error={errors.queues}>
        {(a) => <input {...a} value={queues} onChange={(e) => setQueues(e.target.value)} />}
      </Field>
      <Field id="agent-max" label="Max concurrent chats" error={errors.max_concurrent}>
        {(a) => <input {...a} type="number" value={max} onChange={(e) => setMax(e.target.value)} />}
      </Field>
      <button type="submit">Save agent</button>
      <Outcome errors={errors} saved={saved} />
    </form>
  );
}

function QueueForm() {
  const { client } = useConsole();
  const [id, setId] = useState('');
  const [name, setName] = useState('');
  const { errors, saved, save } = useSave(['name', 'id'], { id: ID_HINT });
  return (
    <form
      className="card admin-form"
      aria-labelledby="admin-queue"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        void save(
          () =>
            client.PUT('/admin/queues/{id}', {
              params: { path: { id: id.trim() } },
              body: { name },
            }),
          `Queue ${id.trim()}`,
        );
      }}
    >
      <h2 id="admin-queue">Queue</h2>
      <Field id="queue-id" label="Queue id" error={errors.id}>
        {(a) => <input {...a} value={id} onChange={(e) => setId(e.target.value)} />}
      </Field>
      <Field id="queue-name" label="Queue name" error={errors.name}>
        {(a) => <input {...a} value={name} onChange={(e) => setName(e.target.value)} />}
      </Field>
      <button type="submit">Save queue</button>
      <Outcome errors={errors} saved={saved} />
    </form>
  );
}

function ChannelForm() {
  const { client } = useConsole();
  const [id, setId] = useState('');
  const [display, setDisplay] = useState('');
  const [queue, setQueue] = useState('default');
  const [reopen, setReopen] = useState('');
  const [chat, setChat] = useState(true);
  const [mask, setMask] = useState(false);
  const [bot, setBot] = useState(false);
  const [tplName, setTplName] = useState('');
  const [tplLang, setTplLang] = useState('');
  const [retention, setRetention] = useState('365');
  const { errors, saved, save } = useSave(
    [
      'display_phone_number',
      'default_queue',
      'reopen_message',
      'push_template',
      'retention_days',
      'id',
    ],
    { default_queue: /no queue/i, retention_days: /retention/i, id: ID_HINT },
  );
  return (
    <form
      className="card admin-form"
      aria-labelledby="admin-channel"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        void save(
          () =>
            client.PUT('/admin/channels/{phone_number_id}', {
              params: { path: { phone_number_id: id.trim() } },
              body: {
                display_phone_number: display,
                chat_enabled: chat,
                default_queue: queue.trim(),
                bot,
                mask_sensitive_data: mask,
                reopen_message: reopen,
                push_template: tplName || tplLang ? { name: tplName, language: tplLang } : null,
                retention_days: Number(retention),
              },
            }),
          `Channel ${id.trim()}`,
        );
      }}
    >
      <h2 id="admin-channel">Channel</h2>
      <Field id="channel-id" label="Phone number id" error={errors.id}>
        {(a) => <input {...a} value={id} onChange={(e) => setId(e.target.value)} />}
      </Field>
      <Field id="channel-display" label="Display phone number" error={errors.display_phone_number}>
        {(a) => <input {...a} value={display} onChange={(e) => setDisplay(e.target.value)} />}
      </Field>
      <Field id="channel-queue" label="Default queue" error={errors.default_queue}>
        {(a) => <input {...a} value={queue} onChange={(e) => setQueue(e.target.value)} />}
      </Field>
      <Field id="channel-reopen" label="Reopen message" error={errors.reopen_message}>
        {(a) => <textarea {...a} value={reopen} onChange={(e) => setReopen(e.target.value)} />}
      </Field>
      <Field id="channel-template" label="Push template name" error={errors.push_template}>
        {(a) => <input {...a} value={tplName} onChange={(e) => setTplName(e.target.value)} />}
      </Field>
      <Field id="channel-language" label="Push template language">
        {(a) => <input {...a} value={tplLang} onChange={(e) => setTplLang(e.target.value)} />}
      </Field>
      <Field
        id="channel-retention"
        label="Keep finished chats (days)"
        error={errors.retention_days}
      >
        {(a) => (
          <input
            {...a}
            type="number"
            min={1}
            max={3650}
            value={retention}
            onChange={(e) => setRetention(e.target.value)}
          />
        )}
      </Field>
      <label className="check">
        <input type="checkbox" checked={chat} onChange={(e) => setChat(e.target.checked)} /> Chat
        enabled
      </label>
      <label className="check">
        <input type="checkbox" checked={mask} onChange={(e) => setMask(e.target.checked)} /> Mask
        sensitive data
      </label>
      <label className="check">
        <input type="checkbox" checked={bot} onChange={(e) => setBot(e.target.checked)} /> A bot
        answers first
      </label>
      <button type="submit">Save channel</button>
      <Outcome errors={errors} saved={saved} />
    </form>
  );
}

function ReasonsForm() {
  const { client } = useConsole();
  const [text, setText] = useState('Resolved\nFollow-up needed\nNo response');
  const { errors, saved, save } = useSave(['reasons'], { reasons: /reason/i });
  return (
    <form
      className="card admin-form"
      aria-labelledby="admin-reasons"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        void save(
          () =>
            client.PUT('/admin/wrap-up-reasons', {
              body: {
                reasons: text
                  .split('\n')
                  .map((r) => r.trim())
                  .filter(Boolean),
              },
            }),
          'Wrap-up reasons',
        );
      }}
    >
      <h2 id="admin-reasons">Wrap-up reasons</h2>
      <Field id="reasons" label="Reasons (one a line)" error={errors.reasons}>
        {(a) => <textarea {...a} rows={5} value={text} onChange={(e) => setText(e.target.value)} />}
      </Field>
      <button type="submit">Save reasons</button>
      <Outcome errors={errors} saved={saved} />
    </form>
  );
}

function Directory({ version }: { version: number }) {
  const { client } = useConsole();
  const [agents, setAgents] = useState<Agent[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = useCallback(
    async (from: string | null) => {
      try {
        const page = await ok(
          client.GET('/admin/agents', {
            params: { query: { limit: 100, ...(from ? { cursor: from } : {}) } },
          }),
        );
        setAgents((before) => (from ? [...before, ...page.items] : page.items));
        setCursor(page.next_cursor);
        setError(null);
      } catch (e) {
        setError(e instanceof Error ? e.message : String(e));
      }
    },
    [client],
  );
  useEffect(() => {
    void load(null);
  }, [load, version]);
  return (
    <section aria-labelledby="directory-title">
      <h2 id="directory-title">Directory</h2>
      <ErrorAlert error={error} />
      <table className="grid">
        <thead>
          <tr>
            <th scope="col">Id</th>
            <th scope="col">Name</th>
            <th scope="col">Role</th>
            <th scope="col">Queues</th>
            <th scope="col">Max concurrent</th>
            <th scope="col">State</th>
          </tr>
        </thead>
        <tbody>
          {agents.map((a) => (
            <tr key={a.id}>
              <td>{a.id}</td>
              <td>{a.name}</td>
              <td>{a.role}</td>
              <td>{a.queues.join(', ')}</td>
              <td>{a.max_concurrent}</td>
              <td>{a.state.replace('_', ' ')}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {cursor && (
        <button type="button" onClick={() => void load(cursor)}>
          More agents
        </button>
      )}
    </section>
  );
}

type Erased = components['schemas']['ErasureResult'];
type AuditRecord = components['schemas']['AuditRecord'];

function describeErasure(result: Erased): string {
  const e = result.erased;
  const counts = `${e.conversations} conversations, ${e.messages} messages, ${e.notes} notes, ${e.history_links} history links, ${e.timers} timers${e.profile ? ', the profile' : ''}`;
  return result.status === 'complete'
    ? `Customer erased: ${counts}.`
    : `Erasure under way (so far ${counts}); erase again to see it complete.`;
}

/** Erase a customer on request, after a confirmation naming them. */
function EraseCustomer({ onDone }: { onDone: () => void }) {
  const { client } = useConsole();
  const [channel, setChannel] = useState('');
  const [waId, setWaId] = useState('');
  const [confirming, setConfirming] = useState(false);
  const [outcome, setOutcome] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const cancel = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (confirming) cancel.current?.focus();
  }, [confirming]);
  const erase = async () => {
    setConfirming(false);
    setError(null);
    setOutcome(null);
    try {
      const {
        data,
        error: failure,
        response,
      } = await client.DELETE('/admin/customers/{phone_number_id}/{wa_id}', {
        params: { path: { phone_number_id: channel.trim(), wa_id: waId.trim() } },
      });
      if (!response.ok || !data) {
        const e = (failure as { error?: { message?: string } } | undefined)?.error;
        setError(e?.message ?? `HTTP ${response.status}`);
        return;
      }
      setOutcome(describeErasure(data));
      onDone();
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  };
  return (
    <form
      className="card admin-form"
      aria-labelledby="admin-erase"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        setOutcome(null);
        setConfirming(true);
      }}
    >
      <h2 id="admin-erase">Erase customer</h2>
      <p className="muted">
        Deletes everything stored about the customer on this channel, ending a live chat first.
        Analytics counts stay.
      </p>
      <Field id="erase-channel" label="Customer's channel (phone number id)">
        {(a) => <input {...a} value={channel} onChange={(e) => setChannel(e.target.value)} />}
      </Field>
      <Field id="erase-wa-id" label="Customer's WhatsApp id">
        {(a) => <input {...a} value={waId} onChange={(e) => setWaId(e.target.value)} />}
      </Field>
      <button type="submit" disabled={!channel.trim() || !waId.trim()}>
        Erase customer
      </button>
      <ErrorAlert error={error} />
      {outcome && <p role="status">{outcome}</p>}
      {confirming && (
        <div className="modal-backdrop">
          <div
            className="card dialog"
            role="alertdialog"
            aria-modal="true"
            aria-labelledby="erase-confirm-title"
            aria-describedby="erase-confirm-text"
          >
            <h2 id="erase-confirm-title">Erase this customer?</h2>
            <p id="erase-confirm-text">
              Everything stored about +{waId.trim()} on channel {channel.trim()} is deleted for
              good. This cannot be undone.
            </p>
            <button type="button" className="primary" onClick={() => void erase()}>
              Erase
            </button>
            <button ref={cancel} type="button" onClick={() => setConfirming(false)}>
              Cancel
            </button>
          </div>
        </div>
      )}
    </form>
  );
}

/** The audit trail: who read, exported or erased which customer's data. */
function AuditTrail({ version }: { version: number }) {
  const { client } = useConsole();
  const [actor, setActor] = useState('');
  const [customer, setCustomer] = useState('');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [records, setRecords] = useState<AuditRecord[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = useCallback(
    async (after: string | null, filters: Record<string, string>) => {
      const query: Record<string, string | number> = { limit: 50 };
      for (const [k, v] of Object.entries(filters)) if (v.trim()) query[k] = v.trim();
      if (after) query.cursor = after;
      const {
        data,
        error: failure,
        response,
      } = await client.GET('/admin/audit', {
        params: { query },
      });
      if (!response.ok || !data) {
        const e = (failure as { error?: { message?: string } } | undefined)?.error;
        setError(e?.message ?? `HTTP ${response.status}`);
        return;
      }
      setError(null);
      setRecords((before) => (after ? [...before, ...data.items] : data.items));
      setCursor(data.next_cursor);
    },
    [client],
  );
  const [filters, setFilters] = useState<Record<string, string>>({});
  useEffect(() => {
    void load(null, filters).catch((e: unknown) => setError(String(e)));
  }, [load, filters, version]);
  return (
    <section aria-labelledby="audit-title">
      <h2 id="audit-title">Audit trail</h2>
      <form
        className="filters"
        aria-label="Audit filters"
        onSubmit={(e) => {
          e.preventDefault();
          setFilters({ actor, customer, from, to });
        }}
      >
        <label>
          Who
          <input value={actor} onChange={(e) => setActor(e.target.value)} />
        </label>
        <label>
          Customer's WhatsApp id
          <input value={customer} onChange={(e) => setCustomer(e.target.value)} />
        </label>
        <label>
          From
          <input type="date" value={from} onChange={(e) => setFrom(e.target.value)} />
        </label>
        <label>
          To
          <input type="date" value={to} onChange={(e) => setTo(e.target.value)} />
        </label>
        <button type="submit">Show</button>
      </form>
      <ErrorAlert error={error} />
      <table className="grid" aria-label="Audit records">
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Who</th>
            <th scope="col">Role</th>
            <th scope="col">What</th>
            <th scope="col">Customer</th>
            <th scope="col">Route</th>
          </tr>
        </thead>
        <tbody>
          {records.map((r) => (
            <tr key={r.id}>
              <td>{new Date(r.at).toLocaleString()}</td>
              <td>{r.actor}</td>
              <td>{r.role}</td>
              <td>{r.action.replaceAll('_', ' ')}</td>
              <td>{r.customer ?? ''}</td>
              <td>{r.route}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {cursor && (
        <button type="button" onClick={() => void load(cursor, filters)}>
          More records
        </button>
      )}
    </section>
  );
}

export function AdminPage() {
  const [version, setVersion] = useState(0);
  const [auditVersion, setAuditVersion] = useState(0);
  return (
    <div className="admin">
      <h1>Admin</h1>
      <Directory version={version} />
      <p className="muted">Saving replaces the item with the same id.</p>
      <div className="admin-grid">
        <AgentForm onSaved={() => setVersion((v) => v + 1)} />
        <QueueForm />
        <ChannelForm />
        <ReasonsForm />
        <EraseCustomer onDone={() => setAuditVersion((v) => v + 1)} />
      </div>
      <AuditTrail version={auditVersion} />
    </div>
  );
}
