// How a message's file is shown in the transcript. The API says where the
// file is (`media_url`) and what it is; this only picks the presentation.

import { ApiError } from '../api/client';

interface WithMedia {
  type: string;
  attachment?: { filename?: string } | null;
}

/**
 * How a fetched file is shown, by the type it was served with: images the
 * API serves inline as a preview in the page, anything else (documents,
 * video, audio, an SVG) as a download link.
 */
export function mediaShape(contentType: string): 'preview' | 'link' {
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  return ['image/png', 'image/jpeg', 'image/gif', 'image/webp'].includes(type) ? 'preview' : 'link';
}

const KIND_NAMES: Record<string, string> = {
  image: 'Image',
  sticker: 'Sticker',
  video: 'Video',
  audio: 'Audio',
  document: 'Document',
};

/** What the file is called: its name, or its kind. */
export function mediaLabel(m: WithMedia): string {
  const name = m.attachment?.filename?.trim();
  if (name) return name;
  return Object.hasOwn(KIND_NAMES, m.type) ? KIND_NAMES[m.type]! : 'File';
}

/** Why a file cannot be shown, in plain words. */
export function mediaProblem(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.status === 404) return 'not fetched from WhatsApp yet; reopen the chat to try again';
    if (e.status === 410) return 'no longer available (past the retention period)';
    if (e.status === 403) return 'not yours to open';
    return e.message;
  }
  return e instanceof Error ? e.message : String(e);
}
