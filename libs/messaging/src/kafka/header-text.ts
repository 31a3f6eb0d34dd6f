import { IHeaders } from 'kafkajs';

/** Header values as UTF-8 text, with how many times each name occurs (a repeated ce_type is refused). */
export function headerText(headers: IHeaders | undefined): { text: Record<string, string>; repeated: string[] } {
  const text: Record<string, string> = {};
  const repeated: string[] = [];
  for (const [name, raw] of Object.entries(headers ?? {})) {
    if (raw === undefined) continue;
    const values = Array.isArray(raw) ? raw : [raw];
    if (values.length > 1) repeated.push(name);
    if (values[0] !== undefined) text[name] = values[0].toString('utf8');
  }
  return { text, repeated };
}
