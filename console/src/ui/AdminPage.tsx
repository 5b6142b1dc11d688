import { useCallback, useEffect, useState, type FormEvent, type ReactNode } from 'react';
import { ApiError, ok, type Agent } from '../api/client';
import { fieldForError } from '../logic/fieldErrors';
import { useConsole } from './context';

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
      {errors.form && (
        <p role="alert" className="error">
          {errors.form}
        </p>
      )}
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
  const { errors, saved, save } = useSave(
    ['display_phone_number', 'default_queue', 'reopen_message', 'push_template', 'id'],
    { default_queue: /no queue/i, id: ID_HINT },
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
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
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

export function AdminPage() {
  const [version, setVersion] = useState(0);
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
      </div>
    </div>
  );
}
