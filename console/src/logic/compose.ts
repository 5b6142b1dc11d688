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
/** Each allowed extension and the type an upload of it is declared as. */
const ATTACHMENT_TYPES: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  mov: 'video/quicktime',
  m4v: 'video/x-m4v',
  mp4: 'video/mp4',
  odt: 'application/vnd.oasis.opendocument.text',
  ppt: 'application/vnd.ms-powerpoint',
  txt: 'text/plain',
  doc: 'application/msword',
  pdf: 'application/pdf',
};
const ALLOWED_EXTENSIONS = Object.keys(ATTACHMENT_TYPES);

function extensionOf(name: string): string {
  return name.includes('.') ? name.split('.').pop()!.toLowerCase() : '';
}

/**
 * The type to declare for a file the browser gave no type for: its
 * extension's (the API checks the declared type and the content again).
 */
export function declaredType(name: string): string {
  const ext = extensionOf(name);
  return Object.hasOwn(ATTACHMENT_TYPES, ext) ? ATTACHMENT_TYPES[ext]! : 'application/octet-stream';
}

export function attachmentBlocker(name: string, sizeBytes: number): string | null {
  const ext = extensionOf(name);
  if (!ALLOWED_EXTENSIONS.includes(ext))
    return `Files of type .${ext || '?'} cannot be sent (allowed: ${ALLOWED_EXTENSIONS.map((e) => '.' + e).join(' ')}).`;
  if (sizeBytes > MAX_ATTACHMENT_BYTES) return 'Files over 10 MB cannot be sent.';
  return null;
}
