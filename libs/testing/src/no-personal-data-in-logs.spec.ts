import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { WORKSPACE_ROOT } from './stack-env';

/** Production sources of every app and library (tests, test helpers and the CLI's own output aside). */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory())
      return ['node_modules', 'test', 'testing', 'system-e2e', 'ugsync'].includes(entry.name) ? [] : sources(path);
    return /\.ts$/.test(entry.name) && !/\.(spec|integration-spec|e2e-spec)\.ts$/.test(entry.name) ? [path] : [];
  });
}

/** The argument text of each info or warn log call: from `.log(` / `.warn(` / `.info(` to its closing parenthesis. */
function logCalls(text: string): string[] {
  const calls: string[] = [];
  for (const match of text.matchAll(/\blogger\??\.(?:log|warn|info)\(|\bLogger\([^)]*\)\.(?:log|warn|info)\(/gi)) {
    let depth = 1;
    let i = match.index! + match[0].length;
    while (i < text.length && depth) ((depth += text[i] === '(' ? 1 : text[i] === ')' ? -1 : 0), i++);
    calls.push(text.slice(match.index!, i));
  }
  return calls;
}

/** What `redactPersonalData(...)` is given is what it takes out. */
const REDACTED = /redactPersonalData\((?:[^()]|\([^()]*\))*\)/g;

describe('info and warn logs', () => {
  it('print ids, never usernames, emails or names', () => {
    const offending = ['apps', 'libs']
      .flatMap((root) => sources(join(WORKSPACE_ROOT, root)))
      .flatMap((file) =>
        logCalls(readFileSync(file, 'utf8'))
          .filter((call) => /username|email|\.pii\b|full_?name/i.test(call.replace(REDACTED, '')))
          .map((call) => `${relative(WORKSPACE_ROOT, file)}: ${call}`),
      );
    expect(offending).toEqual([]);
  });
});
