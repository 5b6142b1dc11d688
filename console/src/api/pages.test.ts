import { describe, expect, it } from 'vitest';
import { allPages } from './pages';

describe('paginated lists', () => {
  it('follows next_cursor to the end', async () => {
    const pages: Record<string, { items: number[]; next_cursor: string | null }> = {
      start: { items: [1, 2], next_cursor: 'b' },
      b: { items: [3], next_cursor: 'c' },
      c: { items: [4], next_cursor: null },
    };
    const seen: (string | undefined)[] = [];
    const items = await allPages(async (cursor) => {
      seen.push(cursor);
      return pages[cursor ?? 'start']!;
    });
    expect(items).toEqual([1, 2, 3, 4]);
    expect(seen).toEqual([undefined, 'b', 'c']);
  });
  it('stops after the page limit', async () => {
    let calls = 0;
    const items = await allPages(async () => {
      calls++;
      return { items: [calls], next_cursor: 'more' };
    }, 3);
    expect(items).toEqual([1, 2, 3]);
  });
});
