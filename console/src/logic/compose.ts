/** The longest text message the API accepts (longer is refused with 400). */
export const MAX_MESSAGE_CHARS = 4096;

/**
 * Characters as the API counts them: Unicode code points, so an emoji is one
 * character, not two UTF-16 units.
 */
export function charCount(text: string): number {
  return Array.from(text).length;
}

export function counterLabel(text: string): string {
  return `${charCount(text)} / ${MAX_MESSAGE_CHARS}`;
}

/** Why a text cannot be sent, or null when it can. */
export function sendBlocker(text: string): string | null {
  if (text.trim().length === 0) return 'Type a message first.';
  const n = charCount(text);
  if (n > MAX_MESSAGE_CHARS)
    return `Too long: ${n - MAX_MESSAGE_CHARS} characters over ${MAX_MESSAGE_CHARS}.`;
  return null;
}

/** Attachment rules, checked before an upload (the API checks them again). */
export const MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024;
const ALLOWED_EXTENSIONS = [
  'png',
  'jpg',
  'jpeg',
  'gif',
  'mov',
  'm4v',
  'mp4',
  'odt',
  'ppt',
  'txt',
  'doc',
  'pdf',
];

export function attachmentBlocker(name: string, sizeBytes: number): string | null {
  const ext = name.includes('.') ? name.split('.').pop()!.toLowerCase() : '';
  if (!ALLOWED_EXTENSIONS.includes(ext))
    return `Files of type .${ext || '?'} cannot be sent (allowed: ${ALLOWED_EXTENSIONS.map((e) => '.' + e).join(' ')}).`;
  if (sizeBytes > MAX_ATTACHMENT_BYTES) return 'Files over 10 MB cannot be sent.';
  return null;
}
