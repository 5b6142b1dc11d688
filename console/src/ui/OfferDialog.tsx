import { useEffect, useRef, useState } from 'react';
import { ok, type Conversation } from '../api/client';
import { currentOffer } from '../logic/desk';
import { formatCountdown, formatDuration, secondsUntil } from '../logic/time';
import { useConsole } from './context';
import { useNow } from './hooks';
import type { Desk } from './useDesk';
import { announceOffer } from './notify';
import { ErrorAlert } from './ErrorAlert';

/** The deadline the API states for an offer, when it states one. */
function offerDeadline(c: Conversation): string | null {
  const v = (c as unknown as Record<string, unknown>).offer_expires_at;
  return typeof v === 'string' ? v : null;
}

function isTyping(el: Element | null): boolean {
  if (!el) return false;
  if (el instanceof HTMLTextAreaElement) return true;
  if (el instanceof HTMLInputElement)
    return !['button', 'checkbox', 'radio', 'submit', 'reset', 'file'].includes(el.type);
  return (el as HTMLElement).isContentEditable === true;
}

export function OfferDialog(props: {
  desk: Desk;
  offerTimeoutSeconds: number;
  onAccepted: (id: string) => void;
}) {
  const { client, me } = useConsole();
  const { state } = props.desk;
  const offer = currentOffer(state);
  const now = useNow(250);
  const accept = useRef<HTMLButtonElement>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const offerId = offer?.id;

  // Alt+A accepts from anywhere, also while typing in the message box.
  useEffect(() => {
    if (!offerId) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.altKey && !e.ctrlKey && !e.metaKey && e.key.toLowerCase() === 'a') {
        e.preventDefault();
        accept.current?.click();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [offerId]);

  useEffect(() => {
    setError(null);
    if (!offerId) return;
    // Take the focus to "Accept" unless the agent is typing somewhere: a
    // keystroke meant for the message box must not accept a chat.
    if (!isTyping(document.activeElement)) accept.current?.focus();
    if (offer)
      announceOffer(
        offer.customer.name ?? `+${offer.customer.wa_id}`,
        offer.queue_name ?? offer.queue,
      );
    // Announce once per offer, not on every refetch of it.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [offerId]);

  // Present before any offer, so that a screen reader announces its text change.
  const announcement = (
    <p className="sr-only" aria-live="assertive">
      {offer ? `Incoming chat from ${offer.customer.name ?? `+${offer.customer.wa_id}`}` : ''}
    </p>
  );
  if (!offer) return announcement;
  const conference = offer.invited === me.id && offer.offered_to !== me.id;
  const seen = state.offerSeenAt[offer.id] ?? now;
  const left =
    secondsUntil(offerDeadline(offer), now) ??
    Math.max(0, props.offerTimeoutSeconds - Math.floor((now - seen) / 1000));
  const waiting =
    offer.waiting_seconds === null
      ? null
      : offer.waiting_seconds + Math.max(0, Math.floor((now - state.listsAt) / 1000));

  const onAccept = async () => {
    setBusy(true);
    setError(null);
    try {
      const path = conference
        ? '/conversations/{id}/conference/accept'
        : '/conversations/{id}/accept';
      const c = await ok(client.POST(path, { params: { path: { id: offer.id } } }));
      props.desk.apply(c);
      props.onAccepted(offer.id);
      await props.desk.refresh();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
      await props.desk.refresh().catch(() => undefined);
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      {announcement}
      <div
        className="offer"
        role="dialog"
        aria-labelledby="offer-title"
        aria-describedby="offer-details"
      >
        <h2 id="offer-title">Incoming chat</h2>
        <dl id="offer-details" className="facts">
          {conference && (
            <>
              <dt>Conference</dt>
              <dd>invited by {offer.owner ?? 'the owner'}</dd>
            </>
          )}
          <dt>Customer</dt>
          <dd>{offer.customer.name ?? 'Unknown'}</dd>
          <dt>Phone</dt>
          <dd>+{offer.customer.wa_id}</dd>
          <dt>Source number</dt>
          <dd>{offer.channel.display_phone_number}</dd>
          <dt>Queue</dt>
          <dd>{offer.queue_name ?? offer.queue}</dd>
          {waiting !== null && (
            <>
              <dt>Waiting</dt>
              <dd>{formatDuration(waiting)}</dd>
            </>
          )}
          <dt>Time to accept</dt>
          <dd>
            <span className="countdown" aria-label={`${left} seconds to accept`}>
              {formatCountdown(left)}
            </span>
          </dd>
        </dl>
        <button
          ref={accept}
          type="button"
          className="primary"
          disabled={busy}
          onClick={onAccept}
          aria-keyshortcuts="Alt+A"
          title="Alt+A"
        >
          Accept
        </button>
        <ErrorAlert error={error} />
      </div>
    </>
  );
}
