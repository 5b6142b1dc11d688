// The agent desk's client state: what the API last said for each list and for
// the open conversation. Everything here comes from the API; the reducer only
// keeps it, and remembers when an offer was first seen (for a countdown when
// the API gives no deadline).
import type { Conversation, Message, View } from '../api/client';
import type { LiveHint } from '../live';

export type ListView = View;

export interface DeskState {
  lists: Record<ListView, Conversation[]>;
  loaded: boolean;
  openId: string | null;
  conversation: Conversation | null;
  messages: Message[];
  /** When each current offer was first seen by this console (ms since epoch). */
  offerSeenAt: Record<string, number>;
  /** When the lists were last loaded (ms since epoch, server clock). */
  listsAt: number;
}

export const initialDesk: DeskState = {
  lists: { offered: [], unanswered: [], active: [], reopened: [], archive: [] },
  loaded: false,
  openId: null,
  conversation: null,
  messages: [],
  offerSeenAt: {},
  listsAt: 0,
};

export type DeskAction =
  | { type: 'lists'; lists: Partial<Record<ListView, Conversation[]>>; at: number }
  | { type: 'open'; id: string | null }
  | { type: 'conversation'; conversation: Conversation }
  | { type: 'messages'; id: string; messages: Message[] }
  | { type: 'gone'; id: string };

export function deskReducer(state: DeskState, action: DeskAction): DeskState {
  switch (action.type) {
    case 'lists': {
      const lists = { ...state.lists, ...action.lists };
      let offerSeenAt = state.offerSeenAt;
      if (action.lists.offered) {
        offerSeenAt = {};
        for (const c of action.lists.offered)
          offerSeenAt[c.id] = state.offerSeenAt[c.id] ?? action.at;
      }
      // A conversation that changed in a list is the fresher copy for the open view.
      let conversation = state.conversation;
      if (conversation) {
        for (const list of Object.values(action.lists)) {
          const fresh = list?.find((c) => c.id === conversation!.id);
          if (fresh) conversation = fresh;
        }
      }
      return { ...state, lists, offerSeenAt, conversation, loaded: true, listsAt: action.at };
    }
    case 'open':
      if (action.id === state.openId) return state;
      return { ...state, openId: action.id, conversation: null, messages: [] };
    case 'conversation':
      if (action.conversation.id !== state.openId) return state;
      return { ...state, conversation: action.conversation };
    case 'messages':
      if (action.id !== state.openId) return state;
      return { ...state, messages: action.messages };
    case 'gone':
      if (action.id !== state.openId) return state;
      return { ...state, openId: null, conversation: null, messages: [] };
  }
}

/**
 * What a live hint makes the console refetch: the lists always; the open
 * conversation when the hint names it or names none; the agent's own profile
 * (state, RONA) when the hint is about agents or offers, or names this agent.
 */
export function refetchFor(
  hint: LiveHint,
  openId: string | null,
  me: string,
): { lists: boolean; open: boolean; me: boolean } {
  const aboutOpen =
    openId !== null && (hint.conversation_id === null || hint.conversation_id === openId);
  const aboutMe = hint.agents.includes(me) || hint.agent === me || /^(Agent|Offer)/.test(hint.type);
  return { lists: true, open: aboutOpen, me: aboutMe };
}

/** The offer to show: the oldest current one. */
export function currentOffer(state: DeskState): Conversation | null {
  const offers = [...state.lists.offered];
  offers.sort((a, b) => (state.offerSeenAt[a.id] ?? 0) - (state.offerSeenAt[b.id] ?? 0));
  return offers[0] ?? null;
}

/** Ticks for an outbound message's delivery status. */
export function deliveryTicks(status: Message['status']): { symbol: string; label: string } | null {
  switch (status) {
    case 'pending':
      return { symbol: '○', label: 'Pending' };
    case 'sent':
      return { symbol: '✓', label: 'Sent' };
    case 'delivered':
      return { symbol: '✓✓', label: 'Delivered' };
    case 'read':
      return { symbol: '✓✓', label: 'Read' };
    case 'failed':
      return { symbol: '⚠', label: 'Failed' };
    case 'unknown':
      return { symbol: '?', label: 'Not confirmed: WhatsApp may not have it; not resent' };
    default:
      return null;
  }
}
