import { describe, expect, it } from 'vitest';
import type { DayFigures } from '../api/client';
import { dayColumns, formatSeconds, utcDate, zonedDate } from './figures';

const day = (date: string, finished: number, avg: number | null): DayFigures => ({
  date,
  from: `${date}T00:00:00Z`,
  to: `${date}T23:59:59Z`,
  agent_initiated: 0,
  user_replied: 0,
  declined: 0,
  finished,
  active: null,
  answered: null,
  avg_response_seconds: avg,
  avg_handling_seconds: null,
  window_expiries: 0,
  opt_outs: 0,
  rona: 0,
});

describe('dashboard figures', () => {
  it('turns days into chart columns, null averages as gaps', () => {
    const cols = dayColumns(
      [day('2026-01-01', 2, 30), day('2026-01-02', 0, null)],
      ['finished', 'avg_response_seconds'],
    );
    expect(cols[0]).toEqual([1767225600, 1767312000]);
    expect(cols[1]).toEqual([2, 0]);
    expect(cols[2]).toEqual([30, null]);
  });
  it('formats means, no samples as a dash', () => {
    expect(formatSeconds(null)).toBe('—');
    expect(formatSeconds(42.4)).toBe('42 s');
    expect(formatSeconds(125)).toBe('2 min 05 s');
  });
  it('names UTC days', () => {
    expect(utcDate(Date.parse('2026-03-10T23:30:00Z'), -6)).toBe('2026-03-04');
  });
  it("names a zone's days: 23:30 UTC is already tomorrow in Madrid", () => {
    const t = Date.parse('2026-03-10T23:30:00Z');
    expect(zonedDate(t, 'Europe/Madrid')).toBe('2026-03-11');
    expect(zonedDate(t, 'UTC')).toBe('2026-03-10');
    expect(zonedDate(t, 'America/New_York', -1)).toBe('2026-03-09');
  });
});
