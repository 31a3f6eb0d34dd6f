/** Keys whose string values name a person wherever they appear (openedx-events' `pii` holds the rest). */
const PERSONAL_KEYS = new Set(['username', 'email', 'preferred_username']);
const EMAIL = /[\w.+-]+@[\w-]+(?:\.[\w-]+)+/g;
/** `?username=ana,ben`, `&email=...` in the LMS URLs an error quotes. */
const PERSONAL_QUERY = /([?&](?:username|email|emails)=)[^&\s]*/gi;
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The usernames, emails and names an event's data carries: `username`/`email` fields anywhere, and whatever is under `pii`. */
export function personalValues(data: unknown, found = new Set<string>(), underPii = false): Set<string> {
  if (Array.isArray(data)) for (const item of data) personalValues(item, found, underPii);
  else if (data && typeof data === 'object') {
    for (const [key, value] of Object.entries(data)) {
      if (typeof value === 'string' && value && (underPii || PERSONAL_KEYS.has(key))) found.add(value);
      else personalValues(value, found, underPii || key === 'pii');
    }
  }
  return found;
}

/**
 * The text without personal data, for info and warn logs and dead-letter headers: the given
 * values (and their URL-encoded forms), any email address, and username or email query values
 * become placeholders; ids are left, so an operator can still find the record.
 */
export function redactPersonalData(text: string, known: Iterable<string> = []): string {
  let out = text.replace(PERSONAL_QUERY, '$1<redacted>').replace(EMAIL, '<email>');
  const values = [...new Set([...known].flatMap((v) => [v, encodeURIComponent(v)]))]
    .filter((v) => v.length > 1)
    .sort((a, b) => b.length - a.length);
  for (const value of values)
    out = out.replace(new RegExp(`(?<![\\w.@+%-])${escape(value)}(?![\\w.@+%-])`, 'g'), '<user>');
  return out;
}
