import { afterEach, describe, expect, it, vi } from 'vitest';
import { wrapUpReasons } from './pending';

const api = { baseUrl: 'http://api.test', token: async () => 'tok' };
const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

afterEach(() => vi.unstubAllGlobals());

describe('routes not in the contract yet', () => {
  it('reads the wrap-up reasons, or null when the route is absent', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => json(200, { reasons: ['Resolved', 'Spam'] })),
    );
    expect(await wrapUpReasons(api)).toEqual(['Resolved', 'Spam']);
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => json(404, { error: { code: 'not_found', message: 'x' } })),
    );
    expect(await wrapUpReasons(api)).toBeNull();
  });
});
