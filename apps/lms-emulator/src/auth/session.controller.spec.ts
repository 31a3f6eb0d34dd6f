import { safeRedirect } from './session.controller';

describe("the emulator's sign-in sends the browser back only to this host", () => {
  it.each([
    ['/user-groups/courses/x', '/user-groups/courses/x'],
    ['http://127.0.0.1:2010/user-groups/', 'http://127.0.0.1:2010/user-groups/'],
    ['https://127.0.0.1/x', 'https://127.0.0.1/x'],
    ['//evil.example/x', '/'],
    ['/\\evil.example/x', '/'],
    ['/\tx', '/'],
    ['http://evil.example/x', '/'],
    ['javascript://127.0.0.1/%0Aalert(1)', '/'],
    ['not a url', '/'],
  ])('%s → %s', (next, expected) => {
    expect(safeRedirect(next, '127.0.0.1')).toBe(expected);
  });
});
