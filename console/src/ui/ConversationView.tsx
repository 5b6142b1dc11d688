import { useEffect, useRef, useState, type FormEvent, type ReactNode } from 'react';
import {
  ApiError,
  fetchMedia,
  ok,
  sendAttachment,
  type Conversation,
  type Message,
} from '../api/client';
import {
  attachmentBlocker,
  counterLabel,
  charCount,
  MAX_MESSAGE_CHARS,
  sendBlocker,
} from '../logic/compose';
import { deliveryTicks } from '../logic/desk';
import { mediaLabel, mediaProblem, mediaShape } from '../logic/media';
import { windowTimeLeft } from '../logic/time';
import { useConsole } from './context';
import { useNow } from './hooks';
import type { Desk } from './useDesk';
import { useArchiveActions } from './DeskPage';
import { HistorySearch } from './HistorySearch';
import { NoteForm } from './NoteForm';
import { ErrorAlert } from './ErrorAlert';

function errorText(e: unknown): string {
  if (e instanceof ApiError && e.code === 'window_closed')
    return `Template required: the customer's 24-hour window is closed (WhatsApp 131047), so only the utility template can reach them. ${e.message}`;
  return e instanceof ApiError || e instanceof Error ? e.message : String(e);
}

export function ConversationView({ desk }: { desk: Desk }) {
  const { me } = useConsole();
  const { conversation: c, messages } = desk.state;
  if (!c) return <p className="muted">Loading the conversation…</p>;
  const mine = c.owner === me.id || c.participants.includes(me.id);
  const owesWrapUp =
    (c.status === 'wrap_up' && c.owner === me.id) || c.pending_wrap_up.includes(me.id);
  const supervisor = me.role === 'supervisor' || me.role === 'admin';
  return (
    <article className="conversation" aria-labelledby="conv-title">
      <ConversationHeader c={c} />
      <Transcript messages={messages} />
      {c.can_push && (
        <p className="banner" role="note">
          The customer&apos;s 24-hour window is closed: WhatsApp only accepts a template now.
        </p>
      )}
      {(mine || c.status === 'unanswered') && c.status !== 'wrap_up' && c.status !== 'finished' && (
        <Compose key={c.id} desk={desk} c={c} />
      )}
      <Actions desk={desk} c={c} />
      {supervisor && <NoteForm conversationId={c.id} onAdded={desk.refreshOpen} />}
      <HistorySearch waId={c.customer.wa_id} currentId={c.id} />
      {owesWrapUp && <WrapUpDialog desk={desk} c={c} />}
    </article>
  );
}

function ConversationHeader({ c }: { c: Conversation }) {
  const now = useNow();
  return (
    <header className="conv-header">
      <h2 id="conv-title">{c.customer.name ?? `+${c.customer.wa_id}`}</h2>
      <dl className="facts inline">
        <Fact term="Phone">+{c.customer.wa_id}</Fact>
        <Fact term="Source number">{c.channel.display_phone_number}</Fact>
        <Fact term="Queue">{c.queue_name ?? c.queue}</Fact>
        <Fact term="Status">
          <span className={`badge badge-${c.status}`}>{c.status.replace('_', ' ')}</span>
        </Fact>
        {c.owner && <Fact term="Owner">{c.owner}</Fact>}
        {c.participants.length > 1 && <Fact term="Conference">{c.participants.join(', ')}</Fact>}
        <Fact term="Window">{windowTimeLeft(c.window_expires_at, now)}</Fact>
      </dl>
    </header>
  );
}

function Fact({ term, children }: { term: string; children: ReactNode }) {
  return (
    <div className="fact">
      <dt>{term}</dt>
      <dd>{children}</dd>
    </div>
  );
}

function Transcript({ messages }: { messages: Message[] }) {
  const end = useRef<HTMLLIElement>(null);
  useEffect(() => {
    // Braces: some browsers' scrollIntoView returns a promise, which React
    // would take for a cleanup function.
    void end.current?.scrollIntoView?.({ block: 'nearest' });
  }, [messages.length]);
  return (
    <div className="transcript" role="log" aria-label="Transcript" tabIndex={0}>
      <ol>
        {messages.map((m) => (
          <MessageItem key={m.id} m={m} />
        ))}
        <li ref={end} aria-hidden="true" className="end" />
      </ol>
    </div>
  );
}

function MessageItem({ m }: { m: Message }) {
  const ticks = m.direction === 'outbound' ? deliveryTicks(m.status) : null;
  const who =
    m.direction === 'inbound'
      ? 'Customer'
      : m.direction === 'system'
        ? 'System'
        : m.direction === 'note'
          ? `Internal note by ${m.author ?? 'a supervisor'}`
          : (m.author ?? 'Agent');
  return (
    <li className={`msg msg-${m.direction}`}>
      <span className="msg-who">{who}</span>
      {m.template && (
        <span className="msg-template">
          Template {m.template.name} ({m.template.language})
        </span>
      )}
      {m.media_url ? (
        <MessageMedia m={m} url={m.media_url} />
      ) : (
        m.attachment && (
          <span className="msg-attachment">
            📎{' '}
            {m.attachment.url ? (
              <a href={m.attachment.url} target="_blank" rel="noreferrer">
                {m.attachment.filename ?? m.type}
              </a>
            ) : (
              <span>
                {m.attachment.filename ?? `${m.type} (${m.attachment.mime_type ?? 'media'})`}
              </span>
            )}
          </span>
        )
      )}
      {m.text !== null && <span className="msg-text">{m.text}</span>}
      {m.location && (
        <span className="msg-location">
          📍 {[m.location.name, m.location.address].filter(Boolean).join(', ') || 'Location'} (
          {m.location.latitude.toFixed(5)}, {m.location.longitude.toFixed(5)})
        </span>
      )}
      {m.contacts?.map((card, i) => (
        <span key={i} className="msg-contact">
          👤 {card.name}
          {card.organization ? ` · ${card.organization}` : ''}
          {card.phones?.length ? ` · ${card.phones.join(', ')}` : ''}
          {card.emails?.length ? ` · ${card.emails.join(', ')}` : ''}
        </span>
      ))}
      <span className="msg-meta">
        <time dateTime={m.at}>{new Date(m.at).toLocaleTimeString()}</time>
        {ticks && (
          <span
            className={`ticks ticks-${m.status}`}
            role="img"
            aria-label={ticks.label}
            title={ticks.label}
          >
            {ticks.symbol}
          </span>
        )}
      </span>
    </li>
  );
}

/**
 * A message's file, read with the agent's token: an image as a preview, any
 * other file as a download link; the object URL is revoked when the message
 * leaves the page.
 */
function MessageMedia({ m, url }: { m: Message; url: string }) {
  const { client } = useConsole();
  const [file, setFile] = useState<{ href: string; type: string } | { problem: string } | null>(
    null,
  );
  useEffect(() => {
    const abort = new AbortController();
    let href: string | undefined;
    fetchMedia(client, url, abort.signal).then(
      (blob) => {
        if (abort.signal.aborted) return;
        href = URL.createObjectURL(blob);
        setFile({ href, type: blob.type });
      },
      (e: unknown) => {
        if (!abort.signal.aborted) setFile({ problem: mediaProblem(e) });
      },
    );
    return () => {
      abort.abort();
      if (href) URL.revokeObjectURL(href);
    };
  }, [client, url]);
  const label = mediaLabel(m);
  if (file === null) return <span className="msg-attachment muted">📎 {label}: loading…</span>;
  if ('problem' in file)
    return (
      <span className="msg-attachment muted">
        📎 {label}: {file.problem}
      </span>
    );
  if (mediaShape(file.type) === 'preview')
    return <img className="msg-image" src={file.href} alt={label} />;
  return (
    <span className="msg-attachment">
      📎{' '}
      <a href={file.href} download={m.attachment?.filename ?? ''}>
        {label}
      </a>
    </span>
  );
}

/** Unsent text per conversation, for this browser tab. */
const drafts = new Map<string, string>();

function Compose({ desk, c }: { desk: Desk; c: Conversation }) {
  const { client } = useConsole();
  // A draft belongs to its conversation: switching chats keeps each one's.
  const [text, setTextState] = useState(() => drafts.get(c.id) ?? '');
  const setText = (value: string) => {
    if (value) drafts.set(c.id, value);
    else drafts.delete(c.id);
    setTextState(value);
  };
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const over = charCount(text) > MAX_MESSAGE_CHARS;
  const fileInput = useRef<HTMLInputElement>(null);
  const attach = async (file: File | undefined) => {
    if (!file) return;
    const blocker = attachmentBlocker(file.name, file.size);
    setError(blocker);
    if (blocker) return;
    setBusy(true);
    try {
      await sendAttachment(client, c.id, file, text.trim());
      setText('');
      await desk.refresh();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
      if (fileInput.current) fileInput.current.value = '';
    }
  };
  const send = async (e: FormEvent) => {
    e.preventDefault();
    const blocker = sendBlocker(text);
    if (blocker) {
      setError(blocker);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await ok(
        client.POST('/conversations/{id}/messages', {
          params: { path: { id: c.id } },
          body: { text },
        }),
      );
      setText('');
      await desk.refresh();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="compose" onSubmit={send}>
      <label htmlFor="compose-text" className="sr-only">
        Message
      </label>
      <textarea
        id="compose-text"
        value={text}
        rows={3}
        aria-describedby="compose-counter"
        aria-invalid={over}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) void send(e);
        }}
      />
      <div className="compose-bar">
        <span id="compose-counter" className={over ? 'counter over' : 'counter'}>
          {counterLabel(text)}
        </span>
        <label className="attach">
          Attach file
          <input
            ref={fileInput}
            type="file"
            accept=".png,.jpg,.jpeg,.gif,.mov,.m4v,.mp4,.odt,.ppt,.txt,.doc,.pdf"
            disabled={busy}
            onChange={(e) => void attach(e.target.files?.[0])}
          />
        </label>
        <button type="submit" className="primary" disabled={busy || over}>
          Send
        </button>
      </div>
      <ErrorAlert error={error} />
    </form>
  );
}

function Actions({ desk, c }: { desk: Desk; c: Conversation }) {
  const { client, me } = useConsole();
  const archive = useArchiveActions(desk);
  const [error, setError] = useState<string | null>(null);
  const [panel, setPanel] = useState<'transfer' | 'invite' | null>(null);
  const owner = c.owner === me.id;
  const guest = !owner && c.participants.includes(me.id);

  const act = async (fn: () => Promise<Conversation>) => {
    setError(null);
    try {
      desk.apply(await fn());
      setPanel(null);
    } catch (e) {
      setError(errorText(e));
    } finally {
      await desk.refresh().catch(() => undefined);
    }
  };
  const p = { params: { path: { id: c.id } } };
  return (
    <div className="actions-bar">
      {owner && c.status === 'active' && (
        <>
          <button
            type="button"
            onClick={() => void act(() => ok(client.POST('/conversations/{id}/end', p)))}
          >
            End
          </button>
          <button
            type="button"
            aria-expanded={panel === 'transfer'}
            onClick={() => setPanel(panel === 'transfer' ? null : 'transfer')}
          >
            Transfer
          </button>
          <button
            type="button"
            aria-expanded={panel === 'invite'}
            onClick={() => setPanel(panel === 'invite' ? null : 'invite')}
          >
            Invite to conference
          </button>
          {c.participants.length > 1 && (
            <button
              type="button"
              onClick={() =>
                void act(() => ok(client.POST('/conversations/{id}/conference/end', p)))
              }
            >
              End conference
            </button>
          )}
        </>
      )}
      {guest && c.status === 'active' && (
        <button
          type="button"
          onClick={() => void act(() => ok(client.POST('/conversations/{id}/conference/exit', p)))}
        >
          Exit conference
        </button>
      )}
      {(c.status === 'finished' || c.can_reopen || c.can_push) && (
        <>
          <button
            type="button"
            disabled={!c.can_reopen}
            onClick={() => void archive.run(c.id, 'reopen')}
          >
            Reopen
          </button>
          <button
            type="button"
            disabled={!c.can_push}
            onClick={() => void archive.run(c.id, 'push')}
          >
            Send template
          </button>
          {c.status === 'finished' && !c.done && (
            <button type="button" onClick={() => void archive.run(c.id, 'done')}>
              Mark done
            </button>
          )}
        </>
      )}
      {panel === 'transfer' && (
        <TargetForm
          title="Transfer to"
          allowQueue
          submit="Transfer chat"
          onSubmit={(target) =>
            act(() => ok(client.POST('/conversations/{id}/transfer', { ...p, body: target })))
          }
        />
      )}
      {panel === 'invite' && (
        <TargetForm
          title="Invite an agent"
          submit="Send invitation"
          onSubmit={(target) =>
            act(() =>
              ok(
                client.POST('/conversations/{id}/conference', {
                  ...p,
                  body: { agent: 'agent' in target ? target.agent : '' },
                }),
              ),
            )
          }
        />
      )}
      {(error || archive.error) && (
        <p role="alert" className="error">
          {error ?? archive.error?.text}
        </p>
      )}
    </div>
  );
}

function TargetForm(props: {
  title: string;
  submit: string;
  allowQueue?: boolean;
  onSubmit: (target: { agent: string } | { queue: string }) => Promise<void>;
}) {
  const [kind, setKind] = useState<'agent' | 'queue'>('agent');
  const [id, setId] = useState('');
  return (
    <form
      className="target-form"
      aria-label={props.title}
      onSubmit={(e) => {
        e.preventDefault();
        void props.onSubmit(kind === 'agent' ? { agent: id.trim() } : { queue: id.trim() });
      }}
    >
      {props.allowQueue && (
        <fieldset>
          <legend>{props.title}</legend>
          <label>
            <input
              type="radio"
              name="target-kind"
              checked={kind === 'agent'}
              onChange={() => setKind('agent')}
            />{' '}
            Agent
          </label>
          <label>
            <input
              type="radio"
              name="target-kind"
              checked={kind === 'queue'}
              onChange={() => setKind('queue')}
            />{' '}
            Queue
          </label>
        </fieldset>
      )}
      <label>
        {kind === 'agent' ? 'Agent id' : 'Queue id'}
        <input value={id} onChange={(e) => setId(e.target.value)} required autoFocus />
      </label>
      <button type="submit">{props.submit}</button>
    </form>
  );
}

function WrapUpDialog({ desk, c }: { desk: Desk; c: Conversation }) {
  const { client } = useConsole();
  const [reasons, setReasons] = useState<string[] | null | undefined>(undefined);
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string | null>(null);
  const first = useRef<HTMLInputElement>(null);
  useEffect(() => {
    ok(client.GET('/wrap-up-reasons'))
      .then((body) => setReasons(body.reasons))
      .catch(() => setReasons(null));
  }, [client]);
  useEffect(() => {
    first.current?.focus();
  }, [reasons]);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      desk.apply(
        await ok(
          client.POST('/conversations/{id}/wrap-up', {
            params: { path: { id: c.id } },
            body: { reason },
          }),
        ),
      );
    } catch (err) {
      setError(errorText(err));
    } finally {
      await desk.refresh().catch(() => undefined);
    }
  };
  return (
    <div className="modal-backdrop">
      <form
        className="card dialog"
        role="dialog"
        aria-modal="true"
        aria-labelledby="wrapup-title"
        onSubmit={submit}
      >
        <h2 id="wrapup-title">Wrap up</h2>
        <p>Chat with {c.customer.name ?? `+${c.customer.wa_id}`}: how did it end?</p>
        {reasons === undefined && <p>Loading the reasons…</p>}
        {reasons && (
          <fieldset>
            <legend>Reason</legend>
            {reasons.map((r, i) => (
              <label key={r} className="radio">
                <input
                  ref={i === 0 ? first : undefined}
                  type="radio"
                  name="wrap-up-reason"
                  value={r}
                  checked={reason === r}
                  onChange={() => setReason(r)}
                />
                {r}
              </label>
            ))}
          </fieldset>
        )}
        {reasons === null && (
          <label>
            Reason
            <input
              ref={first}
              value={reason}
              onChange={(e) => setReason(e.target.value)}
              required
            />
          </label>
        )}
        <button type="submit" className="primary" disabled={!reason}>
          Wrap up
        </button>
        <ErrorAlert error={error} />
      </form>
    </div>
  );
}
