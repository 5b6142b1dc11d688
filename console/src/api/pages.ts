/**
 * Every item of a paginated list (`{"items", "next_cursor"}`), following
 * `next_cursor` up to `maxPages` pages (a transcript longer than that shows
 * its first pages; the API sends oldest first).
 */
export async function allPages<T>(
  page: (cursor: string | undefined) => Promise<{ items: T[]; next_cursor?: string | null }>,
  maxPages = 20,
): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < maxPages; i++) {
    const p = await page(cursor);
    items.push(...p.items);
    if (!p.next_cursor) break;
    cursor = p.next_cursor;
  }
  return items;
}
