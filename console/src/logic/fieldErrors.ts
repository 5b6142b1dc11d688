/**
 * Which form field an API validation message is about. The API answers
 * `400 invalid_request` with a message that names the field (`max_concurrent
 * must be 1 to 100`, `no queue x; create it first`); the console shows the
 * message at that field, or at the form when it names none.
 */
export function fieldForError(
  message: string,
  fields: string[],
  hints: Record<string, RegExp> = {},
): string | null {
  for (const f of fields) {
    if (new RegExp(`(^|[^A-Za-z_])${f}([^A-Za-z_]|$)`).test(message)) return f;
  }
  for (const [f, re] of Object.entries(hints)) {
    if (fields.includes(f) && re.test(message)) return f;
  }
  return null;
}
