import { describe, expect, it } from 'vitest';
import {
  backoffDelay,
  KEEP_ALIVE_FRAME,
  LiveConnection,
  liveSocketUrl,
  parseHint,
  type LiveMode,
} from './live';

describe('reconnect backoff', () => {
  const noJitter = { random: () => 1 };
  it('doubles from half a second', () => {
    expect([0, 1, 2, 3].map((a) => backoffDelay(a, noJitter))).toEqual([500, 1000, 2000, 4000]);
  });
  it('is capped at 10 s however many attempts failed', () => {
    expect(backoffDelay(5, noJitter)).toBe(10_000);
    expect(backoffDelay(1000, noJitter)).toBe(10_000);
  });
  it('jitters between half and all of the delay', () => {
    expect(backoffDelay(3, { random: () => 0 })).toBe(2000);
    for (let i = 0; i < 50; i++) {
      const d = backoffDelay(4);
      expect(d).toBeGreaterThanOrEqual(4000);
      expect(d).toBeLessThanOrEqual(8000);
    }
  });
});

describe('hints', () => {
  it('reads a hint frame', () => {
    expect(
      parseHint(
        '{"type":"OfferMade","conversation_id":"c1","agent":"ana","at":"2026-01-01T00:00:00Z"}',
      ),
    ).toEqual({
      type: 'OfferMade',
      conversation_id: 'c1',
      agent: 'ana',
      agents: ['ana'],
      at: '2026-01-01T00:00:00Z',
    });
  });
  it('takes null or missing ids as null', () => {
    expect(parseHint('{"type":"AgentRona"}')).toEqual({
      type: 'AgentRona',
      conversation_id: null,
      agent: null,
      agents: [],
      at: '',
    });
  });
  it('reads every agent a hint names', () => {
    expect(
      parseHint('{"type":"ConversationTransferred","agent":"ana","agents":["ana","bob",3]}')
        ?.agents,
    ).toEqual(['ana', 'bob']);
  });
  it.each(['not json', '[]', '{"no":"type"}', '42'])('ignores %s', (frame) =>
    expect(parseHint(frame)).toBeNull(),
  );
  it('ignores binary frames', () => expect(parseHint(new ArrayBuffer(2))).toBeNull());
});

describe('socket url', () => {
  it('resolves a relative live_url against the page and adds the token', () => {
    expect(liveSocketUrl('/live', 'a.b.c', 'http://127.0.0.1:8080/console/')).toBe(
      'ws://127.0.0.1:8080/live?token=a.b.c',
    );
  });
  it('keeps wss for an absolute https endpoint', () => {
    expect(liveSocketUrl('https://live.example.test/prod', 't', 'https://x.test/console/')).toBe(
      'wss://live.example.test/prod?token=t',
    );
  });
});

class FakeSocket {
  static all: FakeSocket[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((e: { data: unknown }) => void) | null = null;
  onclose: (() => void) | null = null;
  onerror: (() => void) | null = null;
  closed = false;
  sent: string[] = [];
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  close() {
    this.closed = true;
  }
  send(data: string) {
    this.sent.push(data);
  }
}

function harness() {
  FakeSocket.all = [];
  const timers: { fn: () => void; ms: number }[] = [];
  const modes: LiveMode[] = [];
  const hints: string[] = [];
  let resyncs = 0;
  const repeats = new Map<number, { fn: () => void; ms: number }>();
  let nextRepeat = 0;
  const conn = new LiveConnection({
    url: () => 'ws://x/live?token=t',
    onHint: (h) => hints.push(h.type),
    onResync: () => resyncs++,
    onMode: (m) => modes.push(m),
    backoff: { random: () => 1 },
    WebSocketImpl: FakeSocket as unknown as typeof WebSocket,
    setTimer: (fn, ms) => timers.push({ fn, ms }),
    clearTimer: () => undefined,
    setRepeat: (fn, ms) => {
      repeats.set(++nextRepeat, { fn, ms });
      return nextRepeat;
    },
    clearRepeat: (h) => repeats.delete(h as number),
  });
  return { conn, timers, modes, hints, repeats, resyncs: () => resyncs };
}

describe('live connection', () => {
  it('resyncs on open and passes hints on', () => {
    const h = harness();
    h.conn.start();
    const s = FakeSocket.all[0]!;
    s.onopen!();
    s.onmessage!({ data: '{"type":"MessageReceived","conversation_id":"c"}' });
    expect(h.modes).toEqual(['connecting', 'live']);
    expect(h.resyncs()).toBe(1);
    expect(h.hints).toEqual(['MessageReceived']);
  });
  it('takes a Resync frame for a full resynchronisation', () => {
    const h = harness();
    h.conn.start();
    const s = FakeSocket.all[0]!;
    s.onopen!();
    s.onmessage!({ data: '{"type":"Resync"}' });
    expect(h.resyncs()).toBe(2);
    expect(h.hints).toEqual([]);
  });
  it('falls back to polling, resyncs and reconnects with growing delays when upgrades fail', () => {
    const h = harness();
    h.conn.start();
    for (let i = 0; i < 6; i++) {
      FakeSocket.all[i]!.onclose!();
      h.timers[i]!.fn();
    }
    expect(h.timers.map((t) => t.ms)).toEqual([500, 1000, 2000, 4000, 8000, 10_000]);
    expect(h.modes.at(-1)).toBe('polling');
    expect(h.resyncs()).toBe(6);
  });
  it('starts the backoff again after a socket that opened', () => {
    const h = harness();
    h.conn.start();
    FakeSocket.all[0]!.onclose!();
    h.timers[0]!.fn();
    FakeSocket.all[1]!.onopen!();
    FakeSocket.all[1]!.onclose!();
    expect(h.timers.map((t) => t.ms)).toEqual([500, 500]);
    expect(h.conn.failures).toBe(1);
  });
  it('stops for good', () => {
    const h = harness();
    h.conn.start();
    h.conn.stop();
    expect(FakeSocket.all[0]!.closed).toBe(true);
    expect(h.timers).toHaveLength(0);
  });
  it('keeps an open socket alive with a ping frame every four minutes, and stops when it closes', () => {
    const h = harness();
    h.conn.start();
    const s = FakeSocket.all[0]!;
    expect(h.repeats.size).toBe(0);
    s.onopen!();
    expect([...h.repeats.values()].map((r) => r.ms)).toEqual([240_000]);
    [...h.repeats.values()][0]!.fn();
    expect(s.sent).toEqual([KEEP_ALIVE_FRAME]);
    expect(JSON.parse(KEEP_ALIVE_FRAME)).toEqual({ action: 'ping' });
    s.onclose!();
    expect(h.repeats.size).toBe(0);
  });
});
