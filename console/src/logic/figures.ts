import type { DayFigures, Figures } from '../api/client';

/** A mean in seconds as people read it; `null` (no samples) as a dash. */
export function formatSeconds(v: number | null): string {
  if (v === null) return '—';
  if (v < 60) return `${Math.round(v)} s`;
  const m = Math.floor(v / 60);
  if (m < 60) return `${m} min ${String(Math.round(v % 60)).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

export const COUNTS: [keyof Figures & keyof DayFigures, string][] = [
  ['finished', 'Finished'],
  ['agent_initiated', 'Agent initiated'],
  ['user_replied', 'User replied'],
  ['declined', 'Declined'],
  ['window_expiries', 'Window expiries'],
  ['opt_outs', 'Opt-outs'],
  ['rona', 'RONA'],
];

/** uPlot's columns: x (seconds since the epoch, the day's start) then one series per key. */
export function dayColumns(
  days: DayFigures[],
  keys: (keyof DayFigures)[],
): [number[], ...(number | null)[][]] {
  const x = days.map((d) => Date.parse(d.from) / 1000);
  const series = keys.map((k) =>
    days.map((d) => {
      const v = d[k];
      return typeof v === 'number' ? v : null;
    }),
  );
  return [x, ...series];
}

/** `YYYY-MM-DD` of a day `offset` days from `now` (UTC). */
export function utcDate(now: number, offsetDays = 0): string {
  return new Date(now + offsetDays * 86_400_000).toISOString().slice(0, 10);
}

/** `YYYY-MM-DD` of the day `offset` days from `now` in the IANA zone `tz`. */
export function zonedDate(now: number, tz: string, offsetDays = 0): string {
  return new Intl.DateTimeFormat('en-CA', {
    timeZone: tz,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(new Date(now + offsetDays * 86_400_000));
}

/** The viewer's time zone, as the browser knows it. */
export function viewerZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}
