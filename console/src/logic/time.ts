// Time display helpers. They format what the API states (deadlines, expiries);
// they never decide a rule (whether a reopen is allowed is the API's `can_reopen`).

/** Whole seconds from `nowMs` until `iso`, never below zero; null without a deadline. */
export function secondsUntil(iso: string | null | undefined, nowMs: number): number | null {
  if (!iso) return null;
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return null;
  return Math.max(0, Math.floor((at - nowMs) / 1000));
}

/** Whole seconds from `iso` until `nowMs`, never below zero. */
export function secondsSince(iso: string, nowMs: number): number {
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return 0;
  return Math.max(0, Math.floor((nowMs - at) / 1000));
}

const pad = (n: number) => String(n).padStart(2, '0');

/** A short duration: "45 s", "3 min 05 s", "2 h 07 min", "1 d 3 h". */
export function formatDuration(totalSeconds: number): string {
  const s = Math.max(0, Math.floor(totalSeconds));
  if (s < 60) return `${s} s`;
  const minutes = Math.floor(s / 60);
  if (minutes < 60) return `${minutes} min ${pad(s % 60)} s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours} h ${pad(minutes % 60)} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

/** The countdown an offer dialog shows: "0:27", "1:05". */
export function formatCountdown(totalSeconds: number): string {
  const s = Math.max(0, Math.floor(totalSeconds));
  return `${Math.floor(s / 60)}:${pad(s % 60)}`;
}

/** What an archive row says of the customer's 24-hour window. */
export function windowTimeLeft(expiresAt: string | null | undefined, nowMs: number): string {
  const left = secondsUntil(expiresAt, nowMs);
  if (left === null) return 'No window';
  if (left === 0) return 'Window closed';
  return `${formatDuration(left)} left in window`;
}

/**
 * The server's clock as the console estimates it. The API's answers carry a
 * `Date` header from the server's clock (which the local runner can move
 * forward); live times are computed against it, not against the browser's.
 */
export class ServerClock {
  private offsetMs = 0;
  constructor(private readonly localNow: () => number = () => Date.now()) {}

  /** Feeds one `Date` header (whole seconds); ignores unreadable ones. */
  observe(dateHeader: string | null | undefined): void {
    if (!dateHeader) return;
    const server = Date.parse(dateHeader);
    if (Number.isNaN(server)) return;
    const offset = server - this.localNow();
    // The header has whole seconds: only move for differences it can show.
    if (Math.abs(offset - this.offsetMs) >= 1500) this.offsetMs = offset;
  }

  /**
   * Feeds the server's time read from a clock route, bracketed by when the
   * request left and its answer came back (the midpoint is the best guess).
   */
  set(serverIso: string, sentAt: number, receivedAt: number): void {
    const server = Date.parse(serverIso);
    if (Number.isNaN(server)) return;
    this.offsetMs = server - (sentAt + receivedAt) / 2;
  }

  now(): number {
    return this.localNow() + this.offsetMs;
  }

  get offset(): number {
    return this.offsetMs;
  }
}
