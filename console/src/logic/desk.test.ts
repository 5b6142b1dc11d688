import { describe, expect, it } from 'vitest';
import type { Conversation } from '../api/client';
import { currentOffer, deliveryTicks, deskReducer, initialDesk, refetchFor } from './desk';

function conv(id: string, patch: Partial<Conversation> = {}): Conversation {
  return {
    id,
    status: 'unanswered',
    customer: { wa_id: '34600111222', name: 'Ana' },
    channel: { phone_number_id: '1', display_phone_number: '+34 900' },
    queue: 'default',
    queue_name: 'Default',
    owner: null,
    participants: [],
    origin: 'customer',
    reopened_by: null,
    created_at: '2026-01-01T00:00:00Z',
    window_expires_at: null,
    can_reopen: false,
    can_push: false,
    done: false,
    wrap_up_reason: null,
    offered_to: 'ana',
    invited: null,
    pending_wrap_up: [],
    waiting_seconds: 3,
    answered: false,
    ...patch,
  } as Conversation;
}

describe('desk reducer', () => {
  it('remembers when each offer was first seen, and forgets gone ones', () => {
    let s = deskReducer(initialDesk, { type: 'lists', lists: { offered: [conv('a')] }, at: 1000 });
    s = deskReducer(s, { type: 'lists', lists: { offered: [conv('a'), conv('b')] }, at: 2000 });
    expect(s.offerSeenAt).toEqual({ a: 1000, b: 2000 });
    s = deskReducer(s, { type: 'lists', lists: { offered: [conv('b')] }, at: 3000 });
    expect(s.offerSeenAt).toEqual({ b: 2000 });
    expect(currentOffer(s)?.id).toBe('b');
  });
  it('shows the oldest offer first', () => {
    let s = deskReducer(initialDesk, { type: 'lists', lists: { offered: [conv('x')] }, at: 5 });
    s = deskReducer(s, { type: 'lists', lists: { offered: [conv('y'), conv('x')] }, at: 9 });
    expect(currentOffer(s)?.id).toBe('x');
  });
  it('keeps other lists when one list is loaded', () => {
    let s = deskReducer(initialDesk, { type: 'lists', lists: { archive: [conv('z')] }, at: 1 });
    s = deskReducer(s, { type: 'lists', lists: { active: [conv('q')] }, at: 2 });
    expect(s.lists.archive.map((c) => c.id)).toEqual(['z']);
    expect(s.lists.active.map((c) => c.id)).toEqual(['q']);
  });
  it('ignores answers for a conversation that is no longer open', () => {
    let s = deskReducer(initialDesk, { type: 'open', id: 'a' });
    s = deskReducer(s, { type: 'open', id: 'b' });
    s = deskReducer(s, { type: 'conversation', conversation: conv('a') });
    s = deskReducer(s, { type: 'messages', id: 'a', messages: [] });
    expect(s.conversation).toBeNull();
    s = deskReducer(s, { type: 'conversation', conversation: conv('b') });
    expect(s.conversation?.id).toBe('b');
  });
  it('refreshes the open conversation from a fresher list copy', () => {
    let s = deskReducer(initialDesk, { type: 'open', id: 'a' });
    s = deskReducer(s, { type: 'conversation', conversation: conv('a', { can_reopen: true }) });
    s = deskReducer(s, {
      type: 'lists',
      lists: { archive: [conv('a', { can_reopen: false, can_push: true })] },
      at: 1,
    });
    expect(s.conversation?.can_push).toBe(true);
  });
  it('closes a conversation the caller may no longer see', () => {
    let s = deskReducer(initialDesk, { type: 'open', id: 'a' });
    s = deskReducer(s, { type: 'gone', id: 'a' });
    expect(s.openId).toBeNull();
  });
});

describe('live hints', () => {
  const hint = (type: string, conversation_id: string | null) => ({
    type,
    conversation_id,
    agent: null,
    agents: [],
    at: '',
  });
  it('refetch the open conversation only when it is named', () => {
    expect(refetchFor(hint('MessageReceived', 'a'), 'a', 'ana')).toEqual({
      lists: true,
      open: true,
      me: false,
    });
    expect(refetchFor(hint('MessageReceived', 'b'), 'a', 'ana').open).toBe(false);
  });
  it('refetch the agent on RONA and on offers', () => {
    expect(refetchFor(hint('AgentRona', null), null, 'ana').me).toBe(true);
    expect(refetchFor(hint('OfferTimedOut', 'c'), null, 'ana').me).toBe(true);
  });
  it('refetch the agent when a hint names them', () => {
    expect(
      refetchFor({ ...hint('ConversationTransferred', 'c'), agents: ['bob', 'ana'] }, null, 'ana')
        .me,
    ).toBe(true);
    expect(refetchFor({ ...hint('MessageReceived', 'c'), agent: 'bob' }, null, 'ana').me).toBe(
      false,
    );
  });
});

describe('delivery ticks', () => {
  it.each([
    ['sent', '✓', 'Sent'],
    ['delivered', '✓✓', 'Delivered'],
    ['read', '✓✓', 'Read'],
    ['failed', '⚠', 'Failed'],
    ['unknown', '?', 'Not confirmed: WhatsApp may not have it; not resent'],
  ] as const)('%s shows %s', (status, symbol, label) =>
    expect(deliveryTicks(status)).toEqual({ symbol, label }),
  );
  it('inbound messages have none', () => expect(deliveryTicks(null)).toBeNull());
});
