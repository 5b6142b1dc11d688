import { describe, expect, it } from 'vitest';
import { coalesce } from './coalesce';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('coalesced refetch', () => {
  it('runs once more after a run that was asked for again, however often', async () => {
    const gates = [deferred(), deferred()];
    let runs = 0;
    const refetch = coalesce(async () => {
      await gates[runs++]!.promise;
    });
    const first = refetch();
    void refetch();
    void refetch();
    gates[0]!.resolve();
    gates[1]!.resolve();
    await first;
    expect(runs).toBe(2);
  });
  it('runs once when nobody asks again', async () => {
    let runs = 0;
    const refetch = coalesce(async () => {
      runs++;
    });
    await refetch();
    await refetch();
    expect(runs).toBe(2);
  });
  it('keeps going after a failed run', async () => {
    let runs = 0;
    const refetch = coalesce(async () => {
      runs++;
      if (runs === 1) throw new Error('offline');
    });
    await refetch();
    await refetch();
    expect(runs).toBe(2);
  });
});
