import { describe, expect, it } from 'vitest';
import { ApiError } from '../api/client';
import { mediaLabel, mediaProblem, mediaShape } from './media';

describe('how a file is shown', () => {
  it.each(['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'IMAGE/PNG; x=y'])(
    'previews %s',
    (type) => expect(mediaShape(type)).toBe('preview'),
  );
  it.each(['application/pdf', 'video/mp4', 'audio/ogg', 'image/svg+xml', 'text/plain', ''])(
    'links %s for download',
    (type) => expect(mediaShape(type)).toBe('link'),
  );
});

describe("a file's name", () => {
  it('is its file name, else its kind', () => {
    expect(mediaLabel({ type: 'document', attachment: { filename: 'Factura.pdf' } })).toBe(
      'Factura.pdf',
    );
    expect(mediaLabel({ type: 'image', attachment: {} })).toBe('Image');
    expect(mediaLabel({ type: 'sticker', attachment: { filename: ' ' } })).toBe('Sticker');
    expect(mediaLabel({ type: 'constructor', attachment: null })).toBe('File');
  });
});

describe('why a file is not shown', () => {
  it('says a customer file is not fetched yet (404) or no longer kept (410)', () => {
    expect(mediaProblem(new ApiError(404, 'not_found', 'x'))).toMatch(/not fetched .* yet/);
    expect(mediaProblem(new ApiError(410, 'gone', 'x'))).toMatch(/no longer available/);
    expect(mediaProblem(new ApiError(503, 'unavailable', 'try again'))).toBe('try again');
    expect(mediaProblem(new Error('offline'))).toBe('offline');
  });
});
