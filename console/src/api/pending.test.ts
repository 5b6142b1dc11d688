import { afterEach, describe, expect, it, vi } from 'vitest';
import { sendAttachment, wrapUpReasons } from './pending';

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

  it('says plainly when the server takes no uploads', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => json(404, {})),
    );
    await expect(sendAttachment(api, 'c1', new File(['x'], 'a.pdf'), '')).rejects.toThrow(
      'This server does not accept attachments yet.',
    );
  });

  it('uploads to the target it is given, then sends the upload id with the caption', async () => {
    const calls: { url: string; init?: RequestInit }[] = [];
    vi.stubGlobal(
      'fetch',
      vi.fn(async (url: string, init?: RequestInit) => {
        calls.push({ url, init });
        if (url.endsWith('/uploads'))
          return json(200, {
            upload_id: 'u1',
            url: 'http://s3.test/b',
            fields: { key: 'k' },
            expires_at: '',
          });
        if (url === 'http://s3.test/b') return new Response(null, { status: 204 });
        return json(200, {});
      }),
    );
    await sendAttachment(
      api,
      'c1',
      new File(['hello'], 'terms.pdf', { type: 'application/pdf' }),
      'Our terms',
    );
    expect(calls.map((c) => c.url)).toEqual([
      'http://api.test/uploads',
      'http://s3.test/b',
      'http://api.test/conversations/c1/messages',
    ]);
    expect(JSON.parse(calls[0]!.init!.body as string)).toEqual({
      filename: 'terms.pdf',
      mime_type: 'application/pdf',
      size_bytes: 5,
    });
    const form = calls[1]!.init!.body as FormData;
    expect(form.get('key')).toBe('k');
    expect(JSON.parse(calls[2]!.init!.body as string)).toEqual({
      attachment: { upload_id: 'u1', caption: 'Our terms' },
    });
  });
});
