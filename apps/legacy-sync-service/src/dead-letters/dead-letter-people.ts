import { personalValues } from '@groups-sync/observability';

/**
 * The LMS user ids an event's data names: `user_id` fields anywhere, and the `id` of a user
 * (openedx-events' UserData, the object that carries `pii`).
 */
export function userIdsOf(data: unknown, found: number[] = []): number[] {
  if (Array.isArray(data)) for (const item of data) userIdsOf(item, found);
  else if (data && typeof data === 'object') {
    const record = data as Record<string, unknown>;
    if ('pii' in record && typeof record.id === 'number') found.push(record.id);
    for (const [key, value] of Object.entries(record)) {
      if (key === 'user_id' && typeof value === 'number') found.push(value);
      else userIdsOf(value, found);
    }
  }
  return found;
}

/** The data with every username, email and name replaced, as shown for a retired learner's letter. */
export function maskPersonalData<T>(data: T): T {
  const personal = personalValues(data);
  const mask = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(mask);
    if (value && typeof value === 'object')
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mask(v)]));
    return typeof value === 'string' && personal.has(value) ? '<retired>' : value;
  };
  return mask(data) as T;
}
