import { createContext, useContext } from 'react';
import type { Agent, Client } from '../api/client';
import type { ConsoleConfig } from '../config';
import type { Session } from '../auth/session';

export interface ConsoleContext {
  config: ConsoleConfig;
  session: Session;
  client: Client;
  me: Agent;
  refreshMe: () => Promise<void>;
}

export const Ctx = createContext<ConsoleContext | null>(null);

export function useConsole(): ConsoleContext {
  const ctx = useContext(Ctx);
  if (!ctx) throw new Error('useConsole outside the signed-in console');
  return ctx;
}
