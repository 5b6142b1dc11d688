import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  ApiError,
  fetchMedia,
  makeClient,
  mediaPath,
  sendAttachment,
  uploadFailure,
} from './client';

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

interface Call {
  method: string;
  url: string;
  auth: string | null;
  body: unknown;
}

/** A client on a stubbed fetch that records every call and answers with `answer`. */
function stub(answer: (url: string) => Response) {
  const calls: Call[] = [];
  vi.stubGlobal(
    'fetch',
    vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
      const request = input instanceof Request ? input : new Request(String(input), init);
      const type = request.headers.get('content-type') ?? '';
      const body = type.startsWith('application/json')
        ? await request.json()
        : type.startsWith('multipart/form-data')
          ? await request.formData()
          : undefined;
      calls.push({
        method: request.method,
        url: request.url,
        auth: request.headers.get('authorization'),
        body,
      });
      return answer(request.url);
    }),
  );
  const client = makeClient('http://api.test', {
    token: async () => 'tok',
    onUnauthenticated: () => undefined,
    clock: 'date-header',
  });
  return { client, calls };
}

afterEach(() => vi.unstubAllGlobals());

const target = {
  upload_id: '0190f0a0-0000-7000-8000-000000000003',
  url: 'http://s3.test/bucket',
  fields: {
    key: 'uploads/0190f0a0-0000-7000-8000-000000000003',
    policy: 'p',
    'x-amz-signature': 's',
  },
  expires_at: '2026-01-02T03:19:05Z',
  max_bytes: 10485760,
};

describe('sending a file', () => {
  it('asks for a target, posts the form there without the token, then sends the upload id', async () => {
    const { client, calls } = stub((url) => {
      if (url.endsWith('/uploads')) return json(201, target);
      if (url === 'http://s3.test/bucket') return new Response(null, { status: 204 });
      return json(201, { id: 'm1', type: 'document' });
    });
    const sent = await sendAttachment(
      client,
      'c1',
      new File(['%PDF-1.7'], 'terms.pdf', { type: 'application/pdf' }),
      'Our terms',
    );
    expect(sent).toMatchObject({ id: 'm1' });
    expect(calls.map((c) => `${c.method} ${c.url}`)).toEqual([
      'POST http://api.test/uploads',
      'POST http://s3.test/bucket',
      'POST http://api.test/conversations/c1/messages',
    ]);
    expect(calls[0]!.body).toEqual({
      filename: 'terms.pdf',
      mime_type: 'application/pdf',
      size_bytes: 8,
    });
    expect(calls[0]!.auth).toBe('Bearer tok');
    expect(calls[1]!.auth).toBeNull();
    const form = calls[1]!.body as FormData;
    // Every field as given, then the file, last.
    expect([...form.keys()]).toEqual(['key', 'policy', 'x-amz-signature', 'file']);
    expect(form.get('key')).toBe(target.fields.key);
    expect((form.get('file') as File).name).toBe('terms.pdf');
    expect(calls[2]!.body).toEqual({
      attachment: { upload_id: target.upload_id, caption: 'Our terms' },
    });
  });

  it('sends no caption when there is none, and declares the type by extension when the browser gives none', async () => {
    const { client, calls } = stub((url) =>
      url.endsWith('/uploads')
        ? json(201, target)
        : url.startsWith('http://s3.test')
          ? new Response(null, { status: 204 })
          : json(201, {}),
    );
    await sendAttachment(client, 'c1', new File(['x'], 'slides.ppt'), '');
    expect((calls[0]!.body as { mime_type: string }).mime_type).toBe(
      'application/vnd.ms-powerpoint',
    );
    expect(calls[2]!.body).toEqual({ attachment: { upload_id: target.upload_id } });
  });

  it('says why the API refused the file, and sends nothing', async () => {
    const { client, calls } = stub(() =>
      json(400, {
        error: { code: 'invalid_request', message: 'the file is 11 MB; the limit is 10 MB' },
      }),
    );
    const refused = sendAttachment(client, 'c1', new File(['x'], 'big.pdf'), '');
    await expect(refused).rejects.toBeInstanceOf(ApiError);
    await expect(refused).rejects.toThrow('the limit is 10 MB');
    expect(calls).toHaveLength(1);
  });

  it('says why the upload target refused the form, and sends nothing', async () => {
    const { client, calls } = stub((url) =>
      url.endsWith('/uploads')
        ? json(201, target)
        : new Response(
            '<Error><Code>EntityTooLarge</Code><Message>Your proposed upload exceeds the maximum allowed size</Message></Error>',
            { status: 400, headers: { 'content-type': 'application/xml' } },
          ),
    );
    await expect(sendAttachment(client, 'c1', new File(['x'], 'a.pdf'), '')).rejects.toThrow(
      'The upload failed (HTTP 400): Your proposed upload exceeds the maximum allowed size',
    );
    expect(calls).toHaveLength(2);
  });
});

describe('upload target refusals', () => {
  it('reads the runner JSON error, S3 XML error, or neither', () => {
    expect(
      uploadFailure(
        403,
        '{"error":{"code":"upload_refused","message":"the upload target expired"}}',
      ).message,
    ).toBe('The upload failed (HTTP 403): the upload target expired');
    expect(uploadFailure(403, '<Error><Message>Policy expired.</Message></Error>').message).toBe(
      'The upload failed (HTTP 403): Policy expired.',
    );
    expect(uploadFailure(500, '').message).toBe('The upload failed (HTTP 500).');
  });
});

describe("a message's file", () => {
  const url =
    '/conversations/0190f0a0-0000-7000-8000-000000000001/messages/0190f0a0-0000-7000-8000-000000000002/media';

  it('reads the ids from media_url, and nothing else', () => {
    expect(mediaPath(url)).toEqual({
      id: '0190f0a0-0000-7000-8000-000000000001',
      message_id: '0190f0a0-0000-7000-8000-000000000002',
    });
    expect(mediaPath('https://evil.test/conversations/a/messages/b/media')).toBeNull();
    expect(mediaPath('/conversations/a/messages/b')).toBeNull();
  });

  it('is fetched with the token as a blob', async () => {
    const { client, calls } = stub(
      () =>
        new Response(new Uint8Array([0x89, 0x50, 0x4e, 0x47]), {
          status: 200,
          headers: { 'content-type': 'image/png' },
        }),
    );
    const blob = await fetchMedia(client, url);
    expect(blob.type).toBe('image/png');
    expect(blob.size).toBe(4);
    expect(calls[0]!.url).toBe(`http://api.test${url}`);
    expect(calls[0]!.auth).toBe('Bearer tok');
  });

  it.each([
    [404, 'not_found'],
    [410, 'gone'],
  ])('answers %i as an ApiError %s', async (status, code) => {
    const { client } = stub(() => json(status, { error: { code, message: 'x' } }));
    await expect(fetchMedia(client, url)).rejects.toMatchObject({ status, code });
  });
});
