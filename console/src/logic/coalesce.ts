/**
 * Wraps a refetch so that calls while one runs are not lost and do not pile
 * up: at most one run at a time, and one more run after it when anything
 * asked in the meantime (that run sees every change the askers were told of).
 */
export function coalesce(run: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | null = null;
  let again = false;
  const loop = async () => {
    do {
      again = false;
      try {
        await run();
      } catch {
        // The next ask tries again; callers that need the error call `run` itself.
      }
    } while (again);
    running = null;
  };
  return () => {
    if (running) {
      again = true;
      return running;
    }
    running = loop();
    return running;
  };
}
