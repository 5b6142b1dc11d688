import { describe, expect, it } from 'vitest';
import {
  formatCountdown,
  formatDuration,
  secondsSince,
  secondsUntil,
  ServerClock,
  windowTimeLeft,
} from './time';

const T0 = Date.parse('2026-01-01T10:00:00Z');

describe('countdowns', () => {
  it('counts whole seconds down to a deadline and stops at zero', () => {
    expect(secondsUntil('2026-01-01T10:00:30Z', T0)).toBe(30);
    expect(secondsUntil('2026-01-01T10:00:30Z', T0 + 29_500)).toBe(0);
    expect(secondsUntil('2026-01-01T09:00:00Z', T0)).toBe(0);
  });
  it('has no countdown without a deadline', () => {
    expect(secondsUntil(null, T0)).toBeNull();
    expect(secondsUntil('not a time', T0)).toBeNull();
  });
  it('counts the time since an instant', () => {
    expect(secondsSince('2026-01-01T09:59:15Z', T0)).toBe(45);
    expect(secondsSince('2026-01-01T10:00:15Z', T0)).toBe(0);
  });
  it.each([
    [0, '0:00'],
    [27, '0:27'],
    [65, '1:05'],
    [-3, '0:00'],
  ])('formats %i s as %s', (s, text) => expect(formatCountdown(s)).toBe(text));
});

describe('durations', () => {
  it.each([
    [45, '45 s'],
    [185, '3 min 05 s'],
    [7620, '2 h 07 min'],
    [86_399, '23 h 59 min'],
    [97_200, '1 d 3 h'],
  ])('formats %i s as %s', (s, text) => expect(formatDuration(s)).toBe(text));
});

describe('window time left', () => {
  it('shows the time left in the customer window', () => {
    expect(windowTimeLeft('2026-01-02T09:59:00Z', T0)).toBe('23 h 59 min left in window');
  });
  it('says closed once the expiry has passed', () => {
    expect(windowTimeLeft('2026-01-01T09:00:00Z', T0)).toBe('Window closed');
  });
  it('says when there is no window', () => {
    expect(windowTimeLeft(null, T0)).toBe('No window');
  });
});

describe('server clock', () => {
  it('follows the server Date header when the server clock is ahead', () => {
    let local = T0;
    const clock = new ServerClock(() => local);
    clock.observe(new Date(T0 + 86_401_000).toUTCString());
    expect(clock.now()).toBe(T0 + 86_401_000);
    local += 5000;
    expect(clock.now()).toBe(T0 + 86_406_000);
  });
  it('ignores sub-second jitter from whole-second headers and unreadable headers', () => {
    const clock = new ServerClock(() => T0 + 900);
    clock.observe(new Date(T0).toUTCString());
    clock.observe('garbage');
    clock.observe(null);
    expect(clock.offset).toBe(0);
  });
  it('takes a clock route reading at the midpoint of its round trip', () => {
    const clock = new ServerClock(() => T0 + 100);
    clock.set(new Date(T0 + 3_600_000).toISOString(), T0, T0 + 100);
    expect(clock.now()).toBe(T0 + 3_600_000 + 50);
  });
});
