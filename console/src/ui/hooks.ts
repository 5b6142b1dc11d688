import { useEffect, useState } from 'react';
import { serverClock } from '../api/client';

/** The server's "now", re-rendering every `ms`. */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(() => serverClock.now());
  useEffect(() => {
    const t = setInterval(() => setNow(serverClock.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}
